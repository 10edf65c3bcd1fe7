"""Unread counts that follow the person live (issue 25, round 4): a read on the phone clears the
laptop's count and "new messages" line at once; a private message in any conversation — not only
the ten the app joins in the background — counts in the sidebar and notifies while the tab is hidden."""

from __future__ import annotations

import json

import pytest
from playwright.async_api import Page, expect

from rooms import Role
from tests.e2e.pages import PHONE, axe_violations, enter_room, sign_in_with_token, ui
from tests.e2e.test_chat_expectations import FAKE_NOTIFICATIONS, notifications

pytestmark = pytest.mark.browser

ROOM = "plenary"
WATCHED = 10  # view-people.js WATCH_MAX: conversations the app joins in the background


async def go(page: Page, room: str) -> None:
    """Open a room from the sidebar, a drawer on a phone."""
    toggle = page.get_by_test_id("toggle-rooms")
    if await toggle.is_visible() and await toggle.get_attribute("aria-expanded") != "true":
        await toggle.click()
    await enter_room(page, room)


async def test_a_read_on_the_phone_clears_the_laptops_count_and_line_at_once(make_server, new_page):
    server = await make_server()
    otto = await server.client("Otto", user_id="u-otto")
    await otto.join(ROOM)
    token = server.token("Dora", Role.DELEGATE, "en", user_id="u-dora")
    laptop, phone = await new_page(), await new_page(viewport=PHONE)
    for page in (laptop, phone):
        await sign_in_with_token(page, server.url, token, "Dora")
        await go(page, ROOM)
        await go(page, "climate")
    for n in (1, 2, 3):
        await otto.say(ROOM, f"Point {n}")
    laptop_badge = laptop.get_by_test_id(f"room-{ROOM}").get_by_test_id("unread")
    await expect(laptop_badge).to_have_text("3")
    climate = await laptop.get_by_test_id("room-climate").locator(".room-name").inner_text()
    await expect(laptop).to_have_title(f"(3) {climate} · babelroom")

    await go(phone, ROOM)  # she reads them on the phone: the laptop knows at once, untouched
    await expect(laptop_badge).to_have_count(0)
    await expect(laptop).to_have_title(f"{climate} · babelroom")
    await go(laptop, ROOM)
    await expect(laptop.get_by_test_id("unread-line")).to_have_count(0)  # nothing new there for her

    # one more, read on neither; then on the phone: the laptop's line moves with the count
    await go(laptop, "climate")
    await go(phone, "climate")
    await otto.say(ROOM, "Point 4")
    await expect(laptop_badge).to_have_text("1")
    await go(phone, ROOM)
    await expect(laptop_badge).to_have_count(0)
    assert not await axe_violations(laptop), "axe-core after a read on another device"


async def test_every_conversation_counts_and_notifies_not_only_the_watched_ones(make_server, new_page):
    server = await make_server(conversations={"policy": "open"})
    page = await new_page()
    sent: list[dict[str, str]] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(json.loads(payload))))
    await page.add_init_script(FAKE_NOTIFICATIONS)
    await sign_in_with_token(page, server.url, server.token("Dora", Role.DELEGATE, "en", user_id="u-dora"), "Dora")
    await enter_room(page, ROOM)
    await page.get_by_test_id("notify-enable").click()
    writers, rooms = [], []
    for n in range(WATCHED + 2):  # more conversations than the app joins in the background
        name = f"Writer{n}"
        writer = await server.client(name, user_id=f"u-w{n}")
        async with server.http() as http:
            response = await http.post(
                "/api/conversations",
                json={"with": ["u-dora"]},
                headers={"Authorization": f"Bearer {server.token(name, user_id=f'u-w{n}')}"},
            )
        assert response.status_code == 201, response.text
        rooms.append(response.json()["room"]["id"])
        await writer.join(rooms[-1])
        writers.append(writer)
    for room in rooms:
        await expect(page.get_by_test_id(f"conversation-{room}")).to_have_count(1)
    await page.evaluate("() => window.__setHidden(true)")
    for n, (writer, room) in enumerate(zip(writers, rooms, strict=True)):
        await writer.say(room, f"Hello from {n}")
    for room in rooms:  # every one counted in the sidebar at once (the list's refresh is 20 s away)
        await expect(page.get_by_test_id(f"conversation-{room}").get_by_test_id("unread")).to_have_text("1")
    await page.wait_for_function(f"() => window.__notifications.length === {len(rooms)}")
    titles = sorted(n["title"] for n in await notifications(page))
    assert titles == sorted(ui("en", "notify.private", name=f"Writer{n}") for n in range(len(rooms)))
    joined = {f["room"] for f in sent if f.get("type") == "join"} & set(rooms)
    assert len(joined) <= WATCHED < len(rooms), "some conversations were never joined, and they count too"
    await page.evaluate("() => window.__setHidden(false)")
    assert not await axe_violations(page), "axe-core with every conversation counted"
