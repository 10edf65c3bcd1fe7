"""Markup in messages, names and room titles shows as text and runs nothing; the CSP forbids inline script."""

from __future__ import annotations

import pytest
from playwright.async_api import Dialog, expect

from rooms import Role
from tests.e2e.pages import enter_room, message_with_text, say, sign_in

pytestmark = pytest.mark.browser

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>window.__pwned=1</script>"
EVIL_NAME = '<b onmouseover=alert(2)>Mallory</b><img src=x onerror="window.__pwned=2">'
EVIL_TITLE = "<img src=x onerror=alert(3)>Room"


async def test_markup_shows_as_text_and_runs_nothing(make_server, new_page):
    server = await make_server()
    async with server.http() as http:  # a host names a room with markup
        answer = await http.post(
            "/api/rooms",
            json={"id": "markup", "title": EVIL_TITLE},
            headers={"Authorization": f"Bearer {server.token('Hal', Role.HOST)}"},
        )
        assert answer.status_code == 201, answer.text

    page = await new_page()
    dialogs: list[str] = []

    async def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    response = await page.goto(server.url)
    csp = (await response.all_headers()).get("content-security-policy", "")
    assert "script-src 'self'" in csp, csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, csp

    await sign_in(page, server.url, "Vera", "en")
    await expect(page.get_by_test_id("room-markup")).to_contain_text(EVIL_TITLE)
    await enter_room(page, "markup")
    await expect(page.locator("#room-title")).to_have_text(EVIL_TITLE)

    # from this page, and from someone else whose name is markup too
    await say(page, IMG)
    await say(page, SCRIPT)
    mallory = await server.client(EVIL_NAME, user_id="u-mallory")
    await mallory.join("markup")
    await mallory.say("markup", IMG)
    await mallory.say("markup", f"look: {SCRIPT} {IMG}")

    await expect(message_with_text(page, IMG)).to_have_count(2)
    await expect(message_with_text(page, SCRIPT)).to_have_count(1)
    await expect(message_with_text(page, f"look: {SCRIPT} {IMG}")).to_have_count(1)
    await expect(page.get_by_test_id("message").filter(has_text=EVIL_NAME)).to_have_count(2)
    await expect(page.get_by_test_id("member-u-mallory")).to_contain_text(EVIL_NAME)

    # nothing became an element, nothing ran
    assert await page.locator("#messages img, #messages script, #messages b").count() == 0
    assert await page.locator("#member-list img, #member-list b, #room-list img, #room-view img").count() == 0
    assert await page.locator("body script").count() == 0
    assert await page.evaluate("() => window.__pwned") is None
    assert dialogs == []
    await mallory.close()


async def test_a_bidi_override_in_a_message_stays_inside_that_message(make_server, new_page):
    """U+202E reverses at most the text after it in its own message: each message is isolated."""
    server = await make_server()
    page = await new_page()
    await sign_in(page, server.url, "Vera", "en")
    await enter_room(page, "plenary")
    mallory = await server.client("Mallory", user_id="u-mallory")
    await mallory.join("plenary")
    await mallory.say("plenary", "evil \u202eesrever")
    await mallory.say("plenary", "next line")
    text = message_with_text(page, "evil \u202eesrever").get_by_test_id("message-text")
    await expect(text).to_have_count(1)
    assert await text.get_attribute("dir") in ("auto", "rtl")
    assert await text.evaluate("el => getComputedStyle(el).unicodeBidi") == "isolate"
    await mallory.close()
