"""Matchmaking in the browser: find a person, send a contact request, the other accepts on a phone,
and the two chat in a private conversation, each reading the other translated."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.pages import (
    CONNECTED,
    PHONE,
    language_name,
    message_with_text,
    say,
    screenshot,
    sign_in,
    sign_in_with_token,
    ui,
)

pytestmark = pytest.mark.browser


async def test_request_accept_then_chat_in_a_private_conversation(make_server, new_page, translation_packages):
    server = await make_server(translation={"packages_dir": str(translation_packages)})  # policy: request
    ada, dieter = await new_page(), await new_page(viewport=PHONE)

    # Dieter signs in on his phone with a profile, so the directory can find his organisation
    await dieter.goto(server.url)
    await dieter.get_by_test_id("name").fill("Dieter")
    await dieter.get_by_test_id("lang").select_option("de")
    await dieter.locator("#profile-box summary").click()
    await dieter.get_by_test_id("profile-organization").fill("Sauna Werke")
    await dieter.get_by_test_id("profile-country").fill("de")
    await dieter.get_by_test_id("start").click()
    await expect(dieter.get_by_test_id("conn-status")).to_have_class(CONNECTED)
    await sign_in(ada, server.url, "Ada", "en")

    # Ada finds him in People and writes: with policy `request` that is a contact request
    await ada.get_by_test_id("people-open").click()
    await ada.get_by_test_id("people-q").fill("sauna")
    await ada.get_by_test_id("people-search").click()
    person = ada.get_by_test_id("person")
    await expect(person).to_have_count(1)
    await expect(person).to_contain_text("Dieter")
    await expect(person).to_contain_text("Sauna Werke · DE")
    await person.get_by_test_id("person-contact").click()
    request_text = "Hello Dieter, shall we meet at the fair on Tuesday?"
    await ada.get_by_test_id("contact-text").fill(request_text)
    await ada.get_by_test_id("contact-send").click()
    await expect(ada.get_by_test_id("request-waiting")).to_contain_text("Dieter")

    # Dieter gets the card and accepts: the conversation opens with Ada's text first
    card = dieter.get_by_test_id("request-card")
    await expect(card).to_contain_text(request_text)
    await expect(card).to_contain_text("Ada")
    await screenshot(dieter, "request-phone.png")
    await card.get_by_test_id("request-accept").click()
    await expect(dieter.locator("#room-view")).to_be_visible()
    first = dieter.locator('[data-testid="message"][data-lang="en"]')
    await expect(first).to_have_count(1)
    # he reads German, so his interface is German too
    await expect(first).to_contain_text(ui("de", "msg.translatedFrom", language=await language_name(dieter, "en")))
    await expect(dieter.get_by_test_id("composer")).to_be_enabled()

    # Ada sees the conversation beside the rooms, opens it, and they chat
    await expect(ada.get_by_test_id("request-waiting")).to_have_count(0)
    entry = ada.locator('[data-testid^="conversation-c-"]')
    await expect(entry).to_have_count(1)
    await expect(entry).to_contain_text("Dieter")
    await entry.click()
    await expect(message_with_text(ada, request_text)).to_have_count(1)
    await expect(ada.get_by_test_id("composer")).to_be_enabled()
    await say(dieter, "Guten Tag")
    reply = ada.locator('[data-testid="message"][data-lang="de"]')
    await expect(reply).to_have_count(1)
    await expect(reply).to_contain_text("translated from German")
    await say(ada, "Tuesday at ten, stand 12.")
    await expect(dieter.locator('[data-testid="message"][data-lang="en"]')).to_have_count(2)

    # private: not among the rooms; the conversation has its block and leave actions
    room_id = (await entry.get_attribute("data-testid")).removeprefix("conversation-")
    await expect(ada.get_by_test_id(f"room-{room_id}")).to_have_count(0)
    await expect(ada.get_by_test_id("conversation-block")).to_have_text("Block Dieter")
    await expect(ada.get_by_test_id("conversation-leave")).to_be_visible()
    await screenshot(dieter, "conversation-phone.png")

    # Ada reports Dieter's line: it reaches the moderators (checked on the server's list)
    await reply.get_by_test_id("report").click()
    await expect(ada.get_by_test_id("toast")).to_contain_text("moderators")
    reports = await server.node.stores.conversations.reports()
    assert [r["message"]["text"] for r in reports] == ["Guten Tag"]


async def test_a_group_invitation_is_a_card_and_a_refusal_reads_in_the_readers_language(make_server, new_page):
    server = await make_server()  # policy request
    page = await new_page()
    await sign_in_with_token(page, server.url, server.token("Dieter", lang="de", user_id="u_dieter"), "Dieter")
    for name in ("Cy", "Ada", "Eve"):  # each connects once: a profile in the directory
        await (await server.client(name, user_id=f"u_{name.lower()}")).close()

    def bearer(name: str) -> dict[str, str]:
        return {"authorization": f"Bearer {server.token(name, user_id=f'u_{name.lower()}')}"}

    async with server.http() as http:
        assert (await http.post("/api/blocks", json={"user": "u_dieter"}, headers=bearer("Ada"))).status_code == 201
        started = await http.post(
            "/api/conversations", json={"with": ["u_dieter", "u_eve"], "title": "Solar"}, headers=bearer("Cy")
        )
        assert started.status_code == 201 and "u_dieter" in started.json()["invited"]

    # the invitation is a request card in Dieter's language; accepting it opens the group
    card = page.get_by_test_id("invitation-card")
    await expect(card).to_contain_text(ui("de", "people.invitesTo", name="Cy", title="Solar"))
    await card.get_by_test_id("request-accept").click()
    await expect(page.locator("#room-view")).to_be_visible()
    await expect(page.locator(f'[data-testid="conversation-{started.json()["room"]["id"]}"]')).to_have_count(1)

    # Ada blocks him: his request to her is refused, and he reads why in German
    await page.get_by_test_id("people-open").click()
    await page.get_by_test_id("people-q").fill("Ada")
    await page.get_by_test_id("people-search").click()
    person = page.get_by_test_id("person")
    await expect(person).to_have_count(1)
    await person.get_by_test_id("person-contact").click()
    await page.get_by_test_id("contact-text").fill("Hallo Ada!")
    await page.get_by_test_id("contact-send").click()
    await expect(page.get_by_test_id("toast")).to_contain_text(ui("de", "people.requestRefused.forbidden"))
