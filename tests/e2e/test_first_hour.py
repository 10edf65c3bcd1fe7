"""What a first hour tripped on (issue 21), as the person sees it: the slow-mode line in Spanish, a
moderator appointed while in the room, refusals worded from their code with the time formatted, no
Retry for a ban, a reopened room that lets its members back in at once, one Leave in a conversation."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import expect

from rooms import Role
from tests.e2e.pages import enter_room, say, sign_in, sign_in_with_token, ui

pytestmark = pytest.mark.browser

ROOM = "plenary"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def host_http(server, method: str, path: str, **kwargs) -> httpx.Response:
    async with server.http() as http:
        response = await http.request(
            method, path, headers=bearer(server.token("Hanna", Role.HOST, user_id="u-hanna")), **kwargs
        )
    assert response.status_code < 300, response.text
    return response


async def test_the_slow_mode_countdown_in_spanish_has_a_number_and_no_braces(make_server, new_page):
    server = await make_server()
    await host_http(server, "PATCH", f"/api/rooms/{ROOM}", json={"slow_mode": 60})
    page = await new_page()
    await sign_in(page, server.url, "Lucía", "es")
    await enter_room(page, ROOM)
    await say(page, "Hola a todos")
    info = page.get_by_test_id("composer-info")
    await expect(info).to_contain_text("Modo lento")
    await expect(info).to_have_text(re.compile(r"\d+ segundos"))
    assert "{" not in await info.inner_text()
    await expect(page.get_by_test_id("send")).to_be_disabled()


async def test_an_appointed_moderator_gets_controls_badge_and_a_notice_without_reloading(make_server, new_page):
    server = await make_server()
    otto = await server.client("Otto", user_id="u-otto")
    await otto.join(ROOM)
    await otto.say(ROOM, "A message Dora may soon delete")

    dora = await new_page()
    await sign_in_with_token(dora, server.url, server.token("Dora", Role.DELEGATE, "en", user_id="u-dora"), "Dora")
    await enter_room(dora, ROOM)
    await expect(dora.get_by_test_id("mod-u-otto")).to_have_count(0)
    await expect(dora.get_by_test_id("delete")).to_have_count(0)

    host = await new_page()
    await sign_in_with_token(host, server.url, server.token("Hanna", Role.HOST, "en", user_id="u-hanna"), "Hanna")
    await enter_room(host, ROOM)
    await host.get_by_test_id("member-u-dora").get_by_test_id("mod-u-dora").click()
    await host.get_by_test_id("appoint-mod").click()
    await expect(host.get_by_test_id("toast")).to_have_text(ui("en", "mod.appointedToast", name="Dora"))
    # everyone's member list shows the badge at once
    await expect(host.get_by_test_id("member-u-dora").get_by_test_id("role-badge")).to_have_text("moderator")

    # Dora: a notice naming the host, her badge, and the controls, with no reload and no rejoin
    await expect(dora.get_by_test_id("toast")).to_contain_text("Hanna")
    await expect(dora.get_by_test_id("system-line").filter(has_text="Hanna")).to_have_count(1)
    await expect(dora.get_by_test_id("member-u-dora").get_by_test_id("role-badge")).to_have_text("moderator")
    await expect(dora.locator("#room-sub")).to_contain_text("you are a moderator")
    await expect(dora.get_by_test_id("mod-u-otto")).to_have_count(1)
    await expect(dora.get_by_test_id("delete")).to_have_count(1)
    await dora.get_by_test_id("mod-u-otto").click()
    await dora.get_by_test_id("mute-300").click()
    await otto.expect("moderation", room=ROOM, action="mute", user="u-otto")

    # ending it from the host panel by id: the status line names her, never the id
    await host.get_by_test_id("leave").click()
    await host.get_by_test_id("host-room").select_option(ROOM)
    await host.get_by_test_id("host-mod-user").fill("u-dora")
    await host.get_by_test_id("host-mod-remove").click()
    await expect(host.get_by_test_id("host-status")).to_have_text(ui("en", "host.unappointed", name="Dora"))
    await expect(dora.get_by_test_id("mod-u-otto")).to_have_count(0)
    await expect(dora.get_by_test_id("member-u-dora").get_by_test_id("role-badge")).to_have_count(0)
    await expect(dora.get_by_test_id("system-line").filter(has_text="Hanna")).to_have_count(2)


async def test_a_cooldown_refusal_reads_in_23_hours_in_the_persons_language(make_server, new_page):
    server = await make_server(conversations={"cooldown": 23 * 3600})
    cy = await server.client("Cy", user_id="u-cy")
    page = await new_page()
    await sign_in_with_token(page, server.url, server.token("Ana", Role.DELEGATE, "es", user_id="u-ana"), "Ana")

    async def write_to_cy(text: str) -> None:
        await page.get_by_test_id("people-open").click()
        await page.get_by_test_id("people-search").click()
        await page.get_by_test_id("person").filter(has_text="Cy").get_by_test_id("person-contact").click()
        await page.get_by_test_id("contact-text").fill(text)
        await page.get_by_test_id("contact-send").click()

    await write_to_cy("Hola Cy")
    card = await cy.expect("request")
    await cy.send({"type": "decline", "request": card["id"], "ref": "d"})
    await cy.expect("ack", ref="d")
    await expect(page.get_by_test_id("request-waiting")).to_have_count(0)

    await write_to_cy("¿Otra vez?")
    toast = page.get_by_test_id("toast")
    await expect(toast).to_contain_text("dentro de 23 horas")
    text = await toast.inner_text()
    assert "person did not accept" not in text and " s" not in text and "{" not in text
    await expect(toast).to_be_hidden(timeout=30_000)  # a toast, not a red line that stays


async def test_a_banned_member_is_offered_no_retry(make_server, new_page):
    server = await make_server()
    host = await server.client("Hanna", role=Role.HOST, user_id="u-hanna")
    await host.join(ROOM)
    page = await new_page()
    await sign_in_with_token(page, server.url, server.token("Dora", Role.DELEGATE, "en", user_id="u-dora"), "Dora")
    await enter_room(page, ROOM)
    await host.send({"type": "ban", "room": ROOM, "user": "u-dora", "ref": "b"})
    await host.expect("ack", ref="b")
    banner = page.get_by_test_id("room-banner")
    await expect(banner).to_contain_text(ui("en", "left.banned", room="Plenary").split("“")[0])
    await expect(page.get_by_test_id("rejoin")).to_have_count(0)
    # picking the room again asks the server, which refuses: still no Retry
    await page.get_by_test_id(f"room-{ROOM}").click()
    await expect(banner).to_contain_text(ui("en", "error.banned"))
    await expect(page.get_by_test_id("rejoin")).to_have_count(0)
    await expect(page.get_by_test_id("composer")).to_be_disabled()


async def test_reopening_a_closed_room_lets_its_members_back_in_at_once(make_server, new_page):
    server = await make_server()
    page = await new_page()
    await sign_in(page, server.url, "Dora", "en")
    await enter_room(page, ROOM)
    await host_http(server, "PATCH", f"/api/rooms/{ROOM}", json={"state": "closed"})
    banner = page.get_by_test_id("room-banner")
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text("closed")
    await expect(page.get_by_test_id("composer")).to_be_disabled()

    await host_http(server, "PATCH", f"/api/rooms/{ROOM}", json={"state": "open"})
    await expect(banner).to_be_hidden()
    await expect(page.get_by_test_id("composer")).to_be_enabled()
    await say(page, "Back in without clicking anything")


async def test_send_is_offered_to_the_roles_the_server_says_may_write(make_server, new_page):
    """The composer follows the room's `writers` (the server's rule, not the app's): a room turned
    read-only stops a delegate's Send and says why, and an appointment there gives it back at once."""
    server = await make_server()
    page = await new_page()
    await sign_in_with_token(page, server.url, server.token("Dora", Role.DELEGATE, "en", user_id="u-dora"), "Dora")
    await enter_room(page, ROOM)
    composer, notice = page.get_by_test_id("composer"), page.get_by_test_id("readonly-notice")
    await expect(composer).to_be_enabled()
    await expect(notice).to_be_hidden()
    await host_http(server, "PATCH", f"/api/rooms/{ROOM}", json={"state": "read_only"})
    await expect(composer).to_be_disabled()
    await expect(notice).to_be_visible()
    await host_http(server, "POST", f"/api/rooms/{ROOM}/moderators", json={"user": "u-dora"})
    await expect(composer).to_be_enabled()
    await expect(notice).to_be_hidden()
    await say(page, "Moderators write in read-only rooms")


async def test_a_conversation_shows_one_leave_button(make_server, new_page):
    server = await make_server(conversations={"policy": "open"})
    bo = await server.client("Bo", user_id="u-bo")
    token = server.token("Ada", Role.DELEGATE, "en", user_id="u-ada")
    page = await new_page()
    await sign_in_with_token(page, server.url, token, "Ada")
    async with server.http() as http:
        response = await http.post("/api/conversations", json={"with": ["u-bo"]}, headers=bearer(token))
    assert response.status_code in (200, 201), response.text
    entry = page.locator('[data-testid^="conversation-c-"]')
    await expect(entry).to_have_count(1)
    await entry.click()
    await expect(page.get_by_test_id("composer")).to_be_enabled()
    leave_buttons = page.locator("#room-view button:visible", has_text=re.compile(r"\bLeave\b"))
    await expect(leave_buttons).to_have_count(1)
    await expect(page.get_by_test_id("conversation-leave")).to_be_visible()
    await expect(page.get_by_test_id("leave")).to_be_hidden()
    # a room keeps its own Leave
    await page.get_by_test_id(f"room-{ROOM}").click()
    await expect(page.get_by_test_id("leave")).to_be_visible()
    await bo.close()


async def test_a_rate_limit_refusal_says_when_in_the_persons_language(make_server, new_page):
    server = await make_server(limits={"rate_per_second": 1 / 3600, "rate_burst": 1})
    page = await new_page()
    await sign_in(page, server.url, "Lucía", "es")
    await enter_room(page, ROOM)
    await say(page, "Uno")
    await page.get_by_test_id("composer").fill("Dos")
    await page.get_by_test_id("send").click()
    info = page.get_by_test_id("composer-info")
    await expect(info).to_have_text(ui("es", "error.rate_limited.after", when="dentro de 1 hora"))
    await expect(page.get_by_test_id("composer")).to_have_value("Dos")  # nothing lost
