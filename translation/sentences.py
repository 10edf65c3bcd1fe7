"""Split a chat message into sentences and put the translated sentences back together.

Argos's own translate() calls a sentence-boundary model that it downloads on first
use (and retries on every call when offline); we do not depend on it. Punctuation
rules are enough for chat: a sentence ends at . ! ? … followed by whitespace (so
"3.5" and "e.g.x" stay whole), at CJK 。！？ (no space needed), or at a line break.
Each sentence becomes one batch item for the model, which keeps items short (the
model's cost grows with the longest item in a batch) and lets long messages use
several batch slots.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from translation.languages import NO_SPACE_LANGUAGES

#: Longest piece handed to the model; longer sentences are cut at a space (or hard).
MAX_SEGMENT_CHARS = 400

_BOUNDARY = re.compile(
    r"(?P<punct>[.!?…]+[)\]\"'»”’]*(?=\s|$)|[。！？｡]+[)\]」』”’）]*)(?P<ws>\s*)"
    r"|(?P<nl>[ \t]*\n\s*)"
)

# A "." after these is not a sentence end ("Dr. Smith", "z.B. morgen").
_ABBREVIATIONS = frozenset(
    (
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "st",
        "sr",
        "jr",
        "vs",
        "e.g",
        "i.e",
        "z.b",
        "bzw",
        "usw",
        "ca",
        "nr",
        "no",
        "mme",
        "mlle",
        "sra",
        "sr",
        "dra",
        "approx",
        "cf",
        "fig",
        "hr",
        "fr",
    )
)


@dataclass(frozen=True)
class Segment:
    """One piece of a message: `text` is translated (if `translate`) and `after`,
    the whitespace that followed it, is kept."""

    text: str
    after: str
    translate: bool


def _is_abbreviation(sentence: str) -> bool:
    words = sentence.rsplit(None, 1)
    if not words:
        return False
    word = words[-1].lstrip("([\"'«“‘").rstrip(".").lower()
    # A single letter is an initial ("J. Smith") unless it is the whole sentence.
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha() and len(words) > 1)


def _cut_long(text: str, limit: int) -> list[str]:
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind(" ", limit // 2, limit)
        if cut <= 0:
            cut = limit  # no space (CJK, a long URL): cut hard
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def split(text: str, max_chars: int = MAX_SEGMENT_CHARS) -> tuple[str, list[Segment]]:
    """Return the message's leading whitespace and its segments, in order."""
    stripped = text.lstrip()
    lead = text[: len(text) - len(stripped)]
    raw: list[tuple[str, str]] = []
    start = 0
    for m in _BOUNDARY.finditer(stripped):
        if m.group("nl") is not None:
            end, after = m.start(), m.group("nl")
        else:
            end, after = m.end("punct"), m.group("ws")
            if stripped[end - 1] == "." and _is_abbreviation(stripped[start:end]):
                continue
        raw.append((stripped[start:end], after))
        start = m.end()
    if start < len(stripped):
        tail = stripped[start:]
        body = tail.rstrip()
        raw.append((body, tail[len(body) :]))

    segments: list[Segment] = []
    for sentence, after in raw:
        if not sentence:
            if segments:  # keep the whitespace of an empty piece
                last = segments[-1]
                segments[-1] = Segment(last.text, last.after + after, last.translate)
            else:
                lead += after
            continue
        pieces = _cut_long(sentence, max_chars)
        for piece in pieces[:-1]:
            segments.append(Segment(piece, " ", _has_letters(piece)))
        segments.append(Segment(pieces[-1], after, _has_letters(pieces[-1])))
    return lead, segments


def _has_letters(text: str) -> bool:
    # Emoji, numbers and punctuation pass through untouched: a model only garbles them.
    return any(ch.isalpha() for ch in text)


def join(lead: str, segments: list[Segment], translations: list[str], target: str) -> str:
    """Rebuild a message from its segments, using translations[i] for segment i
    (segments with translate=False keep their text)."""
    no_space = target in NO_SPACE_LANGUAGES
    out = [lead]
    last = len(segments) - 1
    for i, (segment, translated) in enumerate(zip(segments, translations, strict=False)):
        out.append(translated.strip() if segment.translate else segment.text)
        after = segment.after
        if i < last and "\n" not in after:
            # Sentences in Chinese/Japanese sit together; elsewhere they need a space,
            # even when the source (CJK) had none.
            after = "" if no_space else (after or " ")
        out.append(after)
    return "".join(out)


def translatable(segments: list[Segment]) -> list[str]:
    """The texts of the segments that go to the model, in order."""
    return [s.text for s in segments if s.translate]


def merge(segments: list[Segment], translated: list[str]) -> list[str]:
    """Spread model outputs (for translatable segments, in order) over all segments."""
    it = iter(translated)
    return [next(it) if s.translate else s.text for s in segments]
