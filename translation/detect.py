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
import re
import string
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar, Protocol

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

Scorer = Callable[[str], list[tuple[str, float]]]  # best first, probabilities


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

        def score(text: str) -> list[tuple[str, float]]:
            from langdetect.lang_detect_exception import LangDetectException

            detector = factory.create()
            detector.append(text)
            try:
                found = detector.get_probabilities()
            except LangDetectException:  # no features in the text
                return []
            merged: dict[str, float] = {}
            for item in found:
                code = back[item.lang]
                merged[code] = merged.get(code, 0.0) + item.prob
            return sorted(merged.items(), key=lambda kv: kv[1], reverse=True)

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

        def score(text: str) -> list[tuple[str, float]]:
            return [(back[lang], p) for lang, p in identifier.rank(text)]

        return score


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

        def score(text: str) -> list[tuple[str, float]]:
            return [
                (back[v.language.iso_code_639_1.name.lower()], v.value)
                for v in detector.compute_language_confidence_values(text)
            ]

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
        ranked: list[tuple[str, float]] = []
        if scorer is not None:
            ranked = scorer(prof.clean)
        elif len(scorable) == 1:
            ranked = [(next(iter(scorable)), 1.0)]
        if ranked and (ranked[0][1] >= self.min_prob or not fallback_fits):
            return ranked[0][0], True
        if fallback_fits:
            return fallback, False
        # The sender's language cannot be written in this script, and the detector
        # has no answer: take the script's first allowed language.
        return (ranked[0][0] if ranked else sorted(candidates)[0]), True

    def warm_up(self) -> None:
        """Load the models for the common scripts now rather than on the first message."""
        for script in ("latin", "cyrillic"):
            self._for_script(script)
