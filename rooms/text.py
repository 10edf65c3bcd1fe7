"""Text rules every edge applies: client strings are Unicode scalar values (encodable as UTF-8).

JSON lets a client send a lone surrogate (`"\\ud800"`); such a string cannot be written to a
socket, Redis or a file as UTF-8. Edges refuse it, naming the field, before anything is stored.
"""

from __future__ import annotations

import itertools
import operator
import re
import sys
import unicodedata
from typing import Any

import icu  # PyICU: Unicode properties and the TR39 confusables data

SURROGATE = re.compile("[\ud800-\udfff]")


def is_scalar_text(value: str) -> bool:
    """True when every code point is a Unicode scalar value (no surrogates)."""
    return SURROGATE.search(value) is None


def unencodable_field(data: Any) -> str | None:
    """The path of the first string (or key) in a JSON value that is not scalar text, or None.

    A top-level value is named by its key, a nested one `key.inner` or `key[index]`. Iterative:
    a deeply nested body cannot exhaust the stack.
    """
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if not is_scalar_text(value):
                return path or "(value)"
        elif isinstance(value, dict):
            for key, inner in reversed(list(value.items())):
                name = f"{path}.{key}" if path else str(key)
                if not is_scalar_text(str(key)):
                    return SURROGATE.sub("\ufffd", name)
                stack.append((name, inner))
        elif isinstance(value, list):
            stack.extend((f"{path}[{index}]", inner) for index, inner in reversed(list(enumerate(value))))
    return None


# Names and profile texts ---------------------------------------------------------------------
# What people read of each other (a name, an organisation, a bio) must show what it says: no
# control or format characters (zero-width spaces, bidi overrides such as U+202E), nothing that
# renders blank (Hangul fillers U+3164 / U+FFA0, the blank braille pattern U+2800, combining marks
# without a letter to sit on). Which code points are default-ignorable and which are white space
# comes from ICU's Unicode data, not from a table kept here.
USER_ID_MAX = 128  # a token's `sub` and every `user` field of the protocol: room for e-mail addresses
NAME_MAX = 100  # a token's `name` (a website's names may be longer than the 40 POST /api/session allows)
FORM_NAME_MAX = 40  # POST /api/session

# Private-use and unassigned code points are not refused: fonts draw them (as a glyph or a box).
_REFUSED_CATEGORIES = {
    "Cc": "control",
    "Cf": "invisible format",
    "Cs": "surrogate",
    "Zl": "line separator",
    "Zp": "paragraph separator",
}
_MARKS = ("Mn", "Mc", "Me")
_VARIATION_SELECTORS = (range(0xFE00, 0xFE10), range(0xE0100, 0xE01F0))  # emoji / glyph variants: harmless after a base
_BLANK_SYMBOLS = {"\u2800"}  # BRAILLE PATTERN BLANK: a symbol that draws nothing and is not default-ignorable


def _default_ignorable(char: str) -> bool:
    return bool(icu.Char.hasBinaryProperty(char, icu.UProperty.DEFAULT_IGNORABLE_CODE_POINT))


def _white_space(char: str) -> bool:
    return bool(icu.Char.hasBinaryProperty(char, icu.UProperty.WHITE_SPACE))


def _describe(char: str) -> str:
    return f"U+{ord(char):04X} {unicodedata.name(char, '')}".rstrip()


def char_kind(char: str) -> str:
    """How a character shows in a name, organisation or bio (context aside): `refused` (control,
    format, surrogate, line/paragraph separators, default-ignorable, blank symbols), `selector`
    (a variation selector), `mark` (a combining mark), `space` or `visible`."""
    return _kind(unicodedata.category(char), ord(char), _default_ignorable(char), _white_space(char))


def _kind(category: str, code: int, ignorable: bool, white_space: bool) -> str:
    """char_kind from what it depends on (one rule for char_kind and char_kind_ranges)."""
    if category in _REFUSED_CATEGORIES:
        return "refused"
    if any(code in selectors for selectors in _VARIATION_SELECTORS):
        return "selector"
    if ignorable or chr(code) in _BLANK_SYMBOLS:
        return "refused"
    if category in _MARKS:
        return "mark"
    return "space" if white_space else "visible"


def char_kind_ranges() -> dict[str, list[list[int]]]:
    """Every code point but the surrogates by its char_kind, as [first, last] ranges per kind (web/openapi.py
    makes the text patterns of its document from them). The same as char_kind on each code point, in a
    fraction of the time: char_kind is constant between the points where the category, one of the two ICU
    properties, a selector range or a blank symbol starts or ends, so it is asked once per such stretch."""
    end = sys.maxunicode + 1
    categories = list(map(unicodedata.category, map(chr, range(end))))
    edges = {0, end, 0xD800, 0xE000}
    edges.update(itertools.compress(range(1, end), map(operator.ne, categories, itertools.islice(categories, 1, None))))
    properties = {name: icu.UnicodeSet(f"[:{name}:]") for name in ("Default_Ignorable_Code_Point", "White_Space")}
    for found in properties.values():
        for i in range(found.getRangeCount()):
            edges.update((ord(found.getRangeStart(i)), ord(found.getRangeEnd(i)) + 1))
    for selectors in _VARIATION_SELECTORS:
        edges.update((selectors.start, selectors.stop))
    for blank in _BLANK_SYMBOLS:
        edges.update((ord(blank), ord(blank) + 1))
    ranges: dict[str, list[list[int]]] = {"refused": [], "selector": [], "mark": [], "space": [], "visible": []}
    bounds = sorted(edges)
    for first, stop in itertools.pairwise(bounds):
        if 0xD800 <= first <= 0xDFFF:
            continue  # lone surrogates cannot be written in a JSON document
        char = chr(first)
        kind = ranges[
            _kind(
                categories[first],
                first,
                bool(properties["Default_Ignorable_Code_Point"].contains(char)),
                bool(properties["White_Space"].contains(char)),
            )
        ]
        if kind and kind[-1][1] == first - 1:
            kind[-1][1] = stop - 1
        else:
            kind.append([first, stop - 1])
    return ranges


def text_fault(value: str, *, multiline: bool = False) -> str | None:
    """What makes a text people read of each other unfit (None when it is fine), as a phrase that
    follows the field's name: "must not contain control characters".

    Refused: any character of kind `refused` (char_kind; a newline is allowed where `multiline`),
    and a text that, white space aside, does not start with a visible character: combining marks
    or variation selectors alone render blank or on nothing. (web/openapi.py describes names with a
    pattern of the same kinds.)
    """
    for char in value:
        if multiline and char == "\n":
            continue
        if char_kind(char) == "refused":
            category = unicodedata.category(char)
            if category == "Cs":
                return "is not valid Unicode text (it holds a lone surrogate such as \\ud800): send UTF-8 text"
            if category == "Cc":
                return "must not contain control characters (newlines, tabs, NUL...)"
            what = _REFUSED_CATEGORIES.get(category, "invisible")
            return f"must not contain {what} characters ({_describe(char)}): they do not show"
    shown = value.strip()
    if shown and char_kind(shown[0]) != "visible":
        if not any(char_kind(char) == "visible" for char in shown):
            return "must show visible characters: this one would render blank"
        return f"must start with a visible character, not a combining mark or selector ({_describe(shown[0])})"
    return None


def name_fault(value: object, *, max_len: int = NAME_MAX) -> str | None:
    """What is wrong with a display name (stripped of surrounding white space), or None."""
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty string"
    if len(value.strip()) > max_len:
        return f"holds at most {max_len} characters"
    return text_fault(value.strip())


def user_id_fault(value: object) -> str | None:
    """What is wrong with a user id (a token's `sub`), or None: 1-USER_ID_MAX characters of
    Unicode text without control or invisible characters (e-mail addresses fit)."""
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    if len(value) > USER_ID_MAX:
        return f"holds at most {USER_ID_MAX} characters"
    if not is_scalar_text(value):
        return "is not valid Unicode text (it holds a lone surrogate such as \\ud800)"
    for char in value:
        category = unicodedata.category(char)
        if category in _REFUSED_CATEGORIES or _default_ignorable(char):
            return f"must not contain control or invisible characters ({_describe(char)})"
    if not value.strip():
        return "must not be blank"
    return None


# Look-alike names (Unicode TR39) -------------------------------------------------------------
_SPOOF = icu.SpoofChecker()


def confusable_key(name: str) -> str:
    """The same key for names a reader cannot tell apart: the TR39 skeleton (ICU's confusables
    data: Greek and Cyrillic look-alikes of Latin letters, 0/O, rn/m...) of the NFKC form
    (fullwidth and mathematical letters become plain ones), case-folded, white space removed."""
    shown = "".join(char for char in name if char_kind(char) not in ("selector", "refused"))  # invisible anyway
    skeleton = str(_SPOOF.getSkeleton(0, unicodedata.normalize("NFKC", shown)))
    return "".join(skeleton.casefold().split())
