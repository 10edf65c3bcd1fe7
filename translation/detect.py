"""Language detection for chat lines.

Chat lines are short, and short text is where statistical detectors guess: "ok",
"merci", "Danke!" or "haha" carry too little signal. So the answer combines three
things, cheapest first:

1. The writing system. A script that only one allowed language uses (Hangul ->
   ko, kana -> ja, Han -> zh, Greek -> el...) decides at once, even for one
   character. A script the sender's own language cannot be written in rules the
   sender's language out.
2. The sender's own language for short text (fewer than `min_chars` letters,
   after URLs, @mentions, digits and emoji are removed) and for uncertain text
   (best probability below `min_prob`). The defaults, 16 letters and 0.5, come
   from benchmarks/detect_accuracy.py (376 chat lines, 13 languages): langdetect
   is right on 57% of lines under 8 letters and 84% of 8-15 letters, 98-99%
   from 16 on, while a sender writes in their own language far more often than
   one time in six. Its probabilities are over-confident, so min_prob matters
   little for it; 0.5 only catches coin flips. py3langid and lingua stay right
   on short lines (97-100% at 8-15 letters): with them, min_chars 8 is better.
3. A statistical detector restricted to the allowed languages that use the
   text's script: langdetect (seeded, so the same text always gets the same
   answer), py3langid or lingua.
"""

from __future__ import annotations

import copy
import math
import re
import string
import threading
from collections import Counter, _count_elements  # type: ignore[attr-defined]
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, ClassVar, Protocol

# --------------------------------------------------------------------- scripts

_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x024F, "latin"),
    (0x1E00, 0x1EFF, "latin"),
    (0x0370, 0x03FF, "greek"),
    (0x1F00, 0x1FFF, "greek"),
    (0x0400, 0x052F, "cyrillic"),
    (0x0530, 0x058F, "armenian"),
    (0x0590, 0x05FF, "hebrew"),
    (0x0600, 0x06FF, "arabic"),
    (0x0750, 0x077F, "arabic"),
    (0x0900, 0x097F, "devanagari"),
    (0x0980, 0x09FF, "bengali"),
    (0x0B80, 0x0BFF, "tamil"),
    (0x0E00, 0x0E7F, "thai"),
    (0x10A0, 0x10FF, "georgian"),
    (0x1100, 0x11FF, "hangul"),
    (0x3040, 0x30FF, "kana"),
    (0x3130, 0x318F, "hangul"),
    (0x31F0, 0x31FF, "kana"),
    (0x3400, 0x4DBF, "han"),
    (0x4E00, 0x9FFF, "han"),
    (0xAC00, 0xD7AF, "hangul"),
    (0xF900, 0xFAFF, "han"),
    (0xFB1D, 0xFB4F, "hebrew"),
    (0xFB50, 0xFDFF, "arabic"),
    (0xFE70, 0xFEFF, "arabic"),
    (0xFF66, 0xFF9F, "kana"),
    (0x20000, 0x2FFFF, "han"),
)

_LANGUAGE_SCRIPTS: dict[str, frozenset[str]] = {
    **{code: frozenset({"cyrillic"}) for code in ("ru", "uk", "bg", "sr", "mk", "be", "kk", "ky", "mn", "tg", "tt")},
    **{code: frozenset({"arabic"}) for code in ("ar", "fa", "ur", "ps", "ug", "sd", "ckb")},
    **{code: frozenset({"hebrew"}) for code in ("he", "yi")},
    **{code: frozenset({"devanagari"}) for code in ("hi", "mr", "ne", "sa")},
    "el": frozenset({"greek"}),
    "hy": frozenset({"armenian"}),
    "ka": frozenset({"georgian"}),
    "bn": frozenset({"bengali"}),
    "ta": frozenset({"tamil"}),
    "th": frozenset({"thai"}),
    "zh": frozenset({"han"}),
    "zt": frozenset({"han"}),
    "ja": frozenset({"han", "kana"}),
    "ko": frozenset({"hangul"}),
}
_LATIN = frozenset({"latin"})


def language_scripts(code: str) -> frozenset[str]:
    """The scripts a language is written in (Latin unless known otherwise)."""
    return _LANGUAGE_SCRIPTS.get(code, _LATIN)


def _script(ch: str) -> str | None:
    cp = ord(ch)
    for low, high, name in _RANGES:
        if low <= cp <= high:
            return name
    return None


_ASCII_LETTERS = string.ascii_letters.encode()


_NOISE = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+|[@#]\w+|:[a-z0-9_+-]+:", re.I)


def _may_hold_noise(text: str) -> bool:
    """Whether `text` holds what every match of _NOISE holds: "@", "#", ":" (in "://" too) or "www."
    in any case. Most lines hold none. These scans cost ~0.3 us a line; _NOISE.sub costs ~8 us
    (~100k instructions, a tenth of all a message costs its node; issue 27): it tries every
    alternative at every position, and the e-mail one scans the rest of a word again from each letter."""
    return "@" in text or "#" in text or ":" in text or "www." in text.lower()


@dataclass(frozen=True)
class TextProfile:
    letters: int  # letters left after noise (URLs, mentions...) is removed
    script: str | None  # the dominant script of those letters
    clean: str  # the text the statistical detector sees


def profile(text: str, limit: int = 500) -> TextProfile:
    """Letters and dominant script of a chat line (first `limit` characters)."""
    clean = text[:limit]
    if _may_hold_noise(clean):  # a line that cannot match is its own clean text
        clean = _NOISE.sub(" ", clean)
    if clean.isascii():  # most lines: every letter is Latin (A-Z, a-z), counted in one C pass
        # (bytes.translate drops them at ~0.2 us a line; a regex sub of the rest took ~2 us)
        letters = len(clean) - len(clean.encode().translate(None, _ASCII_LETTERS))
        return TextProfile(letters, "latin" if letters else None, clean)
    counts: dict[str, int] = {}
    letters = 0
    for ch, n in Counter(clean).items():  # each distinct character once: lines repeat letters
        if ch.isalpha():
            letters += n
            name = _script(ch)
            if name:
                counts[name] = counts.get(name, 0) + n
    if not counts:
        return TextProfile(letters, None, clean)
    # Japanese mixes kanji and kana; any real share of kana makes it Japanese.
    if counts.get("kana", 0) * 10 >= counts.get("han", 0) and counts.get("kana"):
        counts["kana"] += counts.pop("han", 0)
    return TextProfile(letters, max(counts, key=counts.__getitem__), clean)


# ------------------------------------------------------------------- backends

# The most probable language of a text and its probability; None when the detector has no answer.
# detect needs no more than that: a scorer need not rank the other languages.
Scorer = Callable[[str], tuple[str, float] | None]


class _Backend(Protocol):
    def supports(self, code: str) -> bool: ...

    def scorer(self, codes: frozenset[str]) -> Scorer: ...


class _LangdetectBackend:
    # langdetect names two Chinese profiles and Norwegian "no".
    _PROFILES: ClassVar[dict[str, tuple[str, ...]]] = {"zh": ("zh-cn", "zh-tw"), "nb": ("no",), "zt": ("zh-tw",)}

    def __init__(self) -> None:
        import os

        from langdetect.detector_factory import PROFILES_DIRECTORY

        self._dir = PROFILES_DIRECTORY
        self.known = {f for f in os.listdir(self._dir) if not f.startswith(".")}

    def supports(self, code: str) -> bool:
        return any(p in self.known for p in self._PROFILES.get(code, (code,)))

    def scorer(self, codes: frozenset[str]) -> Scorer:
        import os

        from langdetect.detector_factory import DetectorFactory

        back: dict[str, str] = {}
        profiles = []
        for code in sorted(codes):
            for name in self._PROFILES.get(code, (code,)):
                if name in self.known and name not in back:
                    back[name] = code
                    with open(os.path.join(self._dir, name), encoding="utf-8") as f:
                        profiles.append(f.read())
        factory = DetectorFactory()
        factory.load_json_profile(profiles)
        # Fixed seed: langdetect samples n-grams at random; a seed makes the same
        # text always get the same answer (on every node, every time).
        factory.set_seed(0)

        def score(text: str) -> tuple[str, float] | None:
            from langdetect.lang_detect_exception import LangDetectException

            detector = factory.create()
            detector.append(text)
            try:
                found = detector.get_probabilities()
            except LangDetectException:  # no features in the text
                return None
            merged: dict[str, float] = {}
            for item in found:
                code = back[item.lang]
                merged[code] = merged.get(code, 0.0) + item.prob
            return max(merged.items(), key=itemgetter(1), default=None)  # the first of equals, as a sort

        return score


class _Py3langidBackend:
    def __init__(self) -> None:
        from translation.langid_model import load_identifier

        self._base = load_identifier(norm_probs=True)  # unpacked once per machine, mapped shared
        self.known = set(self._base.nb_classes)

    def supports(self, code: str) -> bool:
        return {"nb": "no", "zt": "zh"}.get(code, code) in self.known

    def scorer(self, codes: frozenset[str]) -> Scorer:
        back = {{"nb": "no", "zt": "zh"}.get(c, c): c for c in sorted(codes)}
        identifier = copy.copy(self._base)
        identifier.set_languages(list(back))
        return _Py3langidBest(identifier, back)


# py3langid's probabilities are float32: 2**-24 is its unit roundoff
_FLOAT32_ROUNDOFF = 2.0**-24


class _Py3langidBest:
    """py3langid's best language and its probability, as `LanguageIdentifier.rank(text)[0]` gives them.

    rank scores, normalises, folds and sorts every allowed language with a dozen numpy calls on arrays of
    ~30 floats; detect needs only the first (issue 27: a detection costs ~260k instructions with this,
    ~400k with rank). The features and their float32 scores are rank's own operations on the same values;
    the softmax and the argmax run over a Python list in float64. Where the best language is not ahead by
    more than rank's float32 rounding could undo, rank itself decides: the answer is always rank's, the
    probability differs from rank's by float32 rounding only."""

    def __init__(self, identifier: Any, back: dict[str, str]) -> None:
        import numpy as np  # with py3langid, not at import: most of this module needs no numpy

        self._fromiter, self._log1p, self._float32, self._intp = np.fromiter, np.log1p, np.float32, np.intp
        self._identifier = identifier
        self._nextmove = identifier.tk_nextmove
        self._rowbase: list[int] = identifier._rowbase  # the DFA's row offsets, pre-shifted (shared list)
        self._output: list[int] = identifier.tk_output
        # The allowed languages' columns as float32 rows, and rank reads them too: py3langid's float16
        # table, column-major, cost half a detection in the gather of a line's rows and their conversion
        # to float32 in the product (software float16, ~25 instructions a value). The values are the
        # same and the product is numpy's float32 one either way, so the scores are the same float32s.
        identifier.nb_ptc = self._table = np.ascontiguousarray(identifier.nb_ptc, dtype=np.float32)
        self._prior = identifier.nb_pc
        self._back = back
        self._labels = [back[c] for c in identifier.nb_classes]
        # duplicated labels (srl -> sr): rank adds the dupe column's probability into the first's
        self._aliases: list[tuple[int, int]] = list(identifier._alias_pairs)
        # a text with no feature gets rank's uniform answer, whatever its length
        lang, prob = identifier.rank("")[0]
        self._featureless = (back[lang], prob)

    def __call__(self, text: str) -> tuple[str, float] | None:
        # py3langid's _encode lowers all-capital text, composes it (NFC) and encodes it: NFC changes no
        # ASCII text, so most lines skip the normalisation
        ascii_data = (text.lower() if text.isupper() else text).encode() if text.isascii() else None
        data = self._identifier._encode(text) if ascii_data is None else ascii_data
        # py3langid's visit_counts, inline: the DFA walk (~1.3k instructions a byte) is half a detection.
        # No exact cache pays on chat text (benchmarks/detect_walk_cache.py): a state holds the last 1-6
        # bytes, so (state, word) hits 0% cold and 7-22% of bytes after 1,000 lines; (state, byte) edges
        # walked in C (itertools.accumulate over dict nodes) hit 68-78% then (Russian 93%), but a hit
        # costs ~3/4 of a byte walked here and a miss several times one. A numpy walk of each byte's
        # 6-byte window costs 2x this loop on 90 bytes, 4x on chat lines (numpy's per-call overhead).
        nextmove, rowbase, output = self._nextmove, self._rowbase, self._output
        state = 0
        found: list[int] = []
        append = found.append
        for byte in data:
            state = nextmove[rowbase[state] + byte]
            feature = output[state]
            if feature >= 0:
                append(feature)
        if not found:
            return self._featureless
        visits: dict[int, int] = {}
        _count_elements(visits, found)  # Counter's own counting in C, without Counter's Python __init__
        # py3langid's _sparse_score, the same operations on the same arrays: the same float32 scores
        counts = self._fromiter(visits.values(), dtype=self._float32, count=len(visits))
        rows = self._table.take(self._fromiter(visits.keys(), dtype=self._intp, count=len(visits)), axis=0)
        scores: list[float] = (self._log1p(counts) @ rows + self._prior).tolist()
        # rank's softmax, temperature sqrt(bytes), in float64 relative to the top score. rank rounds
        # each scaled score to float32 (an error of ~|scaled| * 2**-24), then its exp, sum, division and
        # alias fold round again: its weights may be off by (4 * |scaled| + 11) * 2**-24, relatively.
        # Where the best language is not ahead by twice that, both ways, rank itself decides.
        temperature = 1.0 / math.sqrt(len(data))
        ordered = sorted(scores)
        top = ordered[-1]
        margin = (16.0 * max(abs(top), abs(ordered[0])) * temperature + 44.0) * _FLOAT32_ROUNDOFF
        if not self._aliases:
            if len(ordered) > 1 and (top - ordered[-2]) * temperature <= margin:
                return self._rank_best(text)  # a near tie: rank's float32 rounding decides it
            total = 1.0
            for score in reversed(ordered[:-1]):
                exponent = (score - top) * temperature
                if exponent < -40.0:  # the rest add < 26 * e**-40 to a total >= 1: below float64's eps
                    break
                total += math.exp(exponent)
            return self._labels[scores.index(top)], 1.0 / total
        weights = [math.exp((score - top) * temperature) for score in scores]
        total = sum(weights)
        for first, dupe in self._aliases:  # as rank does: the dupe's weight goes to the first column
            weights[first] += weights[dupe]
            weights[dupe] = 0.0
        best = max(weights)
        if best <= sorted(weights)[-2] * (1.0 + margin):
            return self._rank_best(text)
        return self._labels[weights.index(best)], best / total

    def _rank_best(self, text: str) -> tuple[str, float]:
        lang, prob = self._identifier.rank(text)[0]
        return self._back[lang], prob


class _LinguaBackend:
    def __init__(self) -> None:
        from lingua import Language

        self._by_code = {lang.iso_code_639_1.name.lower(): lang for lang in Language.all()}

    def supports(self, code: str) -> bool:
        return {"zt": "zh", "no": "nb"}.get(code, code) in self._by_code

    def scorer(self, codes: frozenset[str]) -> Scorer:
        from lingua import LanguageDetectorBuilder

        back = {{"zt": "zh", "no": "nb"}.get(c, c): c for c in sorted(codes)}
        detector = (
            LanguageDetectorBuilder.from_languages(*(self._by_code[c] for c in back))
            .with_preloaded_language_models()
            .build()
        )

        def score(text: str) -> tuple[str, float] | None:
            found = detector.compute_language_confidence_values(text)  # best first
            return (back[found[0].language.iso_code_639_1.name.lower()], found[0].value) if found else None

        return score


_BACKENDS: dict[str, Callable[[], _Backend]] = {
    "py3langid": _Py3langidBackend,
    "lingua": _LinguaBackend,
    "langdetect": _LangdetectBackend,
}
DETECTORS: tuple[str, ...] = tuple(_BACKENDS)

# The models are read-only once built, so one copy serves every detector of the process: a
# process running several nodes (the test suite, a benchmark) loads each model once, not once
# per node (a py3langid model and its per-script copies take tens of MB).
_SHARED_LOCK = threading.Lock()
_SHARED_BACKENDS: dict[str, _Backend] = {}
_SHARED_SCORERS: dict[tuple[str, frozenset[str]], Scorer] = {}


def _shared_backend(name: str) -> _Backend:
    with _SHARED_LOCK:
        backend = _SHARED_BACKENDS.get(name)
        if backend is None:
            backend = _SHARED_BACKENDS[name] = _BACKENDS[name]()
        return backend


# ------------------------------------------------------------------- detector


class LanguageDetector:
    """Thread-safe; the statistical part costs milliseconds, so the service calls
    `detect` from a worker thread."""

    def __init__(
        self, languages: Iterable[str], *, backend: str = "py3langid", min_chars: int = 8, min_prob: float = 0.5
    ) -> None:
        if backend not in _BACKENDS:
            raise ValueError(f"unknown detector {backend!r}; choose one of {', '.join(DETECTORS)}")
        self.languages = frozenset(languages)
        self.backend_name = backend
        self.min_chars = min_chars
        self.min_prob = min_prob
        self._backend = _shared_backend(backend)
        # script -> (the allowed languages written in it, the scorer of those the backend knows, if
        # two or more): worked out once per script, not on every line (a dict write is atomic)
        self._by_script: dict[str, tuple[frozenset[str], frozenset[str], Scorer | None]] = {}

    def _scorer(self, codes: frozenset[str]) -> Scorer:
        # One model per candidate set; there are only a few (one per script), shared by the process.
        key = (self.backend_name, codes)
        with _SHARED_LOCK:
            scorer = _SHARED_SCORERS.get(key)
            if scorer is None:
                scorer = _SHARED_SCORERS[key] = self._backend.scorer(codes)
            return scorer

    def _candidates(self, script: str) -> frozenset[str]:
        return frozenset(c for c in self.languages if script in language_scripts(c) and self._backend.supports(c))

    def _for_script(self, script: str) -> tuple[frozenset[str], frozenset[str], Scorer | None]:
        known = self._by_script.get(script)
        if known is None:
            scorable = self._candidates(script)
            known = self._by_script[script] = (
                frozenset(c for c in self.languages if script in language_scripts(c)),
                scorable,
                self._scorer(scorable) if len(scorable) >= 2 else None,
            )
        return known

    def detect(self, text: str, fallback: str) -> tuple[str, bool]:
        """(language, detected): detected is False when the fallback was chosen."""
        prof = profile(text)
        if prof.script is None:
            return fallback, False
        if prof.script == "han" and "zh" in self.languages:
            return "zh", True  # Han without kana: Chinese (Japanese lines carry kana)
        candidates, scorable, scorer = self._for_script(prof.script)
        if not candidates:
            return fallback, False  # a script no allowed language uses
        if len(candidates) == 1:
            return next(iter(candidates)), True
        fallback_fits = prof.script in language_scripts(fallback)
        if fallback_fits and prof.letters < self.min_chars:
            return fallback, False
        best: tuple[str, float] | None = None
        if scorer is not None:
            best = scorer(prof.clean)
        elif len(scorable) == 1:
            best = (next(iter(scorable)), 1.0)
        if best and (best[1] >= self.min_prob or not fallback_fits):
            return best[0], True
        if fallback_fits:
            return fallback, False
        # The sender's language cannot be written in this script, and the detector
        # has no answer: take the script's first allowed language.
        return (best[0] if best else sorted(candidates)[0]), True

    def warm_up(self) -> None:
        """Load the models for the common scripts now rather than on the first message."""
        for script in ("latin", "cyrillic"):
            self._for_script(script)
