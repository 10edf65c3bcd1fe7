"""Reports (rooms/reports.py): who works them, one per person and message, the per-person rate,
grouping by message, closing a message's reports with an action — on the memory stores."""

from __future__ import annotations

from typing import Any

import pytest

from rooms import Refused
from rooms.reports import ReportDesk, decode_cursor, group_by_message, may_work_reports
from rooms.sanctions import Sanctions
from rooms.stores.events import ReportsChanged
from tests.rooms.conftest import DEE, ELSEWHERE_MOD, EVE, HOST, MOD, ROOM, User


@pytest.fixture
async def desk(core) -> ReportDesk:
    return ReportDesk(
        core.stores.conversations,
        core.stores.broker,
        core.stores.limits,
        core.moderation,
        Sanctions(core.stores.moderation),
        burst=2,
        per_hour=1,
        history_max=200,
    )


async def said(core, text: str, user: User = EVE) -> str:
    appended = await core.stores.broker.append_message(
        ROOM, user={"id": user.id, "name": user.name}, text=text, lang="en", cid=None, translating=[]
    )
    return appended.message.id


async def refused(coroutine) -> Refused:
    with pytest.raises(Refused) as caught:
        await coroutine
    return caught.value


def test_hosts_and_event_wide_moderators_work_reports_nobody_else():
    assert may_work_reports(HOST) and may_work_reports(MOD)
    assert not may_work_reports(ELSEWHERE_MOD) and not may_work_reports(DEE)


def test_cursors_are_positions_this_server_gives_out():
    assert decode_cursor("17") == 17
    assert decode_cursor("") is None and decode_cursor("-1") is None and decode_cursor("1e3") is None
    assert decode_cursor("٣") is None and decode_cursor("9" * 19) is None


def test_open_reports_group_by_message_most_reporters_first():
    def report(n: int, message: str, reporter: str, reason: str | None = None) -> dict[str, Any]:
        return {
            "id": f"rp-{n}",
            "ts": n,
            "room": {"id": ROOM, "kind": "forum"},
            "reporter": {"id": reporter},
            "message": {
                "id": message,
                "ts": 0,
                "user": {"id": "u", "name": "U"},
                "lang": "en",
                "text": message,
                "tr": {"de": f"{message} (de)"},
            },
            **({"reason": reason} if reason else {}),
        }

    groups = group_by_message(
        [report(1, "m1", "a", "spam"), report(2, "m2", "a"), report(3, "m2", "b", "spam"), report(4, "m2", "c", "spam")]
    )
    assert [(g["message"]["id"], g["reporters"], g["reasons"], g["reports"]) for g in groups] == [
        ("m2", 3, ["spam"], ["rp-2", "rp-3", "rp-4"]),
        ("m1", 1, ["spam"], ["rp-1"]),
    ]
    assert (groups[0]["first"], groups[0]["last"]) == (2, 4)


async def test_a_repeat_is_the_first_report_and_costs_no_rate(core, desk):
    events = core.events
    room = await core.stores.rooms.get_room(ROOM)
    first, second, third = [await said(core, f"line {n}") for n in range(3)]
    report = await desk.file(DEE, room, first, "spam")
    for _ in range(3):
        assert (await desk.file(DEE, room, first, "again"))["id"] == report["id"]
    await desk.file(DEE, room, second, None)  # the burst of 2 is spent on two messages, not on repeats
    limited = await refused(desk.file(DEE, room, third, None))
    assert limited.code == "rate_limited" and limited.retry_after is not None and 0 < limited.retry_after <= 3600
    assert f"again in {limited.retry_after} s" in limited.message
    assert events.count(ReportsChanged()) == 2  # one per report stored, none for a repeat
    assert (await refused(desk.file(DEE, room, "0a1b2c3d.999", None))).code == "not_found"


async def test_only_the_desk_reads_and_closing_twice_finds_nothing(core, desk):
    room = await core.stores.rooms.get_room(ROOM)
    message = await said(core, "rude")
    await desk.file(DEE, room, message, None)
    for outsider in (DEE, ELSEWHERE_MOD):
        assert (await refused(desk.inbox(outsider, "en"))).code == "forbidden"
        assert (await refused(desk.page(outsider, after=0, limit=10, state=None))).code == "forbidden"
        assert (await refused(desk.close(outsider, ROOM, message, "dismiss"))).code == "forbidden"
    [group] = await desk.inbox(MOD, "en")
    assert group["reporters"] == 1 and group["message"]["text"] == "rude"
    assert [r["id"] for r in await desk.close(MOD, ROOM, message, "delete")] == group["reports"]
    assert (await core.stores.broker.history(ROOM, before=None, limit=10))[-1].deleted
    assert (await refused(desk.close(HOST, ROOM, message, "dismiss"))).code == "not_found"
    assert await desk.inbox(MOD, "en") == [] and await desk.open_count() == 0


async def test_a_refused_action_leaves_the_report_open(core, desk):
    room = await core.stores.rooms.get_room(ROOM)
    await core.access.join(HOST, ROOM)  # the host was here: their standing is known
    message = await said(core, "from the host", user=HOST)
    await desk.file(DEE, room, message, None)
    assert (await refused(desk.close(MOD, ROOM, message, "ban"))).code == "forbidden"  # a moderator never bans a host
    assert await desk.open_count() == 1
