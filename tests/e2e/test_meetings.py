"""Meetings in the browser (issue 26): a Chinese and a German delegate book a meeting from their
conversation, and each sees it in their agenda in their own language; the views are axe-clean."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page, expect

from rooms import Role
from tests.e2e.pages import PHONE, axe_violations, screenshot, sign_in, sign_in_with_token, ui

pytestmark = pytest.mark.browser


async def open_sidebar(page: Page) -> None:
    """On a phone the room list (with People, conversations and the agenda) is a drawer: open it."""
    toggle = page.get_by_test_id("toggle-rooms")
    if await toggle.is_visible() and await toggle.get_attribute("aria-expanded") != "true":
        await toggle.click()


async def test_a_chinese_and_a_german_delegate_book_a_meeting_and_see_it_in_their_agendas(make_server, new_page):
    day = (datetime.now(tz=UTC) + timedelta(days=2)).date().isoformat()
    server = await make_server(conversations={"policy": "open"}, meetings={
        "timezone": "Europe/Berlin", "days": (day,), "windows": ("10:00-11:00",), "slot_minutes": 30,
        "places": ("Table 14",)})
    li, anna = await new_page(viewport=PHONE), await new_page()
    await sign_in(anna, server.url, "Anna", "de")
    await sign_in(li, server.url, "Li", "zh")

    # Li finds Anna and writes to her (the organisers' policy is open: a conversation opens)
    await open_sidebar(li)
    await li.get_by_test_id("people-open").click()
    await li.get_by_test_id("people-q").fill("Anna")
    await li.get_by_test_id("people-search").click()
    await li.get_by_test_id("person-contact").click()
    await li.get_by_test_id("contact-text").fill("你好！")
    await li.get_by_test_id("contact-send").click()
    await expect(li.locator("#room-view")).to_be_visible()

    # ... and proposes a meeting, in Chinese
    propose = li.get_by_test_id("meeting-propose")
    await expect(propose).to_have_text(ui("zh", "meetings.propose"))
    await propose.click()
    dialog = li.get_by_test_id("meeting-dialog")
    await expect(dialog.get_by_test_id("meeting-slot")).to_have_count(2)
    await dialog.get_by_test_id("meeting-note").fill("港口设备")
    assert not await axe_violations(li), await axe_violations(li)
    await dialog.get_by_test_id("meeting-send").click()
    await expect(dialog).to_be_hidden()
    await expect(li.get_by_test_id("meeting-card")).to_contain_text(ui("zh", "meetings.state.proposed"))

    # Anna opens the conversation and accepts the time: German words on her card
    entry = anna.locator('[data-testid^="conversation-c-"]')
    await expect(entry).to_have_count(1)
    await entry.click()
    card = anna.get_by_test_id("meeting-card")
    await expect(card).to_contain_text(ui("de", "meetings.state.proposed"))
    await expect(card).to_contain_text("港口设备")
    # she proposes another time instead (a counter-proposal); Li, on his phone, accepts that one
    await card.get_by_test_id("meeting-counter").click()
    counter = anna.get_by_test_id("meeting-dialog")
    await counter.get_by_test_id("meeting-slot").nth(0).uncheck()
    await counter.get_by_test_id("meeting-slot").nth(1).check()
    await counter.get_by_test_id("meeting-send").click()
    await expect(counter).to_be_hidden()
    await expect(card).to_contain_text(ui("de", "meetings.waiting", name="Li"))
    li_card = li.get_by_test_id("meeting-card")
    await expect(li_card.get_by_test_id("meeting-accept")).to_have_count(1)
    await li_card.get_by_test_id("meeting-accept").click()
    await expect(card).to_contain_text(ui("de", "meetings.state.booked"))
    await expect(card).to_contain_text("10:30")  # the event's time (Europe/Berlin) of the second slot
    await expect(card).to_contain_text(ui("de", "meetings.place", place="Table 14"))
    assert not await axe_violations(anna), await axe_violations(anna)
    await screenshot(anna, "meeting-card-de.png", readme=True)

    # each sees the booked meeting in their agenda, in their language
    await expect(li.get_by_test_id("meeting-card")).to_contain_text(ui("zh", "meetings.state.booked"))
    for page, lang, other in ((li, "zh", "Anna"), (anna, "de", "Li")):
        await open_sidebar(page)
        await page.get_by_test_id("agenda-open").click()
        item = page.get_by_test_id("agenda-item")
        await expect(item).to_have_count(1)
        await expect(item).to_contain_text(other)
        await expect(item).to_contain_text(ui(lang, "meetings.state.booked"))
        await expect(item).to_contain_text(ui(lang, "meetings.place", place="Table 14"))
        assert not await axe_violations(page), await axe_violations(page)
        if lang == "zh":  # the README shows the Chinese agenda
            await screenshot(page, "agenda-zh.png", readme=True)
        else:
            await screenshot(page, f"agenda-{lang}.png")

    # the organisers: a host adds a slot in the host panel and sees the booked meeting in the grid
    host = await new_page()
    await sign_in_with_token(host, server.url, server.token("Hanna", Role.HOST, "en", user_id="u-hanna"), "Hanna")
    grid = host.get_by_test_id("host-meeting-grid")
    await expect(grid).to_contain_text("Anna · Li")  # the last proposer first
    await expect(grid).to_contain_text(ui("en", "host.meetingFree"))
    await host.get_by_test_id("host-meeting-start").fill(f"{day}T15:00")
    await host.get_by_test_id("host-meeting-places").fill("Table 7")
    await host.get_by_test_id("host-meeting-add").click()
    await expect(grid.locator("th", has_text="Table 7")).to_have_count(1)
    assert not await axe_violations(host), await axe_violations(host)

    # ... and cancels the meeting from the grid: both people are told, in their language
    await grid.get_by_test_id("host-meeting-cancel").click()
    await expect(grid.get_by_test_id("host-meeting-cancel")).to_have_count(0)
    await expect(anna.get_by_test_id("toast")).to_contain_text(ui("de", "meetings.event.cancelled", name="Li"))
