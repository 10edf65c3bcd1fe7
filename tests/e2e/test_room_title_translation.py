"""Organiser content in the reader's language: with Debian's Apertium eng-spa, a Spanish reader
sees the room's title and forum in Spanish, in the lobby and in the room, the original a click away."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.pages import enter_room, sign_in

pytestmark = pytest.mark.browser


async def test_a_spanish_reader_sees_the_title_in_spanish_and_the_original_a_click_away(make_server, new_page):
    from translation.apertium import discover

    if ("en", "es") not in {(p.source, p.target) for p in discover()}:
        pytest.skip("needs Debian's apertium-eng-spa (.ci/system-deps)")
    server = await make_server(translation={"engines": ("apertium",)})
    page = await new_page()
    await sign_in(page, server.url, "Sofia", "es")
    await expect(page.get_by_test_id("room-plenary")).to_contain_text("Pleno")
    await enter_room(page, "plenary")
    title, toggle = page.locator("#room-title"), page.get_by_test_id("room-title-toggle")
    await expect(title).to_have_text("Pleno")
    await expect(page).to_have_title("Pleno · babelroom")  # the tab's title too
    await expect(page.locator("#room-sub")).to_contain_text("Sala principal")
    await toggle.click()
    await expect(title).to_have_text("Plenary")
    await expect(page).to_have_title("Plenary · babelroom")
    await expect(page.locator("#room-sub")).to_contain_text("Main hall")
    await toggle.click()
    await expect(title).to_have_text("Pleno")
    await expect(page).to_have_title("Pleno · babelroom")


async def test_a_spanish_reader_reads_a_moderation_reason_in_spanish_beside_the_original(make_server, new_page):
    from rooms import Role
    from translation.apertium import discover

    if ("en", "es") not in {(p.source, p.target) for p in discover()}:
        pytest.skip("needs Debian's apertium-eng-spa (.ci/system-deps)")
    server = await make_server(translation={"engines": ("apertium",)})
    page = await new_page()
    await sign_in(page, server.url, "Sofia", "es")
    await enter_room(page, "plenary")
    host = await server.client("Hanna", role=Role.HOST)
    tim = await server.client("Tim", user_id="u_tim")
    for client in (host, tim):
        await client.join("plenary")
    reason = "Please stay on the subject of the session"
    await host.send({"type": "mute", "room": "plenary", "user": "u_tim", "reason": reason, "ref": "m"})
    line = page.get_by_test_id("system-line").filter(has_text="sesión")
    await expect(line).to_have_count(1)
    await expect(line).to_contain_text(reason)  # the moderator's own words beside the translation


async def test_the_embedded_room_shows_a_spanish_reader_the_title_in_spanish(make_server, new_page):
    from translation.apertium import discover

    if ("en", "es") not in {(p.source, p.target) for p in discover()}:
        pytest.skip("needs Debian's apertium-eng-spa (.ci/system-deps)")
    server = await make_server(translation={"engines": ("apertium",)})
    page = await new_page()
    await page.goto(f"{server.url}/embed/plenary#token={server.token('Sofia', lang='es')}")
    await expect(page.locator("#room-title")).to_have_text("Pleno")
    await expect(page.locator("#room-title")).to_have_attribute("title", "Original: Plenary")
