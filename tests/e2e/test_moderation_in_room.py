"""Moderation where it happens: a host acts from the member list and the message list of the room,
offered only what applies, with an optional reason and a confirmation before ban and delete;
appoints a moderator by picking the member; closes a room from the host panel after confirming;
reads plain-language validation errors there and downloads a room's transcript."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.async_api import expect

from rooms import Role
from tests.e2e.pages import enter_room, message_with_text, say, sign_in, sign_in_with_token, ui

pytestmark = pytest.mark.browser

ROOM = "plenary"


async def test_host_moderates_members_in_place_with_reason_and_confirmation(make_server, new_page):
    server = await make_server()
    witness = await server.client("Otto", user_id="u-otto")
    await witness.join(ROOM)
    dora = await server.client("Dora", user_id="u-dora")
    await dora.join(ROOM)

    host = await new_page()
    await sign_in_with_token(host, server.url, server.token("Hanna", Role.HOST, "en", user_id="u-hanna"), "Hanna")
    await enter_room(host, ROOM)
    member = host.get_by_test_id("member-u-dora")

    # the menu offers muting (not unmuting) to a member who is not muted; the reason goes with it
    await member.get_by_test_id("mod-u-dora").click()
    await expect(member.get_by_test_id("unmute")).to_have_count(0)
    await expect(member.get_by_test_id("unban")).to_have_count(0)
    await member.get_by_test_id("mod-reason").fill("off topic")
    await member.get_by_test_id("mute-300").click()
    muted = await witness.expect("moderation", room=ROOM, action="mute", user="u-dora")
    assert muted["reason"] == "off topic"
    await expect(member).to_contain_text("muted")
    await expect(host.get_by_test_id("system-line").filter(has_text="off topic")).to_have_count(1)

    # now it offers unmuting only
    await member.get_by_test_id("mod-u-dora").click()
    await expect(member.get_by_test_id("mute-300")).to_have_count(0)
    await member.get_by_test_id("unmute").click()
    await witness.expect("moderation", room=ROOM, action="unmute", user="u-dora")

    # ban asks first: cancelling does nothing
    await member.get_by_test_id("mod-u-dora").click()
    await member.get_by_test_id("ban").click()
    dialog = host.get_by_test_id("confirm")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("Dora")
    await host.get_by_test_id("confirm-cancel").click()
    await expect(dialog).to_be_hidden()
    await expect(host.get_by_test_id("ban")).to_be_focused()  # focus returns to the button that asked
    await witness.silent("moderation")

    # confirming bans, with the reason typed in the dialog
    await host.get_by_test_id("ban").click()
    await host.get_by_test_id("confirm-reason").fill("repeated insults")
    await host.get_by_test_id("confirm-ok").click()
    banned = await witness.expect("moderation", room=ROOM, action="ban", user="u-dora")
    assert banned["reason"] == "repeated insults"
    await dora.expect("left", room=ROOM, reason="banned")

    # the banned member is listed apart, with Unban as the only action
    entry = host.locator("#banned-list").get_by_test_id("member-u-dora")
    await entry.get_by_test_id("mod-u-dora").click()
    await expect(entry.get_by_test_id("kick")).to_have_count(0)
    await entry.get_by_test_id("unban").click()
    await witness.expect("moderation", room=ROOM, action="unban", user="u-dora")


async def test_host_deletes_a_message_after_confirming_and_appoints_a_moderator_by_picking(make_server, new_page):
    server = await make_server()
    otto = await server.client("Otto", user_id="u-otto")
    await otto.join(ROOM)
    host = await new_page()
    await sign_in_with_token(host, server.url, server.token("Hanna", Role.HOST, "en", user_id="u-hanna"), "Hanna")
    await enter_room(host, ROOM)

    ack = await otto.say(ROOM, "A message to remove")
    message = message_with_text(host, "A message to remove")
    await expect(message).to_have_count(1)
    await message.hover()
    await message.get_by_test_id("delete").click()
    await expect(host.get_by_test_id("confirm")).to_contain_text("A message to remove")
    await host.get_by_test_id("confirm-cancel").click()
    await expect(message).to_have_count(1)
    await otto.silent("deleted")

    await message.hover()
    await message.get_by_test_id("delete").click()
    await host.get_by_test_id("confirm-ok").click()
    await otto.expect("deleted", room=ROOM, id=ack["id"])
    deleted = host.locator(f'[data-testid="message"][data-id="{ack["id"]}"]')
    await expect(deleted).to_have_class(re.compile(r"\bdeleted\b"))

    # appoint: pick the member, no id to type; the menu then offers the opposite
    member = host.get_by_test_id("member-u-otto")
    await member.get_by_test_id("mod-u-otto").click()
    await expect(member.get_by_test_id("remove-mod")).to_have_count(0)
    await member.get_by_test_id("appoint-mod").click()
    await expect(host.get_by_test_id("toast")).to_contain_text("Otto")
    assert "u-otto" in await server.node.stores.moderation.moderators(ROOM)
    await member.get_by_test_id("mod-u-otto").click()
    await expect(member.get_by_test_id("appoint-mod")).to_have_count(0)
    await expect(member.get_by_test_id("remove-mod")).to_have_count(1)

    # Otto's role is now moderator: rejoining shows the badge to everyone
    await otto.send({"type": "leave", "room": ROOM})
    await otto.expect("left")
    await otto.join(ROOM)
    await expect(host.get_by_test_id("member-u-otto").get_by_test_id("role-badge")).to_have_text("moderator")


async def test_a_delegate_deletes_their_own_message_and_a_moderator_gets_no_delete_on_a_hosts(make_server, new_page):
    server = await make_server()
    hana = await server.client("Hana", role=Role.HOST, user_id="u-hana")
    await hana.join(ROOM)
    otto = await server.client("Otto", user_id="u-otto")
    await otto.join(ROOM)
    page = await new_page()
    await sign_in(page, server.url, "Dora", "en")
    await enter_room(page, ROOM)
    await otto.say(ROOM, "Otto was here")
    hosts = await hana.say(ROOM, "The agenda")

    own_id = await (await say(page, "A typo of mine")).get_attribute("data-id")
    own = page.locator(f'[data-testid="message"][data-id="{own_id}"]')
    await expect(message_with_text(page, "Otto was here")).to_have_count(1)
    await expect(message_with_text(page, "Otto was here").get_by_test_id("delete")).to_have_count(0)
    await own.hover()
    button = own.get_by_test_id("delete")
    await expect(button).to_have_attribute("aria-label", ui("en", "msg.deleteOwnLabel"))
    await button.click()
    await expect(page.get_by_test_id("confirm")).to_contain_text(ui("en", "confirm.deleteOwnTitle"))
    await page.get_by_test_id("confirm-ok").click()
    deleted = await otto.expect("deleted", room=ROOM, id=own_id)
    assert deleted["by"]["name"] == "Dora"
    await expect(own).to_have_class(re.compile(r"\bdeleted\b"))

    moderator = await new_page()
    await sign_in_with_token(
        moderator, server.url, server.token("Mona", Role.MODERATOR, "en", user_id="u-mona"), "Mona"
    )
    await enter_room(moderator, ROOM)
    await expect(moderator.locator(f'[data-testid="message"][data-id="{hosts["id"]}"]')).to_have_count(1)
    await expect(
        moderator.locator(f'[data-testid="message"][data-id="{hosts["id"]}"] [data-testid="delete"]')
    ).to_have_count(0)
    await expect(message_with_text(moderator, "Otto was here").get_by_test_id("delete")).to_have_count(1)
    # the member list offers the moderator no ⋯ on the host either, only on delegates
    await expect(moderator.get_by_test_id("mod-u-otto")).to_have_count(1)
    await expect(moderator.get_by_test_id("mod-u-hana")).to_have_count(0)


async def test_an_event_wide_ban_takes_the_person_back_to_the_lobby_and_the_app_stops_reconnecting(
    make_server, new_page
):
    server = await make_server()
    moderator = await server.client("Mona", role=Role.MODERATOR, user_id="u-mona")
    await moderator.join(ROOM)
    page = await new_page()
    sockets: list[object] = []
    page.on("websocket", lambda socket: sockets.append(socket))
    await sign_in(page, server.url, "Dora", "fr")
    await enter_room(page, ROOM)
    dora = (await moderator.expect("presence", event="join"))["user"]["id"]
    await moderator.send({"type": "ban", "room": "*", "user": dora, "ref": "b"})
    await moderator.expect("ack", ref="b")
    await expect(page.locator("#lobby-error")).to_have_text(ui("fr", "session.bannedEvent"), timeout=15_000)
    await expect(page.get_by_test_id("start")).to_be_visible()
    opened = len(sockets)
    assert opened == 2  # the first connection, and the one whose `auth` was refused
    await page.wait_for_timeout(2000)  # the app retries 0.5-1 s after a drop: here it must not
    assert len(sockets) == opened


async def test_closing_a_room_from_the_host_panel_asks_first(make_server, new_page):
    server = await make_server()
    delegate = await server.client("Otto", user_id="u-otto")
    await delegate.join("climate")
    host = await new_page()
    await sign_in_with_token(host, server.url, server.token("Hanna", Role.HOST, "en", user_id="u-hanna"), "Hanna")
    await host.get_by_test_id("host-room").select_option("climate")
    await host.get_by_test_id("host-close").click()
    await expect(host.get_by_test_id("confirm")).to_be_visible()
    await host.get_by_test_id("confirm-cancel").click()
    await delegate.silent("left")
    await host.get_by_test_id("host-close").click()
    await host.get_by_test_id("confirm-ok").click()
    await delegate.expect("left", room="climate", reason="closed")
    await expect(host.get_by_test_id("host-status")).to_have_text("Room closed.")


async def test_host_panel_words_validation_errors_and_downloads_the_transcript(
    make_server, new_page, translation_packages
):
    server = await make_server(translation={"packages_dir": str(translation_packages)})
    ada = await server.client("Ada", lang="en", user_id="u-ada")
    dieter = await server.client("Dieter", lang="de", user_id="u-dieter")
    for client in (ada, dieter):
        await client.join(ROOM)
    said = await ada.say(ROOM, "The plenary session starts in ten minutes in the main hall.")
    german = await dieter.expect("translation", id=said["id"])

    host = await new_page()
    await sign_in_with_token(host, server.url, server.token("Hanna", Role.HOST, "en", user_id="u-hanna"), "Hanna")
    status = host.get_by_test_id("host-status")

    # plain words, from the field the server names, never the developer message
    await host.get_by_test_id("host-open-id").fill("Energy Panel")
    await host.get_by_test_id("host-open-title").fill("Energy panel")
    await host.get_by_test_id("host-open").click()
    await expect(status).to_contain_text("may use only lowercase letters")
    await host.get_by_test_id("host-open-id").fill(ROOM)
    await host.get_by_test_id("host-open").click()
    await expect(status).to_contain_text("exists already. Pick another id")
    await expect(status).not_to_contain_text("PATCH")

    # the transcript of the plenary, with the German translations, as CSV
    await host.get_by_test_id("host-room").select_option(ROOM)
    await host.get_by_test_id("host-export-lang").select_option("de")
    await host.get_by_test_id("host-export-format").select_option("csv")
    async with host.expect_download() as info:
        await host.get_by_test_id("host-export").click()
    download = await info.value
    assert download.suggested_filename == f"{ROOM}-transcript-de.csv"
    rows = list(csv.DictReader(io.StringIO(Path(await download.path()).read_text(encoding="utf-8"))))
    assert [(r["sender"], r["translation"]) for r in rows] == [("Ada", german["text"])]
