"""axe-core finds no violations on each view: the lobby, home with the host panel, a room (with a
moderation menu open and the confirmation dialog), on desktop and phone; focus follows view changes."""
from __future__ import annotations

import pytest
from playwright.async_api import expect

from rooms import Role
from tests.e2e.pages import PHONE, axe_violations, enter_room, say, sign_in, sign_in_with_token

pytestmark = pytest.mark.browser


async def no_violations(page, where: str) -> None:
    found = await axe_violations(page)
    assert not found, f"axe-core on {where}:\n" + "\n".join(found)


async def test_lobby_home_host_panel_and_room_have_no_axe_violations(make_server, new_page):
    server = await make_server()
    witness = await server.client("Otto", user_id="u-otto")
    await witness.join("plenary")
    lobby = await new_page()
    await lobby.goto(server.url)
    await expect(lobby.get_by_test_id("start")).to_be_visible()
    await no_violations(lobby, "the lobby")

    page = await new_page()
    await sign_in_with_token(page, server.url, server.token("Hanna", Role.HOST, "en", user_id="u-hanna"), "Hanna")
    await expect(page.get_by_test_id("host-panel")).to_be_visible()
    await no_violations(page, "home with the host panel")

    await enter_room(page, "plenary")
    await say(page, "Welcome, everyone")
    await no_violations(page, "a room")
    await page.get_by_test_id("mod-u-otto").click()
    await expect(page.get_by_test_id("mod-reason")).to_be_visible()
    await no_violations(page, "a room with a member's moderation menu open")
    await page.get_by_test_id("ban").click()
    await expect(page.get_by_test_id("confirm")).to_be_visible()
    await no_violations(page, "the ban confirmation")
    await page.get_by_test_id("confirm-cancel").click()


async def test_phone_room_has_no_axe_violations(make_server, new_page):
    server = await make_server()
    page = await new_page(viewport=PHONE)
    await sign_in(page, server.url, "Pia", "en")
    await enter_room(page, "plenary")
    await say(page, "Hello from a phone")
    await no_violations(page, "a room on a phone")


async def focused(page) -> str:
    return await page.evaluate("() => document.activeElement?.dataset.testid || document.activeElement?.id || ''")


async def test_keyboard_only_start_enter_write_leave_with_focus_following_each_view(make_server, new_page):
    server = await make_server()
    page = await new_page()
    await page.goto(server.url)
    await page.get_by_test_id("name").focus()
    await page.keyboard.type("Kira")
    await page.keyboard.press("Enter")  # submits the lobby form
    await expect(page.get_by_test_id("me-name")).to_have_text("Kira")
    # focus is on the first room of the list, not lost on the page body
    await expect(page.locator(".room-entry").first).to_be_focused()
    assert (await focused(page)).startswith("room-")

    await page.keyboard.press("Enter")  # enters that room
    await expect(page.locator("#room-view")).to_be_visible()
    await expect(page.get_by_test_id("composer")).to_be_focused()
    await expect(page.get_by_test_id("composer")).to_be_enabled()
    await page.keyboard.type("Typed without a mouse")
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("message")).to_have_count(1)

    # Leave by keyboard: focus lands in the room list again
    await page.get_by_test_id("leave").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#home-view")).to_be_visible()
    await expect(page.locator(".room-entry").first).to_be_focused()


async def test_people_view_has_no_axe_violations(make_server, new_page):
    server = await make_server()
    other = await server.client("Dieter", lang="de", user_id="u-dieter")
    page = await new_page()
    await sign_in(page, server.url, "Ada", "en")
    await page.get_by_test_id("people-open").click()
    await page.get_by_test_id("people-search").click()
    await expect(page.get_by_test_id("person")).to_have_count(1)
    await no_violations(page, "the People view")
    await other.close()
