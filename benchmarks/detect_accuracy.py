"""Language detection on short chat lines: accuracy and latency, per detector.

    .venv/bin/python -m benchmarks.detect_accuracy [--data benchmarks/data/chat_lines.tsv]

Data: benchmarks/data/chat_lines.tsv, labelled conference-chat lines (lang<TAB>text).
Every detector is restricted to the server's default reading languages
(translation.settings.DEFAULT_LANGUAGES, 20 languages), as in the server.

Three views:
- raw: the statistical detector alone (restricted, no script rule, no fallback),
  by the number of letters in the line — shows where detection stops being reliable;
- sender=own: the full detector (script rule + thresholds + fallback) when the
  sender writes in their own language (the common case);
- sender=other: the same when the sender writes in a language that is not theirs
  (worst case for the fallback rule: the fallback is always wrong).
Then a sweep of detect_min_chars / detect_min_prob for each detector.
Prints figures; not a pass/fail test.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from pathlib import Path

from translation.detect import DETECTORS, LanguageDetector, language_scripts, profile
from translation.settings import DEFAULT_LANGUAGES, TranslationSettings

DATA = Path(__file__).parent / "data" / "chat_lines.tsv"
BUCKETS = ((0, 7), (8, 15), (16, 29), (30, 10_000))


def load(path: Path) -> list[tuple[str, str]]:
    rows = []
    with open(path, encoding="utf-8") as f:
        next(f)  # header
        for line in f:
            lang, text = line.rstrip("\n").split("\t", 1)
            rows.append((lang, text))
    return rows


def other_language(lang: str) -> str:
    return "de" if lang == "en" else "en"


def bucket(letters: int) -> str:
    for low, high in BUCKETS:
        if low <= letters <= high:
            return f"{low}-{high}" if high < 10_000 else f"{low}+"
    raise AssertionError


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def raw_scores(detector: LanguageDetector, rows):
    """Top answer of the bare statistical detector over all allowed languages."""
    codes = frozenset(c for c in DEFAULT_LANGUAGES if detector._backend.supports(c))
    scorer = detector._scorer(codes)
    answers, times = [], []
    for _, text in rows:
        started = time.perf_counter()
        best = scorer(text)
        times.append(time.perf_counter() - started)
        answers.append(best[0] if best else None)
    return answers, times


def pipeline(detector: LanguageDetector, rows, sender_own: bool):
    answers, times = [], []
    for lang, text in rows:
        fallback = lang if sender_own else other_language(lang)
        started = time.perf_counter()
        answers.append(detector.detect(text, fallback)[0])
        times.append(time.perf_counter() - started)
    return answers, times


def accuracy(rows, answers) -> float:
    return sum(a == lang for (lang, _), a in zip(rows, answers, strict=True)) / len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args(argv)
    rows = load(args.data)
    langs = sorted({lang for lang, _ in rows})
    defaults = TranslationSettings()
    print(
        f"{len(rows)} lines, {len(langs)} languages ({' '.join(langs)}); "
        f"detectors restricted to {len(DEFAULT_LANGUAGES)} languages"
    )
    print(f"defaults: detect_min_chars={defaults.detect_min_chars} detect_min_prob={defaults.detect_min_prob}\n")
    letters = [profile(text).letters for _, text in rows]

    detectors = {}
    for name in DETECTORS:
        started = time.perf_counter()
        det = LanguageDetector(
            DEFAULT_LANGUAGES, backend=name, min_chars=defaults.detect_min_chars, min_prob=defaults.detect_min_prob
        )
        det.warm_up()
        pipeline(det, rows[:20], True)  # load lazily built models before timing
        raw_scores(det, rows[:5])
        detectors[name] = det
        print(f"{name}: loaded in {time.perf_counter() - started:.2f}s")

    print("\nraw detector accuracy by letters in the line (no script rule, no fallback)")
    header = f"{'detector':<11}" + "".join(f"{bucket(lo):>9}" for lo, _ in BUCKETS) + f"{'all':>8}"
    counts: defaultdict[str, int] = defaultdict(int)
    for n in letters:
        counts[bucket(n)] += 1
    print(header)
    print(f"{'(lines)':<11}" + "".join(f"{counts[bucket(lo)]:>9}" for lo, _ in BUCKETS))
    raw_times = {}
    for name, det in detectors.items():
        answers, raw_times[name] = raw_scores(det, rows)
        per: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0])
        for (lang, _), a, n in zip(rows, answers, letters, strict=True):
            per[bucket(n)][0] += a == lang
            per[bucket(n)][1] += 1
        cells = "".join(f"{per[bucket(lo)][0] / per[bucket(lo)][1]:>9.1%}" for lo, _ in BUCKETS)
        print(f"{name:<11}{cells}{accuracy(rows, answers):>8.1%}")

    print("\nfull detector (script rule + thresholds + sender fallback), defaults")
    print(
        f"{'detector':<11}{'sender=own':>12}{'sender=other':>14}"
        f"{'raw p50':>10}{'raw p99':>10}{'full p50':>10}{'full p99':>10}  (ms/line)"
    )
    for name, det in detectors.items():
        own, own_t = pipeline(det, rows, True)
        other, _ = pipeline(det, rows, False)
        ms = lambda xs, p: percentile(xs, p) * 1000  # noqa: E731
        print(
            f"{name:<11}{accuracy(rows, own):>12.1%}{accuracy(rows, other):>14.1%}"
            f"{ms(raw_times[name], 50):>10.2f}{ms(raw_times[name], 99):>10.2f}"
            f"{ms(own_t, 50):>10.2f}{ms(own_t, 99):>10.2f}"
        )

    print("\nthreshold sweep: accuracy sender=own / sender=other")
    grid_chars = (0, 8, 12, 16, 20, 25)
    grid_prob = (0.0, 0.5, 0.8, 0.9, 0.99)
    for name, det in detectors.items():
        print(f"\n{name}: rows detect_min_chars, columns detect_min_prob")
        print(f"{'':>6}" + "".join(f"{p:>14}" for p in grid_prob))
        for chars in grid_chars:
            sweep: list[str] = []
            for prob in grid_prob:
                det.min_chars, det.min_prob = chars, prob
                own = accuracy(rows, pipeline(det, rows, True)[0])
                other = accuracy(rows, pipeline(det, rows, False)[0])
                sweep.append(f"{own:>7.1%}/{other:.1%}")
            print(f"{chars:>6}" + "".join(f"{c:>14}" for c in sweep))
        det.min_chars, det.min_prob = defaults.detect_min_chars, defaults.detect_min_prob

    scripts = defaultdict(set)
    for code in DEFAULT_LANGUAGES:
        for s in language_scripts(code):
            scripts[s].add(code)
    print(
        "\nscripts decided without statistics (one allowed language): "
        + ", ".join(f"{s}->{next(iter(c))}" for s, c in sorted(scripts.items()) if len(c) == 1)
    )
    print(f"median line: {statistics.median(letters):.0f} letters")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
