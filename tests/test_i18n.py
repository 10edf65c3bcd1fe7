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
    "en": {"one"}, "de": {"one"}, "es": {"one", "many"}, "fr": {"one", "many"}, "pt": {"one", "many"},
    "it": {"one", "many"}, "ru": {"one", "few", "many"}, "uk": {"one", "few", "many"},
    "pl": {"one", "few", "many"}, "cs": {"one", "few", "many"}, "sk": {"one", "few", "many"},
    "sr": {"one", "few"}, "hr": {"one", "few"}, "bs": {"one", "few"},
    "ar": {"zero", "one", "two", "few", "many"}, "he": {"one", "two"},
    "zh": set(), "ja": set(), "ko": set(),
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
            assert ours == theirs, f"{code}:{key}: placeholders {ours[''] } differ from English {theirs['']}"
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
    codes = ["bad_frame", "unknown_type", "too_large", "unauthorized", "forbidden", "not_found", "not_joined",
             "muted", "banned", "rate_limited", "room_closed", "unavailable", "internal"]
    assert not [c for c in codes if f"error.{c}" not in ENGLISH]
