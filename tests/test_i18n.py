"""The browser app's message catalogues (web/static/i18n/*.json) are complete and consistent.

English is the reference: every other catalogue has each of its keys, with the same
{placeholders} and a form for every plural category its language uses; every key the
page uses (data-i18n in index.html, t('…') in the modules) exists in English.
"""

from __future__ import annotations

import json
import re

import pytest

from web import STATIC_DIR

I18N = STATIC_DIR / "i18n"
PLACEHOLDER = re.compile(r"\{(\w+)\}")

#: Plural categories each catalogue's language needs (CLDR), beyond "other".
PLURAL_FORMS: dict[str, set[str]] = {
    "en": {"one"},
    "de": {"one"},
    "es": {"one", "many"},
    "fr": {"one", "many"},
    "pt": {"one", "many"},
    "it": {"one", "many"},
    "ru": {"one", "few", "many"},
    "uk": {"one", "few", "many"},
    "pl": {"one", "few", "many"},
    "cs": {"one", "few", "many"},
    "sk": {"one", "few", "many"},
    "sr": {"one", "few"},
    "hr": {"one", "few"},
    "bs": {"one", "few"},
    "ar": {"zero", "one", "two", "few", "many"},
    "he": {"one", "two"},
    "zh": set(),
    "ja": set(),
    "ko": set(),
}


def load(code: str) -> dict[str, object]:
    return json.loads((I18N / f"{code}.json").read_text(encoding="utf-8"))


def ui_languages() -> list[str]:
    """UI_LANGUAGES as declared in i18n.js."""
    source = (STATIC_DIR / "i18n.js").read_text(encoding="utf-8")
    match = re.search(r"export const UI_LANGUAGES = \[([^\]]*)\]", source)
    assert match, "i18n.js must declare `export const UI_LANGUAGES = [...]`"
    return re.findall(r"'([a-z]{2,3})'", match.group(1))


def placeholders(value: object) -> dict[str, set[str]]:
    """Placeholders per form: {"": {...}} for a string, {"one": {...}, ...} for a plural object."""
    if isinstance(value, str):
        return {"": set(PLACEHOLDER.findall(value))}
    assert isinstance(value, dict), f"{value!r} is neither a string nor a plural object"
    return {form: set(PLACEHOLDER.findall(text)) for form, text in value.items()}


CODES = sorted(p.stem for p in I18N.glob("*.json"))
ENGLISH = load("en")


def test_every_catalogue_is_declared_and_every_declared_one_exists() -> None:
    assert sorted(ui_languages()) == CODES


@pytest.mark.parametrize("code", CODES)
def test_catalogue_has_every_english_key_and_no_other(code: str) -> None:
    catalogue = load(code)
    missing = sorted(set(ENGLISH) - set(catalogue))
    extra = sorted(set(catalogue) - set(ENGLISH))
    assert not missing, f"{code}.json lacks {missing}"
    assert not extra, f"{code}.json has keys English lacks (typos?): {extra}"


@pytest.mark.parametrize("code", CODES)
def test_catalogue_keeps_the_placeholders_and_plural_forms(code: str) -> None:
    catalogue = load(code)
    needed = PLURAL_FORMS.get(code, {"one"}) | {"other"}
    for key, english in ENGLISH.items():
        value = catalogue[key]
        assert isinstance(value, str) == isinstance(english, str), f"{code}:{key}: plural in one, string in the other"
        ours, theirs = placeholders(value), placeholders(english)
        if isinstance(english, str):
            assert ours == theirs, f"{code}:{key}: placeholders {ours['']} differ from English {theirs['']}"
            assert str(value).strip(), f"{code}:{key} is empty"
            continue
        assert needed <= set(ours), f"{code}:{key} lacks plural forms {sorted(needed - set(ours))}"
        allowed = set().union(*theirs.values())
        for form, names in ours.items():
            assert names <= allowed, f"{code}:{key}[{form}] uses unknown placeholders {names - allowed}"
        assert ours["other"] == theirs["other"], f"{code}:{key}[other] must use {theirs['other']}"


def used_keys() -> set[str]:
    """Every literal key the page uses: data-i18n / data-i18n-attr in index.html, t('…') in the modules."""
    keys: set[str] = set()
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    keys |= set(re.findall(r'data-i18n="([\w.]+)"', html))
    for attrs in re.findall(r'data-i18n-attr="([^"]+)"', html):
        keys |= {pair.split(":")[1].strip() for pair in attrs.split(",") if ":" in pair}
    for module in STATIC_DIR.glob("*.js"):
        keys |= set(re.findall(r"\bt\('([\w.]+)'", module.read_text(encoding="utf-8")))
    return keys - {"key", "attr"}  # the examples in comments


def test_every_key_the_page_uses_is_in_english() -> None:
    missing = sorted(used_keys() - set(ENGLISH))
    assert not missing, f"en.json lacks keys the page uses: {missing}"


def test_server_error_codes_have_words() -> None:
    """Each `error` code of the protocol (PROTOCOL.md / README) reads as a sentence, not a code."""
    codes = [
        "bad_frame",
        "unknown_type",
        "too_large",
        "unauthorized",
        "forbidden",
        "not_found",
        "not_joined",
        "muted",
        "banned",
        "rate_limited",
        "room_closed",
        "unavailable",
        "internal",
    ]
    assert not [c for c in codes if f"error.{c}" not in ENGLISH]


def test_every_code_the_server_refuses_with_has_words() -> None:
    """The app words a refusal from its code only (i18n.js errorText), never the server's English: so
    every code the server's sources raise or answer with (Refused, FrameError, ApiError, error frames,
    rule tables) has an "error.<code>" sentence."""
    root = STATIC_DIR.parents[1]
    raised = re.compile(
        r"""(?:Refused|FrameError|ApiError|error|_bad)\((?:\d+,\s*)?["']([a-z_]+)["']"""
        r"""|return\s+["']([a-z_]+)["'],\s*f?["']|["']code["']:\s*["']([a-z_]+)["']"""
    )
    codes: set[str] = set()
    for folder in ("rooms", "chat", "web"):
        for source in (root / folder).rglob("*.py"):
            for match in raised.finditer(source.read_text(encoding="utf-8")):
                codes.add(next(group for group in match.groups() if group))
    assert {"banned", "rate_limited", "not_found", "bad_request"} <= codes, f"the scan missed codes: {sorted(codes)}"
    assert not sorted(c for c in codes if f"error.{c}" not in ENGLISH)


# what the code passes ----------------------------------------------------------------------
# A `t(key, {…})` call's placeholders must be the ones its string uses: one the code passes and the
# string does not use is a number the reader never sees; one the string uses and the code does not
# pass shows as a literal "{count}" (issue 21: slow mode said "dentro de {count} segundos").

STRING = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"|`((?:[^`\\]|\\.)*)`")


def _balanced(source: str, start: int) -> int:
    """The index just past the bracket closing the one at `start` (strings and template literals skipped)."""
    pairs = {"(": ")", "{": "}", "[": "]"}
    stack = [pairs[source[start]]]
    i = start + 1
    while stack:
        char = source[i]
        if char in "'\"`":
            i = STRING.match(source, i).end()  # type: ignore[union-attr]  # every quote opens a literal here
            continue
        if char in pairs:
            stack.append(pairs[char])
        elif char == stack[-1]:
            stack.pop()
        i += 1
    return i


def _top_level_split(text: str) -> list[str]:
    """`text` split at its top-level commas."""
    parts, depth, last, i = [], 0, 0, 0
    while i < len(text):
        char = text[i]
        if char in "'\"`":
            i = STRING.match(text, i).end()  # type: ignore[union-attr]
            continue
        if char in "({[":
            depth += 1
        elif char in ")}]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[last:i])
            last = i + 1
        i += 1
    parts.append(text[last:])
    return [p.strip() for p in parts if p.strip()]


def _keys_of(expression: str) -> list[str]:
    """The catalogue keys a key expression can name: its literals ('a' / cond ? 'a' : 'b'), and for a
    template literal (`left.${reason}`) every English key it matches."""
    keys: list[str] = []
    for match in STRING.finditer(expression):
        single, double, template = match.groups()
        if template is not None:
            pattern = re.compile(
                "".join(
                    r"[\w]+" if part.startswith("${") else re.escape(part)
                    for part in re.split(r"(\$\{[^}]*\})", template)
                )
                + "$"
            )
            keys += [key for key in ENGLISH if pattern.match(key)]
        else:
            keys.append(single if single is not None else double)
    return keys


def _passed(expression: str | None) -> set[str] | None:
    """The names an object literal passes ({ a: 1, b, ...c } -> {a, b}); None when it is not a literal
    or spreads another object (then what it passes cannot be read here)."""
    if expression is None:
        return set()
    if not (expression.startswith("{") and expression.endswith("}")):
        return None
    names: set[str] = set()
    for part in _top_level_split(expression[1:-1]):
        if part.startswith("..."):
            return None
        name = re.match(r"['\"]?(\w+)['\"]?\s*(?::|$)", part)
        assert name, f"cannot read the parameter {part!r}"
        names.add(name.group(1))
    return names


def t_calls() -> list[tuple[str, int, str, set[str] | None]]:
    """Every `t(…)` call in the modules: (module, line, key expression, names passed or None)."""
    calls = []
    for module in sorted(STATIC_DIR.glob("*.js")):
        source = module.read_text(encoding="utf-8")
        for match in re.finditer(r"(?<![\w.$])t\(", source):
            end = _balanced(source, match.end() - 1)
            args = _top_level_split(source[match.end() : end - 1])
            if not args or args[0] in {"key", "el.dataset.i18n"}:  # the definition and translatePage's lookups
                continue
            line = source.count("\n", 0, match.start()) + 1
            calls.append((module.name, line, args[0], _passed(args[1] if len(args) > 1 else None)))
    return calls


def test_every_t_call_passes_exactly_the_placeholders_its_string_uses() -> None:
    problems = []
    checked = 0
    for module, line, key_expression, passed in t_calls():
        keys = [key for key in _keys_of(key_expression) if key in ENGLISH]
        if passed is None:
            continue  # a spread or a variable: what it passes is not readable here
        # One call may word a family of strings (`modLine.${action}.${who}`): each name it passes must
        # be used by one of them at least, and each string must get every name it uses.
        family: set[str] = set()
        for key in keys:
            family |= set().union(*placeholders(ENGLISH[key]).values())
            family |= {"count"} if isinstance(ENGLISH[key], dict) else set()  # `count` picks the plural form
        for key in keys:
            value = ENGLISH[key]
            checked += 1
            used = set().union(*placeholders(value).values())
            allowed = family
            if isinstance(value, dict) and "count" not in passed:
                problems.append(f"{module}:{line} t('{key}') is a plural but passes no count")
            if used - passed:
                problems.append(f"{module}:{line} t('{key}') does not pass {sorted(used - passed)}")
            if passed - allowed:
                problems.append(
                    f"{module}:{line} t('{key}') passes {sorted(passed - allowed)}, which the string "
                    f"does not use (it uses {sorted(used)})"
                )
    assert checked > 100, f"only {checked} t() calls were read: is the parser still finding them?"
    assert not problems, "\n".join(problems)


def test_static_text_has_no_placeholders() -> None:
    """data-i18n text is drawn with no parameters: a placeholder there would show as braces."""
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    keys = set(re.findall(r'data-i18n="([\w.]+)"', html))
    for attrs in re.findall(r'data-i18n-attr="([^"]+)"', html):
        keys |= {pair.split(":")[1].strip() for pair in attrs.split(",") if ":" in pair}
    shown = [key for key in sorted(keys) if key in ENGLISH and set().union(*placeholders(ENGLISH[key]).values())]
    assert not shown, f"static text with placeholders: {shown}"
