"""Meetings in the browser (issue 26): a Chinese and a German delegate book a meeting from their
conversation, each sees every step as a card among the messages and the meeting in their agenda,
in their own language; a host moves it from the grid; a lost booking race offers the next free
times; the views are axe-clean in all ten interface languages, on a desktop and on a phone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page, expect

from rooms import Role
from tests.e2e.pages import DESKTOP, PHONE, axe_violations, screenshot, sign_in, sign_in_with_token, ui
from tests.e2e.test_interface_language import no_english
from tests.test_conversations import Person

pytestmark = pytest.mark.browser


async def open_sidebar(page: Page) -> None:
    """On a phone the room list (with People, conversations and the agenda) is a drawer: open it."""
    toggle = page.get_by_test_id("toggle-rooms")
    if await toggle.is_visible() and await toggle.get_attribute("aria-expanded") != "true":
        await toggle.click()


async def test_a_chinese_and_a_german_delegate_book_a_meeting_and_see_it_in_their_agendas(make_server, new_page):
    day = (datetime.now(tz=UTC) + timedelta(days=2)).date().isoformat()
    server = await make_server(
        conversations={"policy": "open"},
        meetings={
            "timezone": "Europe/Berlin",
            "days": (day,),
            "windows": ("10:00-11:00",),
            "slot_minutes": 30,
            "places": ("Table 14",),
        },
    )
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
    # every step is a card among the messages, worded in each reader's language
    for page, lang in ((anna, "de"), (li, "zh")):
        steps = page.get_by_test_id("meeting-step")
        await expect(steps).to_have_count(3)
        for index, step in enumerate(("proposed", "countered", "booked")):
            await expect(steps.nth(index).get_by_test_id("meeting-step-title")).to_have_text(
                ui(lang, f"meetings.step.{step}")
            )
        await expect(steps.nth(2)).to_contain_text("10:30")
        await expect(steps.nth(2)).to_contain_text(ui(lang, "meetings.place", place="Table 14"))
    await expect(anna.get_by_test_id("message").filter(has=anna.get_by_test_id("meeting-step")).first).to_contain_text(
        "港口设备"
    )  # the proposal's note, under its card (translated when a route exists)
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

    # ... moves it to a time and place both have free: both are told, and a card says so
    await grid.get_by_test_id("host-meeting-move").click()
    move = host.get_by_test_id("move-dialog")
    options = move.get_by_test_id("move-option")
    await expect(options).to_have_count(2)  # 10:00 and 15:00 at a table (10:30 is where it is)
    assert not await axe_violations(host), await axe_violations(host)
    await options.nth(1).check()
    await move.get_by_test_id("move-send").click()
    await expect(move).to_be_hidden()
    await expect(host.get_by_test_id("host-meeting-status")).to_have_text(ui("en", "host.meetingMoved"))
    await expect(anna.get_by_test_id("toast")).to_contain_text(ui("de", "meetings.event.moved", name="Li"))
    for page, lang in ((anna, "de"), (li, "zh")):
        moved = page.get_by_test_id("meeting-step").nth(3)
        await expect(moved.get_by_test_id("meeting-step-title")).to_have_text(ui(lang, "meetings.step.moved"))
        await expect(moved).to_contain_text(ui(lang, "meetings.place", place="Table 7"))

    # ... and cancels the meeting from the grid: both people are told, in their language
    await grid.get_by_test_id("host-meeting-cancel").click()
    await expect(grid.get_by_test_id("host-meeting-cancel")).to_have_count(0)
    await expect(anna.get_by_test_id("toast")).to_contain_text(ui("de", "meetings.event.cancelled", name="Li"))
    await expect(li.get_by_test_id("meeting-step").nth(4).get_by_test_id("meeting-step-title")).to_have_text(
        ui("zh", "meetings.step.cancelled")
    )


async def test_a_lost_race_for_a_time_offers_the_next_free_times_in_the_app(make_server, new_page):
    """Anna accepts Li's time, but meanwhile two others took the one table then: she is told, and
    the proposal dialog offers the next times both have free, which she sends back to Li."""
    day = (datetime.now(tz=UTC) + timedelta(days=2)).date().isoformat()
    server = await make_server(
        conversations={"policy": "open"},
        meetings={
            "timezone": "Europe/Berlin",
            "days": (day,),
            "windows": ("10:00-11:30",),
            "slot_minutes": 30,
            "places": ("Table 14",),
        },
    )
    anna = await new_page()
    await sign_in(anna, server.url, "Anna", "de")
    li, ola, sam = (
        await Person(server, "Li", "zh").connect(),
        await Person(server, "Ola", "en").connect(),
        await Person(server, "Sam", "en").connect(),
    )
    slots = (await li.http("GET", "/api/meeting-slots")).json()["slots"]
    anna_id = (await li.http("GET", "/api/people", params={"q": "Anna"})).json()["people"][0]["id"]
    proposed = await li.http("POST", "/api/meetings", json={"with": anna_id, "slots": [slots[0]["id"]], "note": "你好"})
    assert proposed.status_code == 201, proposed.text
    entry = anna.locator('[data-testid^="conversation-c-"]')
    await entry.click()
    card = anna.get_by_test_id("meeting-card")
    await expect(card.get_by_test_id("meeting-accept")).to_have_count(1)

    # meanwhile Ola and Sam take Table 14 at 10:00
    theirs = (await ola.http("POST", "/api/meetings", json={"with": sam.id, "slots": [slots[0]["id"]]})).json()
    assert (
        await sam.http("POST", f"/api/meetings/{theirs['meeting']['id']}/accept", json={"slot": slots[0]["id"]})
    ).status_code == 200
    await card.get_by_test_id("meeting-accept").click()
    dialog = anna.get_by_test_id("meeting-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_test_id("meeting-taken")).to_have_text(ui("de", "meetings.takenNext"))
    offered = dialog.get_by_test_id("meeting-slot")
    await expect(offered).to_have_count(2)  # 10:30 and 11:00, free for both
    await expect(offered.nth(0)).to_have_value(slots[1]["id"])  # 10:30 in Berlin, the next one
    await expect(offered.nth(1)).to_have_value(slots[2]["id"])
    assert not await axe_violations(anna), await axe_violations(anna)
    await dialog.get_by_test_id("meeting-send").click()
    await expect(dialog).to_be_hidden()
    countered = await li.client.expect("meeting", event="countered")
    assert [s["id"] for s in countered["meeting"]["slots"]] == [slots[1]["id"]]
    await expect(anna.get_by_test_id("meeting-step").nth(1).get_by_test_id("meeting-step-title")).to_have_text(
        ui("de", "meetings.step.countered")
    )

    # she cancels after all, with a reason: Li is told, and the card carries it as its text
    await card.get_by_test_id("meeting-cancel").click()
    confirm = anna.get_by_test_id("confirm")
    await expect(confirm).to_contain_text(ui("de", "meetings.cancelTitle", name="Li"))
    assert not await axe_violations(anna), await axe_violations(anna)
    await confirm.get_by_test_id("confirm-reason").fill("Mein Flug wurde verlegt")
    await confirm.get_by_test_id("confirm-ok").click()
    cancelled = await li.client.expect("meeting", event="cancelled")
    assert cancelled["meeting"]["reason"] == "Mein Flug wurde verlegt"
    last = anna.get_by_test_id("message").filter(has=anna.get_by_test_id("meeting-step")).nth(2)
    await expect(last.get_by_test_id("meeting-step-title")).to_have_text(ui("de", "meetings.step.cancelled"))
    await expect(last.get_by_test_id("message-text")).to_have_text("Mein Flug wurde verlegt")


LANGUAGES = ("ar", "de", "en", "es", "fr", "ja", "pl", "pt", "ru", "zh")


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_the_meeting_views_in_every_language_on_a_desktop_and_a_phone(make_server, new_page, lang):
    """A delegate reading `lang` opens a conversation holding every kind of step card, their
    agenda and the proposal dialog: each in their language, no English left, axe-clean at
    1280×800 and at 390×844."""
    day = (datetime.now(tz=UTC) + timedelta(days=2)).date().isoformat()
    server = await make_server(
        conversations={"policy": "open"},
        meetings={
            "timezone": "Asia/Shanghai",
            "days": (day,),
            "windows": ("10:00-12:00",),
            "slot_minutes": 30,
            "places": ("Table 14", "Table 15"),
        },
    )
    host = await Person(server, "Hanna", "en", Role.HOST).connect()
    me = await Person(server, "Mira", lang).connect()
    kai = await Person(server, "Kai", "de", organization="Hafen AG").connect()
    slots = (await kai.http("GET", "/api/meeting-slots")).json()["slots"]
    first = (
        await kai.http(
            "POST", "/api/meetings", json={"with": me.id, "slots": [slots[0]["id"], slots[1]["id"]], "note": "Krane"}
        )
    ).json()["meeting"]
    await me.http("POST", f"/api/meetings/{first['id']}/propose", json={"slots": [slots[2]["id"]]})
    await kai.http("POST", f"/api/meetings/{first['id']}/accept", json={"slot": slots[2]["id"]})
    moved = await host.http(
        "POST", f"/api/meetings/{first['id']}/move", json={"slot": slots[3]["id"], "place": slots[3]["places"][1]["id"]}
    )
    assert moved.status_code == 200, moved.text
    second = (await kai.http("POST", "/api/meetings", json={"with": me.id, "slots": [slots[0]["id"]]})).json()
    await me.http("POST", f"/api/meetings/{second['meeting']['id']}/decline", json={"reason": "Nein"})
    third = (await kai.http("POST", "/api/meetings", json={"with": me.id, "slots": [slots[1]["id"]]})).json()
    await kai.http("POST", f"/api/meetings/{third['meeting']['id']}/cancel")

    page = await new_page()
    await sign_in_with_token(page, server.url, me.token, "Mira")
    await page.locator('[data-testid^="conversation-c-"]').click()
    steps = page.get_by_test_id("meeting-step-title")
    kinds = ("proposed", "countered", "booked", "moved", "proposed", "declined", "proposed", "cancelled")
    await expect(steps).to_have_count(len(kinds))
    for index, kind in enumerate(kinds):
        await expect(steps.nth(index)).to_have_text(ui(lang, f"meetings.step.{kind}"))
    await expect(page.get_by_test_id("meeting-card")).to_have_count(1)  # the booked one, above the messages
    await no_english(page, lang, "conversation with meeting cards")
    assert not await axe_violations(page), (lang, "desktop", await axe_violations(page))
    await page.set_viewport_size(PHONE)
    assert not await axe_violations(page), (lang, "phone", await axe_violations(page))
    if lang == "ar":
        await screenshot(page, "meeting-cards-ar-phone.png")

    await page.get_by_test_id("meeting-propose").click()
    dialog = page.get_by_test_id("meeting-dialog")
    await expect(dialog.get_by_test_id("meeting-slot").first).to_be_visible()
    await no_english(page, lang, "proposal dialog")
    assert not await axe_violations(page), (lang, "phone, proposal", await axe_violations(page))
    await dialog.locator("button[value=cancel]").click()
    await open_sidebar(page)
    await page.get_by_test_id("agenda-open").click()
    await expect(page.get_by_test_id("agenda-item")).to_have_count(3)
    await no_english(page, lang, "agenda")
    assert not await axe_violations(page), (lang, "phone, agenda", await axe_violations(page))
    await page.set_viewport_size(DESKTOP)
    assert not await axe_violations(page), (lang, "desktop, agenda", await axe_violations(page))
    # the conversation one click away: where the steps are
    await page.get_by_test_id("agenda-item").first.get_by_test_id("agenda-conversation").click()
    await expect(page.get_by_test_id("agenda-dialog")).to_be_hidden()
    await expect(page.get_by_test_id("meeting-step-title")).to_have_count(len(kinds))


async def test_the_app_reminds_a_configurable_time_before_a_booked_meeting(make_server, new_page):
    """`[meetings] reminder_minutes` before a booked meeting, the app says so in the reader's language
    (the page's clock is Playwright's, moved forward instead of waited for)."""
    server = await make_server(conversations={"policy": "open"}, meetings={"reminder_minutes": 25})
    host = await Person(server, "Hanna", "en", Role.HOST).connect()
    start = (datetime.now(tz=UTC) + timedelta(hours=3)).replace(second=0, microsecond=0)
    added = await host.http(
        "POST",
        "/api/meeting-slots",
        json={"start": start.isoformat(), "end": (start + timedelta(minutes=20)).isoformat(), "places": ["Table 3"]},
    )
    assert added.status_code == 201, added.text
    page = await new_page()
    await page.clock.install()
    await sign_in(page, server.url, "Anna", "de")
    li = await Person(server, "Li", "zh").connect()
    anna_id = (await li.http("GET", "/api/people", params={"q": "Anna"})).json()["people"][0]["id"]
    proposed = await li.http("POST", "/api/meetings", json={"with": anna_id, "slots": [added.json()["slot"]["id"]]})
    assert proposed.status_code == 201, proposed.text
    await page.locator('[data-testid^="conversation-c-"]').click()
    await page.get_by_test_id("meeting-card").get_by_test_id("meeting-accept").click()
    toast = page.get_by_test_id("toast")
    await expect(toast).to_contain_text(ui("de", "meetings.bookedToast", time="")[:12])
    reminder = ui("de", "meetings.reminder", name="Li", time="")[:12]
    now = await page.evaluate("() => Date.now()")
    due = int(start.timestamp() * 1000) - 25 * 60_000
    await page.clock.fast_forward(due - now - 60_000)  # a minute early: nothing yet
    await expect(toast).not_to_contain_text(reminder)
    await page.clock.fast_forward(61_000)
    await expect(toast).to_contain_text(reminder)
