"""Routes as a graph in the browser: with Debian's Apertium pairs only (eng-spa, fr-es), a French
reader gets an English message in French (en->es->fr) and is never told "original only"."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.pages import enter_room, say, sign_in

pytestmark = pytest.mark.browser


async def test_a_french_reader_gets_english_in_french_through_spanish(make_server, new_page):
    from translation.apertium import discover

    if not {("en", "es"), ("es", "fr")} <= {(p.source, p.target) for p in discover()}:
        pytest.skip("needs Debian's apertium-eng-spa and apertium-fr-es (.ci/system-deps)")
    server = await make_server(translation={"engines": ("apertium",)})
    english, french = await new_page(), await new_page()
    await sign_in(english, server.url, "Ada", "en")
    await sign_in(french, server.url, "Camille", "fr")
    for page in (english, french):
        await enter_room(page, "plenary")
    line = "Good morning everyone, the session starts in ten minutes"
    await say(english, line)
    seen = french.locator('[data-testid="message"][data-lang="en"]')
    await expect(seen.get_by_test_id("message-text")).to_contain_text("minutes")
    await expect(seen.get_by_test_id("message-text")).not_to_have_text(line)
    await expect(seen.get_by_test_id("show-original")).to_have_count(1)
    await expect(seen.get_by_test_id("original-only")).to_have_count(0)
