"""axe-core finds no violations on any view — the lobby, home with the host panel, a room with others'
messages (Report, Delete), a moderation menu open, the confirmation dialog, People, a conversation, a
closed room — at desktop (1280x800) and phone (390x844) sizes; focus follows view changes."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from rooms import Role
from tests.e2e.pages import DESKTOP, PHONE, axe_violations, enter_room, say, sign_in, sign_in_with_token

pytestmark = pytest.mark.browser


async def no_violations(page, where: str) -> None:
    found = await axe_violations(page)
    assert not found, f"axe-core on {where}:\n" + "\n".join(found)


VIEWPORTS = [pytest.param(DESKTOP, id="desktop-1280x800"), pytest.param(PHONE, id="phone-390x844")]


async def open_members(page) -> None:
    """On a phone the member list is a drawer: open it (on a desktop it is always shown)."""
    if await page.get_by_test_id("toggle-members").is_visible():
        await page.get_by_test_id("toggle-members").click()


async def open_rooms(page) -> None:
    """On a phone the room list (with People and conversations) is a drawer: open it."""
    toggle = page.get_by_test_id("toggle-rooms")
    if await toggle.is_visible() and await toggle.get_attribute("aria-expanded") != "true":
        await toggle.click()


async def close_members(page) -> None:
    if (
        await page.get_by_test_id("toggle-members").is_visible()
        and await page.get_by_test_id("toggle-members").get_attribute("aria-expanded") == "true"
    ):
        await page.get_by_test_id("toggle-members").click()


@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_every_view_has_no_axe_violations(make_server, new_page, viewport):
    """The lobby; home with the host panel; a room with others' messages (Report, Delete), a
    moderation menu, the ban confirmation; People; a conversation; a closed room's banner."""
    server = await make_server(conversations={"policy": "open"})
    otto = await server.client("Otto", lang="de", user_id="u-otto")
    await otto.join("plenary")
    lobby = await new_page(viewport=viewport)
    await lobby.goto(server.url)
    await expect(lobby.get_by_test_id("start")).to_be_visible()
    await no_violations(lobby, "the lobby")

    page = await new_page(viewport=viewport)
    await sign_in_with_token(page, server.url, server.token("Hanna", Role.HOST, "en", user_id="u-hanna"), "Hanna")
    await expect(page.get_by_test_id("host-panel")).to_be_visible()
    await no_violations(page, "home with the host panel")

    await enter_room(page, "plenary")
    await say(page, "Welcome, everyone")
    await otto.say("plenary", "Guten Morgen zusammen")
    await expect(page.get_by_test_id("report")).to_have_count(1)
    await no_violations(page, "a room with another's message (Report, Delete)")
    await open_members(page)
    await page.get_by_test_id("mod-u-otto").click()
    await expect(page.get_by_test_id("mod-reason")).to_be_visible()
    await no_violations(page, "a room with a member's moderation menu open")
    await page.get_by_test_id("ban").click()
    await expect(page.get_by_test_id("confirm")).to_be_visible()
    await no_violations(page, "the ban confirmation")
    await page.get_by_test_id("confirm-cancel").click()
    await close_members(page)

    await open_rooms(page)
    await page.get_by_test_id("people-open").click()
    await page.get_by_test_id("people-search").click()
    await expect(page.get_by_test_id("person")).to_have_count(1)
    await no_violations(page, "the People view")

    host_token = server.token("Hanna", Role.HOST, "en", user_id="u-hanna")
    async with server.http() as http:
        response = await http.post(
            "/api/conversations", json={"with": ["u-otto"]}, headers={"Authorization": f"Bearer {host_token}"}
        )
        assert response.status_code in (200, 201), response.text
    conversation = response.json()["room"]["id"]
    await otto.join(conversation)
    await otto.say(conversation, "Hallo Hanna")
    entry = page.locator('[data-testid^="conversation-c-"]')
    await expect(entry).to_have_count(1)
    await open_rooms(page)
    await entry.click()
    await expect(page.get_by_test_id("conversation-leave")).to_be_visible()
    await expect(page.get_by_test_id("message")).to_have_count(1)
    await no_violations(page, "a conversation")

    delegate = await new_page(viewport=viewport)
    await sign_in(delegate, server.url, "Pia", "en")
    await enter_room(delegate, "plenary")
    await no_violations(delegate, "a delegate's room")
    async with server.http() as http:
        await http.patch(
            "/api/rooms/plenary",
            json={"state": "closed"},
            headers={"Authorization": f"Bearer {server.token('H', Role.HOST)}"},
        )
    await expect(delegate.get_by_test_id("room-banner")).to_be_visible()
    await no_violations(delegate, "a room a host closed")
    await otto.close()


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
