"""The interface in the reader's language: the lobby in the browser's language before signing in,
then everything in the reading language; no English string from the catalogue left on screen;
<html lang dir> set, right to left for Arabic; language names in their own script and the reader's."""

from __future__ import annotations

import json
import re

import pytest
from playwright.async_api import Page, expect

from rooms import Role
from tests.e2e.pages import enter_room, say, sign_in_with_token
from web import STATIC_DIR

pytestmark = pytest.mark.browser

I18N = STATIC_DIR / "i18n"
ENGLISH: dict[str, object] = json.loads((I18N / "en.json").read_text(encoding="utf-8"))
ROOM = "plenary"

#: lang -> (browser locale, text direction, a catalogue key and its expected text)
CASES = {
    "es": ("es-ES", "ltr"),
    "zh": ("zh-CN", "ltr"),
    "ar": ("ar-EG", "rtl"),
}


def catalogue(lang: str) -> dict[str, object]:
    return json.loads((I18N / f"{lang}.json").read_text(encoding="utf-8"))


def english_fragments(lang: str) -> set[str]:
    """English catalogue text the page must not show in `lang`: the parts between placeholders
    (8 characters or more) of every value the target catalogue words differently."""
    target = catalogue(lang)
    # a fragment the reader's own catalogue uses too is a word of their language as well
    # ("original" is Spanish and French too), so seeing it proves nothing
    own_words = "\n".join(
        str(form) for value in target.values() for form in (value.values() if isinstance(value, dict) else [value])
    )
    fragments: set[str] = set()
    for key, value in ENGLISH.items():
        if target[key] == value:
            continue  # the same in both (formats, "{title} ({id})")
        forms = value.values() if isinstance(value, dict) else [value]
        for form in forms:
            for part in re.split(r"\{\w+\}", str(form)):
                part = part.strip(" ,.:;()“”")
                if (len(part) >= 8 or (len(part) >= 4 and part == str(form))) and not re.search(
                    rf"(?<!\w){re.escape(part)}(?!\w)", own_words
                ):
                    fragments.add(part)
    return fragments


async def shown_text(page: Page) -> str:
    """Everything a person can see or hear: rendered text plus labels, placeholders and titles."""
    return await page.evaluate("""() => {
        const seen = (el) => el.getClientRects().length > 0;
        const attrs = [...document.querySelectorAll('[aria-label], [placeholder], [title]')].filter(seen)
            .flatMap((el) => ['aria-label', 'placeholder', 'title'].map((a) => el.getAttribute(a) || ''));
        return [document.title, document.body.innerText, ...attrs].join('\\n');
    }""")


async def no_english(page: Page, lang: str, where: str) -> None:
    text = await shown_text(page)
    left = sorted(f for f in english_fragments(lang) if re.search(rf"(?<!\w){re.escape(f)}(?!\w)", text))
    assert not left, f"English on the {where} in {lang}: {left}"


@pytest.mark.parametrize("lang", list(CASES))
async def test_lobby_home_and_room_show_no_english_in_the_readers_language(make_server, new_page, lang):
    locale, direction = CASES[lang]
    server = await make_server()
    otto = await server.client("Otto", lang="de", user_id="u-otto")
    await otto.join(ROOM)
    await otto.say(ROOM, "Guten Morgen zusammen, die Sitzung beginnt gleich im großen Saal.")
    words = catalogue(lang)

    # before signing in: the browser's language
    lobby = await new_page(locale=locale)
    await lobby.goto(server.url)
    await expect(lobby.locator("html")).to_have_attribute("lang", lang)
    await expect(lobby.locator("html")).to_have_attribute("dir", direction)
    await expect(lobby.get_by_test_id("start")).to_have_text(str(words["lobby.start"]))
    await expect(lobby.get_by_test_id("lang")).to_have_value(lang)  # the browser's language preselected
    await no_english(lobby, lang, "lobby")

    # the reading language's own name first, then its name in the interface language
    german = await lobby.get_by_test_id("lang").locator("option[value=de]").inner_text()
    name_here = await lobby.evaluate("(l) => new Intl.DisplayNames([l], {type: 'language'}).of('de')", lang)
    assert german.startswith("Deutsch") and name_here.lower() in german.lower()
    names = await lobby.evaluate("""(l) => [...document.querySelectorAll('#lang option')].map((o) => o.value)""", lang)
    expected = await lobby.evaluate(
        """([codes, l]) => {
        const dn = new Intl.DisplayNames([l], {type: 'language'});
        return [...codes].sort((a, b) => (dn.of(a) || a).localeCompare(dn.of(b) || b, l));
    }""",
        [names, lang],
    )
    assert names == expected, "languages are sorted by their names in the interface language"

    # a host reading this language: home with the host panel, then the room with moderation open
    page = await new_page(locale="en-US")  # the reading language wins over the browser's
    await sign_in_with_token(page, server.url, server.token("Hanna", Role.HOST, lang, user_id="u-hanna"), "Hanna")
    await expect(page.locator("html")).to_have_attribute("lang", lang)
    await expect(page.locator("html")).to_have_attribute("dir", direction)
    await expect(page.get_by_test_id("host-panel")).to_be_visible()
    await no_english(page, lang, "home view with the host panel")

    await enter_room(page, ROOM)
    await say(page, "Bienvenidos" if lang == "es" else "欢迎" if lang == "zh" else "أهلا وسهلا")
    await expect(page.get_by_test_id("message")).to_have_count(2)
    await page.get_by_test_id("mod-u-otto").click()
    await page.get_by_test_id("mute-300").click()
    await expect(page.get_by_test_id("system-line")).to_have_count(1)
    await page.get_by_test_id("mod-u-otto").click()
    await expect(page.get_by_test_id("unmute")).to_be_visible()
    await no_english(page, lang, "room")
    await expect(page.get_by_test_id("send")).to_have_text(str(words["room.send"]))

    # switching the reading language switches the interface at once
    await page.get_by_test_id("reading-lang").select_option("en")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator("html")).to_have_attribute("dir", "ltr")
    await expect(page.get_by_test_id("send")).to_have_text("Send")
