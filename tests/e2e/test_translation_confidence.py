"""A translation less sure than `[translation] min_confidence` is shown after its original.

The Argos test packages have random weights: the model is guessing, and its confidence says so
(~0.002), so with the documented threshold every translation here is "unreliable".
"""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.pages import enter_room, language_name, say, sign_in, ui

pytestmark = pytest.mark.browser


async def test_an_unsure_translation_shows_the_original_first_and_the_translation_a_click_away(
    make_server, new_page, translation_packages
):
    server = await make_server(translation={"packages_dir": str(translation_packages), "min_confidence": 0.35})
    german, spanish = await new_page(), await new_page()
    await sign_in(german, server.url, "Dieter", "de")
    await sign_in(spanish, server.url, "Sofía", "es")
    for page in (german, spanish):
        await enter_room(page, "plenary")
    line = "Guten Morgen"
    await say(german, line)
    item = spanish.locator('[data-testid="message"][data-lang="de"]')
    text, toggle = item.get_by_test_id("message-text"), item.get_by_test_id("show-original")
    await expect(toggle).to_have_text(ui("es", "msg.showTranslation"))  # the translation has arrived...
    await expect(text).to_have_text(line)  # ...but the original comes first
    await expect(item.get_by_test_id("unreliable")).to_have_text(ui("es", "msg.unreliable"))
    await expect(item).to_contain_text(ui("es", "msg.originalIn", language=await language_name(spanish, "de")))
    await toggle.click()
    await expect(text).not_to_have_text(line)
    assert (await text.inner_text()).strip()
    await expect(toggle).to_have_text(ui("es", "msg.showOriginal"))
    await expect(item.get_by_test_id("unreliable")).to_have_count(1)  # still said while the translation shows
