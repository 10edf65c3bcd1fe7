"""Two readers, two languages: each sees the other's message translated, and can show the original.

The Argos packages are tiny real models with random weights, so the translated text is
meaningless: the test checks structure (the translated marker, the original on demand), not
content. German <-> Spanish has no direct package: it pivots through English.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.e2e.pages import enter_room, language_name, message_with_text, say, sign_in, ui, ui_plural

pytestmark = pytest.mark.browser


async def sees_translation(reader: Page, lang: str, original: str, source_lang: str) -> None:
    """`reader` (interface in `lang`) shows `original` translated, marked as such, and the original on demand."""
    source_name = await language_name(reader, source_lang)
    item = reader.locator(f'[data-testid="message"][data-lang="{source_lang}"]')
    await expect(item).to_have_count(1)
    text = item.get_by_test_id("message-text")
    toggle = item.get_by_test_id("show-original")

    # the translation replaced the original on screen, and says so
    await expect(toggle).to_have_text(ui(lang, "msg.showOriginal"))
    await expect(item).to_contain_text(ui(lang, "msg.translatedFrom", language=source_name))
    await expect(text).not_to_have_text(original)
    await expect(item.get_by_test_id("translating")).to_have_count(0)
    translated = await text.inner_text()
    assert translated.strip(), "the translation shown is empty"

    # show-original reveals exactly what was written; show-translation goes back
    await toggle.click()
    await expect(text).to_have_text(original)
    await expect(item).to_contain_text(ui(lang, "msg.originalIn", language=source_name))
    await expect(toggle).to_have_text(ui(lang, "msg.showTranslation"))
    await expect(toggle).to_have_attribute("aria-pressed", "true")
    await toggle.click()
    await expect(text).to_have_text(translated)
    await expect(toggle).to_have_text(ui(lang, "msg.showOriginal"))


async def test_readers_of_two_languages_each_see_the_other_translated(make_server, new_page, translation_packages):
    server = await make_server(translation={"packages_dir": str(translation_packages)})
    german, spanish = await new_page(), await new_page()
    await sign_in(german, server.url, "Dieter", "de")
    await sign_in(spanish, server.url, "Sofía", "es")
    for page in (german, spanish):
        await enter_room(page, "plenary")

    # short lines: the detector keeps the sender's language for them (data-lang says which it took)
    german_line, spanish_line = "Guten Morgen", "Hola a todos"
    sent = await say(german, german_line)
    await expect(sent).to_have_attribute("data-lang", "de")
    await expect(sent.get_by_test_id("show-original")).to_have_count(0)  # the writer reads their own language
    await sees_translation(spanish, "es", german_line, "de")

    sent = await say(spanish, spanish_line)
    await expect(sent).to_have_attribute("data-lang", "es")
    await sees_translation(german, "de", spanish_line, "es")

    # "Show originals" switches every message to its original at once
    await german.get_by_test_id("toggle-originals").check()
    await expect(message_with_text(german, spanish_line)).to_have_count(1)
    await expect(message_with_text(german, german_line)).to_have_count(1)
    await german.get_by_test_id("toggle-originals").uncheck()
    await expect(message_with_text(german, spanish_line)).to_have_count(0)


async def test_a_reader_without_a_route_sees_original_only_never_translating(make_server, new_page):
    """Real Apertium output: English -> Spanish arrives; German has no route and says so quietly."""
    from translation.apertium import discover

    if not discover():
        pytest.skip("no Apertium pair installed (.ci/system-deps)")
    server = await make_server(translation={"engines": ("apertium",)})
    english, spanish, german = await new_page(), await new_page(), await new_page()
    await sign_in(english, server.url, "Ada", "en")
    await sign_in(spanish, server.url, "Sofía", "es")
    await sign_in(german, server.url, "Dieter", "de")
    for page in (english, spanish, german):
        await enter_room(page, "plenary")
    # the census in the German reader's interface: "3 Leser: 1 Deutsch · 1 Englisch · 1 Spanisch"
    three_readers = ui_plural("de", "room.readers", "other", count=3, languages="").rstrip(": ")
    await expect(german.locator("#room-sub")).to_contain_text(three_readers)

    line = "Good morning everyone, the session starts in ten minutes"
    await say(english, line)
    seen_by_spanish = spanish.locator('[data-testid="message"][data-lang="en"]')
    await expect(seen_by_spanish.get_by_test_id("message-text")).to_contain_text("Buenos días")
    await expect(seen_by_spanish.get_by_test_id("message-text")).to_contain_text("minutos")

    seen_by_german = german.locator('[data-testid="message"][data-lang="en"]')
    await expect(seen_by_german).to_have_count(1)
    await expect(seen_by_german.get_by_test_id("original-only")).to_have_count(1)
    await expect(seen_by_german.get_by_test_id("translating")).to_have_count(0)
    await expect(seen_by_german.get_by_test_id("message-text")).to_have_text(line)
