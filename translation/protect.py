"""Spans of a message that reach every reader exactly as written.

Glossary terms (names of organisations, people, products, places), URLs, e-mail
addresses, @mentions and `code spans` are cut out of the text before translation:
only the pieces between them go to an engine, and the spans are put back between
the translated pieces. No placeholder is ever handed to a model (models mangle,
translate or drop them). A message's mentions are protected whole, with the
names of the people it mentions (`keep`: "@Wei Zhang", not only "@Wei").

Glossary matching is case-insensitive, prefers the longest term at a position and
respects word boundaries — except next to CJK characters, which have no spaces
between words.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence

# Letters and digits of scripts written with spaces between words: a term must not
# touch one of these (so "Kone" is not found inside "Konecranes").
_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f"
_SPACED_WORD = rf"[^\W{_CJK}]"

_SPANS = (
    r"```.+?```",  # code block
    r"`[^`\n]+`",  # code span
    r"(?:https?://|www\.)[^\s<>\"'`]*[^\s<>\"'`.,;:!?)\]}]",  # URL (without final punctuation)
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.\w{2,}",  # e-mail address
    r"(?<![\w@])@\w+(?:[.-]\w+)*",  # @mention
)
_FIXED = "|".join(_SPANS)

#: Longest glossary term accepted (and most terms), so a PUT cannot make matching slow.
MAX_TERM_CHARS = 100
MAX_TERMS = 500


def clean_terms(terms: Iterable[str]) -> list[str]:
    """Trimmed, de-duplicated (case-insensitively) terms, in their first spelling."""
    seen: set[str] = set()
    out: list[str] = []
    for term in terms:
        term = " ".join(term.split())
        if term and term.casefold() not in seen:
            seen.add(term.casefold())
            out.append(term)
    return out


class Protector:
    """Splits texts into (piece, protected) runs for one glossary."""

    def __init__(self, glossary: Iterable[str] = ()) -> None:
        self.terms: tuple[str, ...] = tuple(clean_terms(glossary))
        # Longest first: an alternation takes the first alternative that matches.
        ordered = sorted(self.terms, key=len, reverse=True)
        parts = [_term_pattern(t) for t in ordered]
        self._pattern = re.compile("|".join([_FIXED, *parts]), re.IGNORECASE | re.DOTALL)
        #: Changes whenever the glossary does (part of translation cache keys).
        self.tag = (
            hashlib.blake2b("\n".join(sorted(t.casefold() for t in self.terms)).encode(), digest_size=4).hexdigest()
            if self.terms
            else ""
        )

    def split(self, text: str, keep: Sequence[str] = ()) -> list[tuple[str, bool]]:
        """Runs of text in order; protected runs must be passed through unchanged. `keep`: more
        spans of this text only, protected before anything else (a message's mentions, "@Wei Zhang",
        which the one-word @mention rule would cut after "@Wei")."""
        if not keep:
            return self._split(text)
        runs: list[tuple[str, bool]] = []
        last = 0
        ordered = sorted(clean_terms(keep), key=len, reverse=True)
        for match in re.finditer("|".join(_term_pattern(span) for span in ordered), text, re.IGNORECASE):
            if match.start() == match.end():
                continue
            runs += self._split(text[last : match.start()])
            runs.append((match.group(), True))
            last = match.end()
        return runs + self._split(text[last:])

    def _split(self, text: str) -> list[tuple[str, bool]]:
        runs: list[tuple[str, bool]] = []
        last = 0
        for match in self._pattern.finditer(text):
            if match.start() == match.end():
                continue
            if match.start() > last:
                runs.append((text[last : match.start()], False))
            runs.append((match.group(), True))
            last = match.end()
        if last < len(text):
            runs.append((text[last:], False))
        return runs


def keep_tag(keep: Sequence[str]) -> str:
    """What a translation's cache key adds for `keep` spans (empty without any)."""
    if not keep:
        return ""
    return hashlib.blake2b(
        "\n".join(sorted(t.casefold() for t in clean_terms(keep))).encode(), digest_size=4
    ).hexdigest()


def _term_pattern(term: str) -> str:
    # Whitespace inside a term matches any run of whitespace ("BMH  Technologies").
    body = r"\s+".join(re.escape(word) for word in term.split())
    before = rf"(?<!{_SPACED_WORD})" if re.match(r"\w", term[0]) else ""
    after = rf"(?!{_SPACED_WORD})" if re.match(r"\w", term[-1]) else ""
    return before + body + after
