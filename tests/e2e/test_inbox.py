"""The moderation inbox in the browser (issue 20): a moderator who reads Spanish opens "Reports",
sees each reported message once with its number of reporters, in Spanish (the original a click
away), dismisses one and deletes another with the keyboard, and the count follows; the same inbox
on a phone. axe-clean on both."""

from __future__ import annotations

import pytest
from playwright.async_api import Locator, Page, expect

from rooms import Role
from tests.e2e.pages import PHONE, axe_violations, enter_room, screenshot, sign_in_with_token, ui, ui_plural
from translation.apertium import discover

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not discover(), reason="no Apertium pair installed (.ci/system-deps)"),
]

ROOM = "plenary"
RUDE = "Good morning everyone, the session starts in ten minutes"  # Apertium en->es knows these words
SPAM = "Buy cheap watches today"


def inbox_item(page: Page, message_id: str) -> Locator:
    """The inbox's line of one message (whichever text it shows)."""
    return page.locator(f'[data-testid="inbox-item"][data-message="{message_id}"]')


async def no_overflow(page: Page) -> None:
    """Nothing wider than the viewport (no sideways scrolling on a phone)."""
    assert await page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


async def test_a_moderator_works_the_inbox_in_their_language(make_server, new_page):
    server = await make_server(translation={"engines": ("apertium",)})
    ada = await server.client("Ada", lang="en", user_id="u-ada")
    bo = await server.client("Bo", lang="es", user_id="u-bo")
    cy = await server.client("Cy", lang="es", user_id="u-cy")
    for client in (ada, bo, cy):
        await client.join(ROOM)
    rude = await ada.say(ROOM, RUDE)
    spam = await ada.say(ROOM, SPAM)
    spanish = (await bo.expect("translation", id=rude["id"]))["text"]
    for reporter, message in ((bo, rude), (cy, rude), (bo, spam)):
        await reporter.send({"type": "report", "room": ROOM, "id": message["id"], "reason": "spam"})
        await reporter.expect("ack")

    page = await new_page()
    await sign_in_with_token(page, server.url, server.token("Mona", Role.MODERATOR, "es", user_id="u-mona"), "Mona")
    badge = page.get_by_test_id("inbox-badge")
    await expect(badge).to_contain_text("3")  # the count arrived after `ready`
    await page.get_by_test_id("inbox-open").focus()
    await page.keyboard.press("Enter")
    items = page.get_by_test_id("inbox-item")
    await expect(items).to_have_count(2)  # three reports, two messages
    first = inbox_item(page, rude["id"])
    await expect(first.get_by_test_id("inbox-reporters")).to_have_text(
        ui_plural("es", "inbox.reporters", "other", count=2)
    )
    await expect(first.get_by_test_id("inbox-text")).to_have_text(spanish)  # the stored translation
    await first.get_by_test_id("inbox-original").click()
    await expect(first.get_by_test_id("inbox-text")).to_have_text(RUDE)
    await expect(first.get_by_test_id("inbox-original")).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("#inbox-title")).to_have_text(ui("es", "inbox.title"))
    assert await axe_violations(page) == []
    await screenshot(page, "inbox-desktop.png")

    # a new report while the inbox is open: the count and the list follow
    await cy.send({"type": "report", "room": ROOM, "id": spam["id"]})
    await cy.expect("ack")
    await expect(badge).to_contain_text("4")
    second = inbox_item(page, spam["id"])
    await expect(second.get_by_test_id("inbox-reporters")).to_have_text(
        ui_plural("es", "inbox.reporters", "other", count=2)
    )

    # dismiss with the keyboard
    await second.get_by_test_id("inbox-dismiss").focus()
    await page.keyboard.press("Enter")
    await expect(items).to_have_count(1)
    await expect(badge).to_contain_text("2")
    await expect(page.get_by_test_id("toast")).to_contain_text(ui("es", "inbox.closed"))

    # delete, after confirming
    await first.get_by_test_id("inbox-delete").click()
    await expect(page.get_by_test_id("confirm")).to_be_visible()
    assert await axe_violations(page) == []
    await page.get_by_test_id("confirm-ok").click()
    assert (await ada.expect("deleted", id=rude["id"]))["by"]["id"] == "u-mona"
    await expect(items).to_have_count(0)
    await expect(badge).to_be_hidden()
    await expect(page.get_by_test_id("inbox-status")).to_have_text(ui("es", "inbox.empty"))
    assert await axe_violations(page) == []


async def test_the_inbox_on_a_phone(make_server, new_page):
    server = await make_server(translation={"engines": ("apertium",)})
    ada = await server.client("Ada", lang="en", user_id="u-ada")
    bo = await server.client("Bo", lang="en", user_id="u-bo")
    for client in (ada, bo):
        await client.join(ROOM)
    said = await ada.say(
        ROOM,
        "A rather long message that has to wrap on a narrow phone screen without any "
        "sideways scrolling at all, because moderators work on their phones too",
    )
    await bo.send({"type": "report", "room": ROOM, "id": said["id"], "reason": "off topic"})
    await bo.expect("ack")

    page = await new_page(viewport=PHONE)
    await sign_in_with_token(page, server.url, server.token("Hana", Role.HOST, "en", user_id="u-hana"), "Hana")
    await expect(page.get_by_test_id("inbox")).to_be_visible()  # on the home view, above the room list
    await enter_room(page, ROOM)
    await page.get_by_test_id("toggle-rooms").click()  # in a room the sidebar is a drawer on a phone
    await page.get_by_test_id("inbox-open").click()
    await expect(page.locator("#room-view")).to_be_hidden()
    item = page.get_by_test_id("inbox-item")
    await expect(item).to_have_count(1)
    reporters = ui_plural("en", "inbox.reporters", "one", count=1)
    await expect(item.get_by_test_id("inbox-reporters")).to_have_text(reporters)
    await expect(item.get_by_test_id("inbox-ban")).to_be_visible()
    await no_overflow(page)
    assert await axe_violations(page) == []
    await screenshot(page, "inbox-phone.png")
    await item.get_by_test_id("inbox-mute").click()
    await page.get_by_test_id("confirm-ok").click()
    assert (await ada.expect("moderation", action="mute"))["user"] == "u-ada"
    await expect(item).to_have_count(0)
