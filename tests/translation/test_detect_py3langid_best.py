"""py3langid's best language without its ranking (issue 27): the same answers as py3langid's own `rank`.

The detector's py3langid scorer computes only the top language and its probability. These tests run it
and py3langid's own `rank` (over py3langid's packaged model, loaded as py3langid loads it) over the
benchmark's chat lines and a few thousand generated strings, and ask for the same answers.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from translation.detect import LanguageDetector, Scorer, language_scripts
from translation.settings import DEFAULT_LANGUAGES

CHAT_LINES = Path(__file__).parents[2] / "benchmarks" / "data" / "chat_lines.tsv"

# Language sets: the server's default (Cyrillic's holds sr, which py3langid has twice: srl -> sr), a
# few Western languages, a Cyrillic-heavy one, and one holding uz (twice in py3langid too) with Latin.
LANGUAGE_SETS: tuple[tuple[str, ...], ...] = (
    DEFAULT_LANGUAGES,
    ("en", "de", "fr", "es", "it", "pt", "nl"),
    ("ru", "uk", "sr", "bg", "mk", "be", "en", "de"),
    ("en", "tr", "uz", "az", "de"),
)
FALLBACKS = ("en", "ru")  # a Latin and a Cyrillic sender
PROBABILITY_ROUNDING = 1e-5  # py3langid's probabilities are float32; ours float64


def chat_lines() -> list[str]:
    with open(CHAT_LINES, encoding="utf-8") as file:
        next(file)  # header
        return [line.rstrip("\n").split("\t", 1)[1] for line in file]


def generated_lines(count: int, seed: int = 27) -> list[str]:
    """Mixed scripts, one letter to hundreds, upper case, digits, emoji, URLs, mentions."""
    rng = random.Random(seed)
    words = [word for line in chat_lines() for word in line.split()]
    extras = [
        "https://example.org/a/b?c=1",
        "www.example.com",
        "@maria",
        "#agenda",
        ":smile:",
        "😀",
        "🎉🎉",
        "42",
        "3.14",
        "2026-12-07",
        "ÉCOLE",
        "Straße",
        "İstanbul",
        "ǅemal",
        "e\u0301te\u0301",  # decomposed accents: NFC composes them
        "Ωμέγα",
        "ქართული",
        "日本語",
        "한국어",
        "עברית",
        "عربي",
        "...",
        "?!",
        "\u200b",
    ]
    lines = []
    for _ in range(count):
        length = rng.choice((1, 1, 2, 3, 5, 8, 13, 40, 120))
        parts = [rng.choice(extras) if rng.random() < 0.15 else rng.choice(words) for _ in range(length)]
        line = " ".join(parts)
        shape = rng.random()
        if shape < 0.1:
            line = line.upper()
        elif shape < 0.15:
            line = line[: rng.randint(1, 4)]
        elif shape < 0.2:
            line = "".join(rng.choice(line) for _ in range(rng.randint(1, 30)))
        lines.append(line)
    return lines


CORPUS = chat_lines() + generated_lines(3000)


@pytest.fixture(scope="module")
def packaged() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def rank_best(packaged: LanguageIdentifier, codes: frozenset[str]) -> Scorer:
    """The old path: py3langid's own rank, restricted to `codes`, its first entry."""
    back = {{"nb": "no", "zt": "zh"}.get(c, c): c for c in sorted(codes)}
    identifier = copy.copy(packaged)
    identifier.set_languages(list(back))

    def best(text: str) -> tuple[str, float] | None:
        lang, prob = identifier.rank(text)[0]
        return back[lang], prob

    return best


def script_sets(languages: tuple[str, ...]) -> Iterator[frozenset[str]]:
    """The candidate sets the detector scores: the languages of one script, two or more."""
    detector = LanguageDetector(languages)
    for script in {script for code in languages for script in language_scripts(code)}:
        _, scorable, scorer = detector._for_script(script)
        if scorer is not None:
            yield scorable


def same(found: tuple[str, float] | None, expected: tuple[str, float] | None) -> bool:
    if found is None or expected is None:
        return found is expected
    return found[0] == expected[0] and abs(found[1] - expected[1]) <= PROBABILITY_ROUNDING


@pytest.mark.parametrize("languages", LANGUAGE_SETS, ids=lambda langs: f"{len(langs)}-languages")
def test_the_best_language_is_ranks_first(packaged: LanguageIdentifier, languages: tuple[str, ...]) -> None:
    detector = LanguageDetector(languages)
    for codes in script_sets(languages):
        scorer, old = detector._scorer(codes), rank_best(packaged, codes)
        wrong = [(text, scorer(text), old(text)) for text in CORPUS if not same(scorer(text), old(text))]
        assert not wrong, (sorted(codes), wrong[:5])


class RankingDetector(LanguageDetector):
    """The detector with py3langid's own rank for its scores: the answers as they were."""

    def __init__(self, languages: tuple[str, ...], packaged: LanguageIdentifier, **settings: float) -> None:
        super().__init__(languages, **settings)  # type: ignore[arg-type]
        self._rank_best: Callable[[frozenset[str]], Scorer] = lambda codes: rank_best(packaged, codes)

    def _scorer(self, codes: frozenset[str]) -> Scorer:
        return self._rank_best(codes)


@pytest.mark.parametrize("min_chars, min_prob", [(8, 0.5), (0, 0.99)])
@pytest.mark.parametrize("languages", LANGUAGE_SETS, ids=lambda langs: f"{len(langs)}-languages")
def test_detect_answers_as_with_ranks(
    packaged: LanguageIdentifier, languages: tuple[str, ...], min_chars: int, min_prob: float
) -> None:
    new = LanguageDetector(languages, min_chars=min_chars, min_prob=min_prob)
    old = RankingDetector(languages, packaged, min_chars=min_chars, min_prob=min_prob)
    wrong = [
        (text, fallback, new.detect(text, fallback), old.detect(text, fallback))
        for text in CORPUS
        for fallback in FALLBACKS
        if new.detect(text, fallback) != old.detect(text, fallback)
    ]
    assert not wrong, wrong[:5]


def test_text_without_features_gets_ranks_uniform_answer(packaged: LanguageIdentifier) -> None:
    """rank gives every language the same probability (its first language wins) or, short of a feature
    in one, near-equal ones."""
    codes = frozenset({"en", "de"})
    scorer, old = LanguageDetector(("en", "de"))._scorer(codes), rank_best(packaged, codes)
    for text in ("", " ", "1", "😀", "\u200b", "a", "e", "ok"):
        assert scorer(text) is not None
        assert same(scorer(text), old(text)), text
