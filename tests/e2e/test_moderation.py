"""A moderator mutes a delegate from the member list: the delegate's page shows it and cannot send."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from rooms import Role
from tests.e2e.pages import enter_room, message_with_text, say, sign_in_with_token

pytestmark = pytest.mark.browser

ROOM = "plenary"


async def test_muted_delegate_sees_it_and_cannot_send(make_server, new_page):
    server = await make_server()
    witness = await server.client("Otto", user_id="u-otto")  # a third member, over the protocol
    await witness.join(ROOM)

    moderator, delegate = await new_page(), await new_page()
    await sign_in_with_token(
        moderator, server.url, server.token("Mona", Role.MODERATOR, "en", user_id="u-mona"), "Mona"
    )
    await sign_in_with_token(delegate, server.url, server.token("Dora", Role.DELEGATE, "en", user_id="u-dora"), "Dora")
    await enter_room(moderator, ROOM)
    await enter_room(delegate, ROOM)
    await expect(delegate.get_by_test_id("mod-u-mona")).to_have_count(0)  # delegates get no moderation menu

    await say(delegate, "Hello before the mute")
    await witness.expect("message", room=ROOM, text="Hello before the mute")

    # the moderator mutes Dora through her entry in the member list
    member = moderator.get_by_test_id("member-u-dora")
    await expect(member).to_contain_text("Dora")
    await member.get_by_test_id("mod-u-dora").click()
    await member.get_by_test_id("mute-3600").click()
    await expect(member.get_by_test_id("mute-3600")).to_have_count(0)  # the menu closes once it is done
    await expect(member).to_contain_text("muted")
    await witness.expect("moderation", room=ROOM, action="mute", user="u-dora")

    # Dora's page says so and will not send
    notice = delegate.get_by_test_id("muted-notice")
    await expect(notice).to_be_visible()
    await expect(notice).to_contain_text("You are muted in this room until")
    await expect(delegate.get_by_test_id("composer")).to_be_disabled()
    await expect(delegate.get_by_test_id("send")).to_be_disabled()
    await expect(delegate.get_by_test_id("system-line").filter(has_text="muted you")).to_have_count(1)

    # Even with the controls forced back on (as devtools could), the server refuses the message.
    # One script, so no redraw can disable them again between typing and sending.
    await delegate.evaluate("""() => {
        const composer = document.getElementById('composer'), send = document.getElementById('send');
        composer.disabled = send.disabled = false;
        composer.value = 'Sneaking past the mute';
        send.click();
    }""")
    await expect(delegate.get_by_test_id("composer-info")).to_contain_text("You are muted in this room")
    await expect(delegate.get_by_test_id("send")).to_be_disabled()  # the next redraw disables it again
    await expect(message_with_text(delegate, "Sneaking past the mute")).to_have_count(0)

    # ...so the next message Otto gets is the moderator's, not Dora's (every member sees one order)
    await say(moderator, "Moderator speaking")
    received = await witness.expect("message", room=ROOM)
    assert received["text"] == "Moderator speaking", received
    assert all(f.get("text") != "Sneaking past the mute" for f in witness.seen)

    # unmuted, Dora can write again
    await member.get_by_test_id("mod-u-dora").click()
    await member.get_by_test_id("unmute").click()
    await expect(notice).to_be_hidden()
    await expect(delegate.get_by_test_id("composer")).to_be_enabled()
    await delegate.get_by_test_id("composer").fill("")
    await say(delegate, "Thanks for unmuting me")
    await witness.expect("message", room=ROOM, text="Thanks for unmuting me")
    await witness.close()
