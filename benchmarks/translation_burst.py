"""A burst of concurrent chat messages through TranslationService, against
argostranslate's translate() called one message at a time, on the same package.

    .venv/bin/python -m benchmarks.translation_burst            # defaults
    .venv/bin/python -m benchmarks.translation_burst --sweep    # beam/threads grid
    .venv/bin/python -m benchmarks.translation_burst --engine apertium   # Debian's eng-spa
    .venv/bin/python -m benchmarks.translation_burst --engine ct2        # a CTranslate2 model dir
    .venv/bin/python -m benchmarks.translation_burst --service-only      # the service on Argos only

With --engine ct2 the same burst goes through the service on the CTranslate2 model engine
(translation/ct2.py), on a transformer-base model directory in quickmt's layout with random
weights, built by translation.testpkg into the same cache. Every engine's run also reports the
memory its loaded pair takes: the growth of this process's resident memory while the service
loads and warms the pair up (Argos, ct2), or the proportional set size of the pair's
pipeline processes (Apertium: shared libraries counted once).

With --engine apertium the same burst (English chat lines, en->es) goes through the service
on the Apertium engine (real output), then sentences one at a time through the pipeline give
its milliseconds per sentence.

The package is transformer-base sized (6+6 layers, d_model 512, 24k vocabulary,
~58 MB int8) with random weights, built on first use by translation.testpkg into
~/.cache/babelroom-bench (outside git; --rebuild to redo). Random weights never
emit end-of-sentence, so every output runs to its length limit: a worst case for
both sides. That makes output length decisive, so the baseline is reported twice:
as Argos ships it (beam 4, CTranslate2's 256-token limit) and with the service's
beam size and output cap patched in, which isolates what batching and the rest
of the hot path buy.

Argos's translate() calls a sentence-boundary model that it downloads on first use;
offline that fails, so for the baseline its splitter is replaced by ours (a
regex; cheaper than the real model, which flatters the baseline). Its sbd module
imports stanza and minisbd at import time even so; where they are not installed
(the `bench` extra adds them; `make install-test` does not) stand-ins that refuse
to split are put in their place, which changes nothing measured.

Latency of a message = time from the start of the burst to its translation.
"lag ms" = the worst delay of a 1 ms timer on the event loop during the burst; for
Argos (synchronous) it is its longest single call: what an event loop calling it
directly would stall. "out tok" = mean output tokens per message.
Prints figures; not a pass/fail test.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib.util
import logging
import os
import random
import shutil
import statistics
import sys
import time
import types
from pathlib import Path
from typing import Any

CACHE = Path(os.environ.get("BABELROOM_BENCH_CACHE", Path.home() / ".cache" / "babelroom-bench"))
DATA = Path(__file__).parent / "data" / "chat_lines.tsv"
PAIR = ("en", "de")


@dataclasses.dataclass
class Result:
    label: str
    total_s: float
    latencies: list[float]
    max_lag_s: float | None = None
    out_tokens: float = 0.0  # mean output tokens per message (re-tokenised)
    memory_mb: float | None = None  # what the loaded pair takes (see the module docstring)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.total_s

    def row(self) -> str:
        ordered = sorted(self.latencies)
        p = lambda q: ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]  # noqa: E731
        lag = f"{self.max_lag_s * 1000:>9.1f}" if self.max_lag_s is not None else f"{'-':>9}"
        memory = f"{self.memory_mb:>8.0f}" if self.memory_mb is not None else f"{'-':>8}"
        return (
            f"{self.label:<58}{self.rate:>8.1f}{p(0.5) * 1000:>9.0f}{p(0.95) * 1000:>9.0f}"
            f"{p(0.99) * 1000:>9.0f}{lag}{self.out_tokens:>9.1f}{memory}"
        )


HEADER = f"{'':<58}{'msg/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'lag ms':>9}{'out tok':>9}{'pair MB':>8}"


def rss_mb(pids: list[int] | None = None) -> float:
    """Resident memory of this process, MB; of the given processes, their proportional set size
    (shared libraries counted once across them, not once per process)."""
    import psutil

    if pids is None:
        return float(psutil.Process().memory_info().rss) / 2**20
    return sum(psutil.Process(pid).memory_full_info().pss for pid in pids) / 2**20


def mean_tokens(packages: Path, texts: list[str]) -> float:
    """Output length matters as much as speed with random weights (beam search
    can stop earlier than greedy decoding): report it."""
    import sentencepiece as spm

    model = next(iter([*packages.glob("*/sentencepiece.model"), *packages.glob("*/tgt.spm.model")]))
    sp = spm.SentencePieceProcessor(model_file=str(model))
    return statistics.mean(len(t) for t in sp.encode(texts))


def ensure_package(rebuild: bool) -> Path:
    """Install the base-size en->de package into the cache (build it if needed)."""
    from translation.packages import install_file, list_packages
    from translation.testpkg import SIZES, build_package, read_lines, train_sentencepiece

    packages = CACHE / "packages"
    if rebuild:
        shutil.rmtree(CACHE, ignore_errors=True)
    if any((p.from_code, p.to_code) == PAIR for p in list_packages(packages)):
        return packages
    print(f"building the base-size {PAIR[0]}->{PAIR[1]} package into {CACHE} (once; about a minute)...", flush=True)
    started = time.perf_counter()
    CACHE.mkdir(parents=True, exist_ok=True)
    sp = train_sentencepiece(CACHE / "sentencepiece.model", SIZES["base"], extra_text=read_lines(DATA))
    archive = build_package(*PAIR, CACHE, size="base", sp_model=sp)
    install_file(archive, packages)
    print(
        f"built {archive.name} ({archive.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.0f}s",
        flush=True,
    )
    return packages


def ensure_ct2_model(rebuild: bool) -> Path:
    """A base-size en->de CTranslate2 model directory (quickmt layout) installed in the cache."""
    from translation.ct2 import install_model, list_models
    from translation.testpkg import SIZES, build_ct2_model_dir, read_lines, train_sentencepiece

    models = CACHE / "models"
    if rebuild:
        shutil.rmtree(models, ignore_errors=True)
    if any((m.from_code, m.to_code) == PAIR for m in list_models(models)):
        return models
    print(
        f"building the base-size {PAIR[0]}->{PAIR[1]} CTranslate2 model into {CACHE} (once; about a minute)...",
        flush=True,
    )
    started = time.perf_counter()
    CACHE.mkdir(parents=True, exist_ok=True)
    sp = CACHE / "sentencepiece.model"
    if not sp.exists():
        train_sentencepiece(sp, SIZES["base"], extra_text=read_lines(DATA))
    with __import__("tempfile").TemporaryDirectory() as tmp:
        built = build_ct2_model_dir(*PAIR, Path(tmp), layout="quickmt", size="base", sp_model=sp)
        size = sum(f.stat().st_size for f in built.iterdir()) / 1e6
        install_model(built, models)
    print(f"built {built.name} ({size:.1f} MB) in {time.perf_counter() - started:.0f}s", flush=True)
    return models


def load_messages(n: int, seed: int = 1) -> list[str]:
    """n distinct chat lines (several languages: the model does not care)."""
    lines = [line.rstrip("\n").split("\t", 1)[1] for line in DATA.open(encoding="utf-8")][1:]
    lines = [line for line in lines if len(line) >= 12]
    random.Random(seed).shuffle(lines)
    out = []
    for i in range(n):  # join pairs of lines now and then: some messages have 2 sentences
        line = lines[i % len(lines)]
        out.append(line if i % 3 else f"{line} {lines[-1 - i % len(lines)]}")
    return list(dict.fromkeys(out))[:n]


# ------------------------------------------------------------------ service


async def _lag_monitor(stop: asyncio.Event, worst: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        before = loop.time()
        await asyncio.sleep(0.001)
        worst[0] = max(worst[0], loop.time() - before - 0.001)


async def _burst(
    service, messages: list[str], pair: tuple[str, str] = PAIR
) -> tuple[float, list[float], float, list[str]]:
    stop, worst = asyncio.Event(), [0.0]
    monitor = asyncio.create_task(_lag_monitor(stop, worst))
    await asyncio.sleep(0.01)
    worst[0] = 0.0
    started = time.perf_counter()
    latencies: list[float] = []
    outputs: list[str] = []

    async def one(text: str) -> None:
        result = await service.translate(text, *pair)
        assert result is not None
        latencies.append(time.perf_counter() - started)
        outputs.append(result)

    await asyncio.gather(*(one(m) for m in messages))
    total = time.perf_counter() - started
    stop.set()
    await monitor
    return total, latencies, worst[0], outputs


async def run_service(packages: Path, messages: list[str], rounds: int, label: str, **overrides) -> Result:
    from translation import TranslationService, TranslationSettings

    settings = dataclasses.replace(
        TranslationSettings(packages_dir=str(packages), engines=("argos",)), cache_size=0, **overrides
    )  # no cache: every round is model work
    service = TranslationService(settings)
    before = rss_mb()
    await service.start()
    try:
        await _burst(service, load_messages(16, seed=99))  # warm-up, other messages
        memory = rss_mb() - before
        runs = [await _burst(service, messages) for _ in range(rounds)]
    finally:
        await service.close()
    total, latencies, lag, outputs = sorted(runs, key=lambda r: r[0])[len(runs) // 2]  # median
    s = settings
    tokens_from = Path(s.models_dir) if s.engines == ("ct2",) else packages
    return Result(
        f"{label} (beam {s.beam_size}, inter {s.inter_threads}, intra {s.intra_threads})",
        total,
        latencies,
        lag,
        mean_tokens(tokens_from, outputs),
        memory,
    )


# ------------------------------------------------------------------ apertium


def english_messages(n: int) -> list[str]:
    """n distinct English chat lines (the labelled set's, numbered past its end)."""
    lines = [line.rstrip("\n").split("\t", 1) for line in DATA.open(encoding="utf-8")][1:]
    english = [text for lang, text in lines if lang == "en" and len(text) >= 12]
    return [english[i % len(english)] + ("" if i < len(english) else f" ({i})") for i in range(n)]


async def run_apertium(n: int, rounds: int) -> tuple[Result, float, float]:
    from translation import TranslationService, TranslationSettings
    from translation.apertium import Pipeline, discover

    settings = TranslationSettings(engines=("apertium",), packages_dir="/nonexistent", cache_size=0)
    service = TranslationService(settings)
    await service.start()
    messages = english_messages(n)
    try:
        await _burst(service, english_messages(8), ("en", "es"))  # starts the pipeline
        engine = service.engine("apertium")
        assert engine is not None
        memory = rss_mb(engine.pipelines[("en", "es")].pids())  # type: ignore[attr-defined]
        runs = [await _burst(service, messages, ("en", "es")) for _ in range(rounds)]
    finally:
        await service.close()
    total, latencies, lag, _ = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
    result = Result("service, apertium eng-spa (en->es)", total, latencies, lag, memory_mb=memory)
    pipeline = Pipeline(next(p for p in discover() if (p.source, p.target) == ("en", "es")))
    try:
        pipeline.translate(["Hello."])
        sentences = [
            s.text for m in messages for s in __import__("translation.sentences", fromlist=["split"]).split(m)[1]
        ]
        started = time.perf_counter()
        for sentence in sentences:
            pipeline.translate([sentence])
        one_by_one = (time.perf_counter() - started) * 1000 / len(sentences)
        started = time.perf_counter()
        pipeline.translate(sentences)
        batched = (time.perf_counter() - started) * 1000 / len(sentences)
    finally:
        pipeline.stop()
    return result, one_by_one, batched


# ------------------------------------------------------------------ argos


class _NoSentenceModel:
    """minisbd's detector, never used: the benchmark splits sentences with translation.sentences."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise RuntimeError(
            "minisbd is not installed (pip install -e '.[bench]'); the benchmark's own splitter should have been used"
        )


def _missing(module: str) -> bool:
    """Neither imported (a stand-in of an earlier call counts) nor installed."""
    return module not in sys.modules and importlib.util.find_spec(module) is None


def _stand_in_for_argos_splitters() -> None:
    """Let `argostranslate.sbd` import without stanza and minisbd, which only split sentences (replaced here)."""
    if _missing("stanza"):
        sys.modules["stanza"] = types.ModuleType("stanza")
    if _missing("minisbd"):
        models = types.ModuleType("minisbd.models")
        models.list_models = lambda: ["en"]  # type: ignore[attr-defined]
        minisbd = types.ModuleType("minisbd")
        minisbd.SBDetect = _NoSentenceModel  # type: ignore[attr-defined]
        minisbd.models = models  # type: ignore[attr-defined]
        sys.modules.update({"minisbd": minisbd, "minisbd.models": models})


def _argos(packages: Path):
    os.environ["ARGOS_PACKAGES_DIR"] = str(packages)
    _stand_in_for_argos_splitters()
    from argostranslate import sbd, settings, translate

    from translation import sentences

    # argostranslate sets its logger to INFO at import and logs every batch.
    logging.getLogger("argostranslate.utils").setLevel(logging.WARNING)

    settings.package_data_dir, settings.package_dirs = packages, [packages]
    # Offline, Argos's MiniSBD splitter tries to download its model on each call.
    sbd.MiniSBDSentencizer.split_sentences = lambda self, text: [s.text for s in sentences.split(text)[1]] or [text]
    translate.get_installed_languages.cache_clear()
    return translate, settings


class _CappedTranslator:
    """Wraps Argos's CTranslate2 translator to apply the service's output cap."""

    def __init__(self, inner, ratio: float, extra: int) -> None:
        self.inner, self.ratio, self.extra = inner, ratio, extra

    def translate_batch(self, tokens, **kwargs):
        longest = max(len(t) for t in tokens)
        kwargs["max_decoding_length"] = int(self.ratio * longest + 0.999) + self.extra
        return self.inner.translate_batch(tokens, **kwargs)


def run_argos(
    packages: Path, messages: list[str], rounds: int, *, beam: int | None, cap: tuple[float, int] | None, label: str
) -> Result:
    translate, settings = _argos(packages)
    settings.beam_size = beam if beam is not None else 4
    translation = translate.get_translation_from_codes(*PAIR)
    translation.translate("warm up.")  # loads the model
    underlying = translation.underlying  # CachedTranslation -> PackageTranslation
    original = underlying.translator
    if cap is not None:
        underlying.translator = _CappedTranslator(original, *cap)
    try:
        translation.translate("warm up, again.")
        runs = []
        for _ in range(rounds):
            started = time.perf_counter()
            latencies, outputs = [], []
            for text in messages:  # one message at a time, as a plain caller would
                outputs.append(translation.translate(text))
                latencies.append(time.perf_counter() - started)
            runs.append((time.perf_counter() - started, latencies, outputs))
    finally:
        underlying.translator = original
        settings.beam_size = 4
    total, latencies, outputs = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
    longest_call = max(b - a for a, b in zip([0.0, *latencies], latencies, strict=False))
    return Result(label, total, latencies, longest_call, mean_tokens(packages, outputs))


# ------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--argos-rounds", type=int, default=1, help="rounds for Argos as shipped (slow: ~2 min each)")
    parser.add_argument("--sweep", action="store_true", help="service only: beam x threads x batching x priority grid")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached package")
    parser.add_argument(
        "--service-only", action="store_true", help="argos: only the service's row (no argostranslate baselines)"
    )
    parser.add_argument(
        "--engine",
        choices=("argos", "apertium", "ct2"),
        default="argos",
        help="argos: the random-weight package vs argostranslate (default); "
        "apertium: Debian's eng-spa pair; ct2: a CTranslate2 model directory",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    if args.engine == "apertium":
        result, one_by_one, batched = asyncio.run(run_apertium(args.messages, args.rounds))
        print(
            f"{args.messages} concurrent English messages, en->es, {os.cpu_count()} cores, "
            f"median of {args.rounds} rounds\n"
        )
        print(HEADER)
        print(result.row())
        print(
            f"\napertium eng-spa: {one_by_one:.2f} ms per sentence one at a time, "
            f"{batched:.2f} ms per sentence in one batch"
        )
        return 0

    from translation import TranslationSettings

    if args.engine == "ct2":
        models = ensure_ct2_model(args.rebuild)
        messages = load_messages(args.messages)
        print(
            f"{len(messages)} concurrent messages, pair {PAIR[0]}->{PAIR[1]}, CTranslate2 model "
            f"directory (base size, random weights), {os.cpu_count()} cores, median of {args.rounds} rounds\n"
        )
        print(HEADER)
        result = asyncio.run(
            run_service(
                models, messages, args.rounds, "service, ct2, defaults", engines=("ct2",), models_dir=str(models)
            )
        )
        print(result.row())
        return 0

    packages = ensure_package(args.rebuild)
    messages = load_messages(args.messages)
    defaults = TranslationSettings()
    sentences_per_msg = statistics.mean(
        len(__import__("translation.sentences", fromlist=["split"]).split(m)[1]) for m in messages
    )
    print(
        f"{len(messages)} concurrent messages ({sentences_per_msg:.2f} sentences each), "
        f"pair {PAIR[0]}->{PAIR[1]}, {os.cpu_count()} cores, median of {args.rounds} rounds\n"
    )

    if args.sweep:
        print(HEADER)
        grid: list[tuple[str, dict[str, Any]]] = []
        for beam in (1, 2, 4):
            for inter, intra in ((1, 0), (1, 1), (2, 1)):
                grid.append(("service", dict(beam_size=beam, inter_threads=inter, intra_threads=intra)))
        grid += [(f"service batch_max={n}", dict(batch_max=n)) for n in (8, 16, 64)]
        grid += [(f"service batch_wait_ms={w}", dict(batch_wait_ms=w)) for w in (0.0, 20.0)]
        grid += [("service model_nice=0", dict(model_nice=0))]
        for label, overrides in grid:
            r = asyncio.run(run_service(packages, messages, args.rounds, label, **overrides))
            print(r.row(), flush=True)
        return 0

    if args.service_only:
        print(HEADER)
        print(asyncio.run(run_service(packages, messages, args.rounds, "service, argos, defaults")).row())
        return 0

    cap = (defaults.max_output_ratio, defaults.max_output_extra)
    results = []
    print(HEADER)
    for measure in (  # one at a time, each row printed as soon as it is measured
        lambda: run_argos(
            packages,
            messages,
            args.argos_rounds,
            beam=None,
            cap=None,
            label="argos translate(), as shipped (beam 4, <=256 tokens)",
        ),
        lambda: run_argos(
            packages,
            messages,
            args.rounds,
            beam=defaults.beam_size,
            cap=cap,
            label=f"argos translate(), beam {defaults.beam_size} + service's output cap",
        ),
        lambda: asyncio.run(run_service(packages, messages, args.rounds, "service, defaults")),
        lambda: asyncio.run(run_service(packages, messages, args.rounds, "service", beam_size=4)),
    ):
        result = measure()
        results.append(result)
        print(result.row(), flush=True)
    shipped, same_cap, service, service_b4 = results
    print(f"\nspeed-up, service defaults vs argos as shipped:        {service.rate / shipped.rate:.1f}x msg/s")
    print(f"speed-up, service defaults vs argos with the same beam and cap: {service.rate / same_cap.rate:.1f}x msg/s")
    print(f"speed-up, service beam 4 vs argos as shipped (beam 4):  {service_b4.rate / shipped.rate:.1f}x msg/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
