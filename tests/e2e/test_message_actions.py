"""Replies, reactions, edits and mentions in the browser (issue 25): a delegate answers a message,
reacts to it, sees the sender's edit and hears of a mention, with no axe-core violation."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from rooms import Role
from tests.e2e.pages import PHONE, axe_violations, enter_room, message_with_text, say, sign_in_with_token, ui

pytestmark = pytest.mark.browser

ROOM = "plenary"


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
async def test_reply_react_see_an_edit_and_a_mention(make_server, new_page, viewport):
    server = await make_server(limits={"reaction_window": 0})
    otto = await server.client("Otto", user_id="u-otto")
    await otto.join(ROOM)
    page = await new_page(**({"viewport": viewport} if viewport else {}))
    await sign_in_with_token(page, server.url, server.token("Dora", Role.DELEGATE, "en", user_id="u-dora"), "Dora")
    await enter_room(page, ROOM)

    question = await otto.say(ROOM, "Where is the coffee?")
    asked = message_with_text(page, "Where is the coffee?")
    await expect(asked).to_have_count(1)

    # reply: the bar says to whom, the sent message carries the quote
    await asked.get_by_test_id("reply").click()
    await expect(page.get_by_test_id("reply-bar")).to_contain_text(ui("en", "msg.replyingTo", name="Otto"))
    answer = await say(page, "Downstairs")
    await expect(answer.get_by_test_id("quote")).to_contain_text("Where is the coffee?")
    await expect(page.get_by_test_id("reply-bar")).to_be_hidden()
    reply = await otto.expect("message", room=ROOM, text="Downstairs")
    assert reply["reply_to"]["id"] == question["id"]

    # react: the picker, then the count on the message; a click on the count takes it back
    await asked.get_by_test_id("react").click()
    await expect(asked.get_by_test_id("react-with")).to_have_count(6)
    assert not await axe_violations(page), "axe-core on a room with a quote and an open reaction picker"
    await asked.locator('[data-testid="react-with"][data-emoji="👍"]').click()
    assert (await otto.expect("reaction", id=question["id"]))["count"] == 1
    chip = asked.locator('[data-testid="reaction"][data-emoji="👍"]')
    await expect(chip).to_have_text("👍 1")
    await chip.click()
    assert (await otto.expect("reaction", id=question["id"]))["count"] == 0
    await expect(chip).to_have_count(0)

    # Otto edits: Dora sees the new text, marked edited
    await otto.send({"type": "edit", "room": ROOM, "id": question["id"], "text": "Where is the tea?", "ref": "e"})
    await otto.expect("ack", ref="e")
    edited = message_with_text(page, "Where is the tea?")
    await expect(edited).to_have_count(1)
    await expect(edited.get_by_test_id("edited")).to_have_text(ui("en", "msg.edited"))

    assert not await axe_violations(page), "axe-core on a room with reactions, a reply and an edit"

    # a mention in the plenary reaches Dora while she reads another room
    if viewport is None:  # (the phone's room list is a drawer: the desktop shows the same)
        await enter_room(page, "climate")
        await otto.say(ROOM, "@Dora thanks", mentions=["u-dora"])
        await expect(page.locator("#toast")).to_have_text(ui("en", "msg.mentioned", name="Otto", room="Plenary"))


async def test_a_click_on_a_quote_brings_its_original_into_view_loading_older_pages(make_server, new_page):
    """The quoted message is 130 messages back, older than the page the room opens with: a click (or
    Enter) on the quote loads the older pages that hold it and shows it, marked for a moment."""
    server = await make_server(limits={"rate_per_second": 1000.0, "rate_burst": 1000})
    otto = await server.client("Otto", user_id="u-otto")
    await otto.join(ROOM)
    first = await otto.say(ROOM, "Where do the buses leave from?")
    for number in range(130):
        await otto.say(ROOM, f"line {number}")
    await otto.say(ROOM, "From the main gate", reply_to=first["id"])
    page = await new_page()
    await sign_in_with_token(page, server.url, server.token("Dora", Role.DELEGATE, "en", user_id="u-dora"), "Dora")
    await enter_room(page, ROOM)
    answer = message_with_text(page, "From the main gate")
    await expect(answer).to_have_count(1)
    original = message_with_text(page, "Where do the buses leave from?")
    await expect(original).to_have_count(0)  # not in the page the room opened with

    await answer.get_by_test_id("quote").focus()
    await page.keyboard.press("Enter")
    await expect(original).to_have_count(1)
    await expect(original).to_be_in_viewport()
    await expect(original).to_have_class(re.compile(r"\brevealed\b"))
    await expect(original).to_be_focused()
    assert not await axe_violations(page), "axe-core with a revealed original"

    # back at the end, a click on the quote now finds the original at once
    if await page.get_by_test_id("jump-latest").is_visible():
        await page.get_by_test_id("jump-latest").click()
    await answer.get_by_test_id("quote").click()
    await expect(original).to_be_in_viewport()
