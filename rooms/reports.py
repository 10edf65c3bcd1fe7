"""Reports: anyone may report a message to the event's moderators, who work them in an inbox.

The rules, asked by the WebSocket session (`report` frames, the `reports` count) and by the HTTP
API (`/api/reports`) alike:

- Who reads and closes reports: hosts, and moderators of the whole event (a token naming no
  rooms) — `may_work_reports`. A moderator scoped to some rooms does not see reports.
- Someone muted or banned event-wide reports nothing (rooms/sanctions.py `check_reach`).
- One report per person and message: a repeat is acknowledged with the id of the first report
  and stores nothing (so a retry is harmless and a person counts once per message).
- A per-person rate, cluster-wide: `[conversations] report_burst` at once, then
  `reports_per_hour`; more is `rate_limited` with the wait. A repeat costs nothing.
- Open reports are read grouped by message, with the number of reporters: many people reporting
  one message is one line, and many messages reported by few people stay apart.
- A message deleted in its room (the `delete` frame) closes its open reports as `actioned`.
- Closing works on a message: every open report of it at once, `actioned` (the message deleted,
  its author muted or banned) or `dismissed`, with who closed it and when. The moderation action
  itself is the moderation service's (the same checks as the WebSocket frames); a private
  conversation's author is muted or banned event-wide (nobody moderates inside one, and a
  private message is never deleted by an organiser).

Every change of the open reports is announced node-wide (`ReportsChanged`), so every node tells
its moderators the new count.
"""

from __future__ import annotations

import math
import secrets
from typing import Any

import msgspec

from rooms.conversations import EVENT_WIDE, moderates_event
from rooms.models import Room
from rooms.moderation import Action, Moderation
from rooms.refusal import Refused
from rooms.roles import Actor
from rooms.sanctions import Sanctions
from rooms.stores import Broker, ConversationStore, LimitStore, now_ms
from rooms.stores.events import ReportsChanged

STATES = ("open", "actioned", "dismissed")
ACTIONS = ("delete", "mute", "ban", "dismiss")  # what a moderator does with a reported message
PAGE_MAX = 200  # reports in one page of GET /api/reports
PAGE_DEFAULT = 100


def may_work_reports(actor: Actor) -> bool:
    """Hosts and moderators of the whole event read and close reports."""
    return moderates_event(actor.role, actor.rooms)


def require_report_desk(actor: Actor) -> None:
    if not may_work_reports(actor):
        raise Refused("forbidden", "only hosts and moderators of the whole event read and close reports")


def decode_cursor(cursor: str) -> int | None:
    """The position a `next` cursor names (None: not one this server gives out)."""
    return int(cursor) if cursor.isascii() and cursor.isdigit() and len(cursor) <= 18 else None


def group_by_message(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Open reports as the inbox lists them: one entry per message, with how many people reported
    it, their reasons (each once) and the report ids; most reporters first, then the longest waiting."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for report in reports:
        key = (report["room"]["id"], report["message"]["id"])
        group = groups.get(key)
        if group is None:
            message = {k: v for k, v in report["message"].items() if k != "tr"}
            group = groups[key] = {
                "room": report["room"],
                "message": message,
                "reporters": 0,
                "reasons": [],
                "reports": [],
                "first": report["ts"],
                "last": report["ts"],
                "_tr": dict(report["message"].get("tr") or {}),
            }
        group["reporters"] += 1
        group["reports"].append(report["id"])
        group["last"] = max(group["last"], report["ts"])
        group["first"] = min(group["first"], report["ts"])
        group["_tr"].update(report["message"].get("tr") or {})
        if report.get("reason") and report["reason"] not in group["reasons"]:
            group["reasons"].append(report["reason"])
    return sorted(groups.values(), key=lambda group: (-group["reporters"], group["first"]))


class ReportDesk:
    """Filing, listing and closing reports, on the stores (see the module docstring for the rules)."""

    def __init__(
        self,
        store: ConversationStore,
        broker: Broker,
        limits: LimitStore,
        moderation: Moderation,
        sanctions: Sanctions,
        *,
        burst: int,
        per_hour: float,
        history_max: int,
    ) -> None:
        self._store = store
        self._sanctions = sanctions
        self._broker = broker
        self._limits = limits
        self._moderation = moderation
        self._burst = burst
        self._rate = per_hour / 3600
        self._history_max = history_max

    async def file(self, person: Actor, room: Room, message_id: str, reason: str | None) -> dict[str, Any]:
        """Report a message of a room the person may see; the stored report (the first one for a
        repeat: then nothing changes and nobody is told). An event-wide mute or ban refuses it."""
        await self._sanctions.check_reach(person)
        message = next(
            (
                m
                for m in await self._broker.history(room.id, before=None, limit=self._history_max)
                if m.id == message_id and not m.deleted
            ),
            None,
        )
        if message is None:
            raise Refused("not_found", f"there is no message {message_id!r} in {room.id!r} to report")
        report: dict[str, Any] = {
            "id": "rp-" + secrets.token_hex(8),
            "ts": now_ms(),
            "room": {"id": room.id, "kind": room.kind.value},
            "message": {
                "id": message.id,
                "ts": message.ts,
                "user": msgspec.structs.asdict(message.user),
                "lang": message.lang,
                "text": message.text,
                "tr": dict(message.tr),
            },
            "reporter": {"id": person.id, "name": person.name},
        }
        if reason:
            report["reason"] = reason
        earlier = await self._store.find_report(room.id, message_id, person.id)
        if earlier is not None:  # a repeat costs nothing and changes nothing
            return earlier
        wait = await self._limits.take_token(f"report:{person.id}", self._rate, self._burst)
        if wait:
            if wait < 0 or math.isinf(wait):  # a zero rate: reports are off
                raise Refused("rate_limited", "reports are turned off at this event")
            seconds = math.ceil(wait)
            raise Refused(
                "rate_limited",
                f"you have sent many reports in a short time; you may report again in {seconds} s",
                retry_after=seconds,
            )
        stored = await self._store.add_report(report)
        if stored["id"] == report["id"]:
            await self._broker.broadcast(ReportsChanged())
        return stored

    async def page(
        self, actor: Actor, *, after: int, limit: int, state: str | None
    ) -> tuple[list[dict[str, Any]], int | None]:
        """A page of reports, oldest first, and the position to go on from (None: that was all)."""
        require_report_desk(actor)
        found = await self._store.reports(after=after, limit=limit + 1, state=state)
        more = len(found) > limit
        found = found[:limit]
        return found, (int(found[-1]["seq"]) if more else None)

    async def open_count(self) -> int:
        return await self._store.open_report_count()

    async def inbox(self, actor: Actor, lang: str) -> list[dict[str, Any]]:
        """The open reports grouped by message, each message with `tr` {lang, text} when its
        translation into `lang` is stored (from the report, or the room's recent history)."""
        require_report_desk(actor)
        reports: list[dict[str, Any]] = []
        after = 0
        while True:
            page = await self._store.reports(after=after, limit=PAGE_MAX, state="open")
            reports += page
            if len(page) < PAGE_MAX:
                break
            after = int(page[-1]["seq"])
        groups = group_by_message(reports)
        histories: dict[str, dict[str, dict[str, str]]] = {}  # room -> message id -> translations
        for group in groups:
            translations = group.pop("_tr")
            message = group["message"]
            if message["lang"] == lang:
                continue
            if lang not in translations:
                room = group["room"]["id"]
                if room not in histories:
                    recent = await self._broker.history(room, before=None, limit=self._history_max)
                    histories[room] = {m.id: dict(m.tr) for m in recent}
                translations = histories[room].get(message["id"], translations)
            if lang in translations:
                message["tr"] = {"lang": lang, "text": translations[lang]}
        return groups

    async def close(
        self,
        actor: Actor,
        room: str,
        message_id: str,
        action: str,
        reason: str | None = None,
        seconds: int | None = None,
    ) -> list[dict[str, Any]]:
        """Do `action` about a reported message and close its open reports; the reports closed.
        Nothing is done when no report of it is open (another moderator closed them first)."""
        require_report_desk(actor)
        if action not in ACTIONS:
            raise Refused("bad_request", f'"action" must be one of {", ".join(ACTIONS)}')
        group = await self._open_reports_of(room, message_id)
        if not group:
            raise Refused(
                "not_found",
                f"no open report of message {message_id!r} in {room!r} (another moderator may have closed it)",
            )
        if action != "dismiss":
            private = group[0]["room"].get("kind") == "private"
            author = group[0]["message"]["user"]["id"]
            if action == "delete":
                if private:
                    raise Refused(
                        "forbidden",
                        "a private conversation's message is not deleted by organisers; "
                        "mute or ban its author event-wide, or dismiss the report",
                    )
                try:
                    await self._moderation.apply(actor, Action("delete", room, message_id=message_id, reason=reason))
                except Refused as exc:
                    if exc.code != "not_found":  # not_found: deleted already (a `delete` frame): close anyway
                        raise
            else:
                await self._moderation.apply(
                    actor,
                    Action(
                        action,
                        EVENT_WIDE if private else room,
                        user=author,
                        seconds=seconds if action == "mute" else None,
                        reason=reason,
                    ),
                )
        closed = {"by": {"id": actor.id, "name": actor.name}, "ts": now_ms(), "action": action}
        done = await self._store.close_reports(
            room, message_id, "dismissed" if action == "dismiss" else "actioned", closed
        )
        if done:
            await self._broker.broadcast(ReportsChanged())
        return done

    async def message_deleted(self, actor: Actor, room: str, message_id: str) -> None:
        """A message was deleted in its room (a `delete` frame): its open reports close as
        `actioned` by whoever deleted it, as if done from the inbox."""
        closed = {"by": {"id": actor.id, "name": actor.name}, "ts": now_ms(), "action": "delete"}
        if await self._store.close_reports(room, message_id, "actioned", closed):
            await self._broker.broadcast(ReportsChanged())

    async def _open_reports_of(self, room: str, message_id: str) -> list[dict[str, Any]]:
        found, after = [], 0
        while True:
            page = await self._store.reports(after=after, limit=PAGE_MAX, state="open")
            found += [r for r in page if r["room"]["id"] == room and r["message"]["id"] == message_id]
            if len(page) < PAGE_MAX:
                return found
            after = int(page[-1]["seq"])


__all__ = [
    "ACTIONS",
    "PAGE_DEFAULT",
    "PAGE_MAX",
    "STATES",
    "ReportDesk",
    "decode_cursor",
    "group_by_message",
    "may_work_reports",
    "require_report_desk",
]
