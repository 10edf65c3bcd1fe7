"""Fixes seen by delegates: the slow-mode countdown ends when a host turns slow mode off; the kick
banner names the room and goes away on rejoining; role badges show however the host arrived;
two people with the same name can be told apart."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import expect

from rooms import Role
from tests.e2e.pages import enter_room, message_with_text, say, sign_in

pytestmark = pytest.mark.browser

ROOM = "plenary"


async def patch_room(server, changes: dict[str, Any]) -> None:
    async with server.http() as http:
        response = await http.patch(
            f"/api/rooms/{ROOM}", json=changes, headers={"authorization": f"Bearer {server.token('Hanna', Role.HOST)}"}
        )
    assert response.status_code == 200, response.text


async def test_slow_mode_countdown_stops_when_the_host_turns_it_off(make_server, new_page):
    server = await make_server()
    page = await new_page()
    await sign_in(page, server.url, "Dora", "en")
    await enter_room(page, ROOM)
    await patch_room(server, {"slow_mode": 600})
    await expect(page.get_by_test_id("room-banner")).to_contain_text("Slow mode")
    await say(page, "First message under slow mode")
    await expect(page.get_by_test_id("composer-info")).to_contain_text("you can send again in")
    await expect(page.get_by_test_id("send")).to_be_disabled()

    await patch_room(server, {"slow_mode": 0})
    await expect(page.get_by_test_id("send")).to_be_enabled()
    await expect(page.get_by_test_id("composer-info")).not_to_contain_text("you can send again")
    await expect(page.get_by_test_id("room-banner")).to_be_hidden()
    await say(page, "Second message, slow mode is off")


async def test_the_kick_banner_names_the_room_and_goes_away_on_rejoining(make_server, new_page):
    server = await make_server()
    moderator = await server.client("Mona", role=Role.MODERATOR, user_id="u-mona")
    await moderator.join(ROOM)
    page = await new_page()
    await sign_in(page, server.url, "Dora", "en")
    await enter_room(page, "climate")  # in a second room too: the kick is from one room only
    await enter_room(page, ROOM)
    dora = (await moderator.expect("presence", event="join"))["user"]["id"]

    await moderator.send({"type": "kick", "room": ROOM, "user": dora, "ref": "k"})
    await moderator.expect("ack", ref="k")
    banner = page.get_by_test_id("room-banner")
    await expect(banner).to_contain_text("Plenary")
    await expect(banner).to_contain_text("removed you")
    await expect(page.get_by_test_id("toast")).not_to_contain_text("every room")

    await page.get_by_test_id("rejoin").click()
    await expect(page.get_by_test_id("composer")).to_be_enabled()
    await expect(banner).to_be_hidden()

    # kicked again, then rejoining by picking the room from the list works the same
    await moderator.send({"type": "kick", "room": ROOM, "user": dora, "ref": "k2"})
    await expect(banner).to_contain_text("Plenary")
    await page.get_by_test_id(f"room-{ROOM}").click()
    await expect(banner).to_be_hidden()
    await say(page, "Back again")


async def test_role_badges_show_for_hosts_who_arrive_before_or_after(make_server, new_page):
    server = await make_server()
    before = await server.client("Hanna", role=Role.HOST, user_id="u-hanna")
    await before.join(ROOM)
    page = await new_page()
    await sign_in(page, server.url, "Dora", "en")
    await enter_room(page, ROOM)
    await expect(page.get_by_test_id("member-u-hanna").get_by_test_id("role-badge")).to_have_text("host")

    after = await server.client("Mona", role=Role.MODERATOR, user_id="u-mona")
    await after.join(ROOM)
    await expect(page.get_by_test_id("member-u-mona").get_by_test_id("role-badge")).to_have_text("moderator")


async def test_two_people_with_the_same_name_are_told_apart(make_server, new_page):
    server = await make_server()
    first = await server.client("Ana", user_id="u-ana-1111")
    second = await server.client("Ana", user_id="u-ana-2222")
    for client in (first, second):
        await client.join(ROOM)
    page = await new_page()
    await sign_in(page, server.url, "Dora", "en")
    await enter_room(page, ROOM)
    await expect(page.get_by_test_id("member-u-ana-1111")).to_contain_text("Ana (#1111)")
    await expect(page.get_by_test_id("member-u-ana-2222")).to_contain_text("Ana (#2222)")
    await first.say(ROOM, "Hola desde la primera Ana")
    said = message_with_text(page, "Hola desde la primera Ana")
    await expect(said.locator(".msg-author")).to_have_text(re.compile(r"Ana\s*\(#1111\)"))
