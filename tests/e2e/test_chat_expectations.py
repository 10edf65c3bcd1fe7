"""What every chat user expects, in the browser (issue 25): editing one's own message (Edit, or the Up
arrow; Escape cancels) re-translated for a Spanish moderator who sees it was edited; who reacted on a
chip's hover or focus; @-completion of names in Chinese, Cyrillic and Arabic, the mentions sent and
highlighted (in the translation too); unread counts the server keeps (a second device finds the "new
messages" line where the first stopped reading); "X is typing…" in a conversation; and notifications
while the tab is hidden, asked for on a click, muted per room. Desktop and phone, axe-clean."""
from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from rooms import Role
from tests.e2e.pages import (
    PHONE,
    axe_violations,
    enter_room,
    message_with_text,
    messages,
    say,
    screenshot,
    sign_in_with_token,
    ui,
)
from translation.apertium import discover

pytestmark = pytest.mark.browser

ROOM = "plenary"
BEFORE = "Good morning everyone, the session starts in ten minutes"
AFTER = "Good morning everyone, the session starts in twenty minutes"

needs_apertium = pytest.mark.skipif(not discover(), reason="no Apertium pair installed (.ci/system-deps)")


@needs_apertium
@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
async def test_edit_own_message_reaches_a_spanish_moderator_retranslated(make_server, new_page, viewport):
    server = await make_server(translation={"engines": ("apertium",)})
    size = {"viewport": viewport} if viewport else {}
    ada, sofia = await new_page(**size), await new_page(**size)
    await sign_in_with_token(ada, server.url, server.token("Ada", Role.DELEGATE, "en", user_id="u-ada"), "Ada")
    await sign_in_with_token(sofia, server.url, server.token("Sofía", Role.MODERATOR, "es", user_id="u-sofia"),
                             "Sofía")
    for page in (ada, sofia):
        await enter_room(page, ROOM)
    await say(ada, BEFORE)
    spanish = sofia.locator('[data-testid="message"][data-lang="en"]')
    await expect(spanish.get_by_test_id("message-text")).to_contain_text("diez minutos")

    # the Up arrow in the empty composer takes the last message back into it; Escape leaves it as it was
    composer = ada.get_by_test_id("composer")
    await composer.focus()
    await composer.press("ArrowUp")
    await expect(ada.get_by_test_id("edit-bar")).to_be_visible()
    await expect(composer).to_have_value(BEFORE)
    assert not await axe_violations(ada), "axe-core while editing"
    await composer.press("Escape")
    await expect(ada.get_by_test_id("edit-bar")).to_be_hidden()
    await expect(composer).to_have_value("")

    # the Edit button, from the keyboard: the new text goes out with Enter
    mine = message_with_text(ada, BEFORE)
    await mine.get_by_test_id("edit").focus()
    await ada.keyboard.press("Enter")
    await expect(composer).to_have_value(BEFORE)
    await expect(composer).to_be_focused()
    await composer.fill(AFTER)
    await composer.press("Enter")
    await expect(ada.get_by_test_id("edit-bar")).to_be_hidden()
    edited = message_with_text(ada, AFTER)
    await expect(edited.get_by_test_id("edited")).to_have_text(ui("en", "msg.edited"))
    await expect(message_with_text(ada, BEFORE)).to_have_count(0)

    # the Spanish moderator reads the new text in Spanish, marked edited
    await expect(spanish.get_by_test_id("message-text")).to_contain_text("veinte minutos")
    await expect(spanish.get_by_test_id("edited")).to_have_text(ui("es", "msg.edited"))
    assert not await axe_violations(sofia), "axe-core on the moderator's view of an edited message"

    # and the sender may delete it
    await edited.get_by_test_id("delete").click()
    await ada.get_by_test_id("confirm-ok").click()
    await expect(spanish.get_by_test_id("message-text")).to_have_text(ui("es", "msg.deleted"))
