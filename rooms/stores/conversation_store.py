"""The conversation store: profiles and who is online, conversation members and read positions,
contact requests, contacts, cooldowns, blocks and reports.

The private rooms themselves are rooms of the RoomStore (`kind: private`), so history, `since`,
translation and fan-out are the forum rooms' own; this store holds what only conversations have.

Guarantees (tests/backend/test_conversation_store.py):
- State is shared by every node at once (a block written on one node refuses a request on any).
- `claim_pair` gives one 1:1 room per pair of people even when two nodes race to create it.
- `delete_request` answers True to exactly one caller, so a request is accepted or declined once.
- `save_request` with `incoming_cap` checks the target's waiting requests from strangers and stores
  in one step: however many nodes and senders race, no target gets more than the cap.
- `unread_count` answers from the room's kept history in one store call, without building messages:
  the same count on every backend as reading `since` (or the latest history) and counting would give.
- `online` counts a user online until the latest `until` any node marked; a cooldown ends at its `until`.
- `profiles` returns the stored profiles with their hidden flag; `save_profile` leaves that flag alone.
- `directory` pages through the visible profiles in (case-folded name, id) order from an index,
  never reading every profile (tests/backend/test_directory_store.py): each person once across
  pages, filters applied, the same answer on every backend.
- `expire_profiles` forgets anonymous profiles that no node saw for the given time (not while some
  node counts them online); hosts', moderators' and token-holders' profiles never expire.
- Reports: one per reporter and message (`add_report` of a repeat answers the first and stores
  nothing, also when two nodes race); each gets a `seq` (1, 2, ... in the order stored, the paging
  cursor); REPORTS_MAX are kept, and beyond that the oldest closed report goes first, then the
  oldest open one. `close_reports` closes every open report of a message at once and answers
  them to exactly one caller (of two moderators closing at once, one gets the reports).
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: rooms.conversations imports rooms.stores (its events) at import time
    from rooms.conversations import ContactRequest, DirectoryQuery, Profile

REPORTS_MAX = 1000  # reports kept (README: "1000 kept")


def report_key(report: dict[str, Any]) -> tuple[str, str, str]:
    """What makes a report one of a kind: (room, message, reporter)."""
    return report["room"]["id"], report["message"]["id"], report["reporter"]["id"]


class ConversationStore(abc.ABC):
    # profiles and who is online ---------------------------------------------------------
    @abc.abstractmethod
    async def save_profile(self, profile: Profile) -> None:
        """Store a profile and when it was saved (now); its `hidden` flag is left as it was
        (set_hidden changes it)."""

    @abc.abstractmethod
    async def profiles(self, ids: list[str] | None = None) -> list[Profile]:
        """The stored profiles of these users (all of them when None), with their hidden flag."""

    @abc.abstractmethod
    async def set_hidden(self, user: str, hidden: bool) -> None: ...

    @abc.abstractmethod
    async def directory(self, query: DirectoryQuery, limit: int) -> list[Profile]:
        """At most `limit` visible profiles matching the query (DirectoryQuery.matches), strictly after
        `query.after` in (name.casefold(), id) order, in that order; read from the store's index."""

    @abc.abstractmethod
    async def staff(self) -> list[Profile]:
        """The stored profiles whose role is host or moderator (hidden or not): whose names delegates
        may not copy."""

    @abc.abstractmethod
    async def expire_profiles(self, before: int) -> list[str]:
        """Forget the anonymous profiles (Profile.anonymous) last saved or counted online before
        `before` (ms) and not counted online now; the ids forgotten."""

    @abc.abstractmethod
    async def mark_online(self, users: set[str], until: int) -> None:
        """These users have a connection on this node; count them online until `until` (ms)."""

    @abc.abstractmethod
    async def online(self, users: list[str]) -> set[str]:
        """Which of these users some node counts online now."""

    # conversations ---------------------------------------------------------------------------
    @abc.abstractmethod
    async def claim_pair(self, pair: str, room: str) -> str:
        """Record `room` as the 1:1 of a pair unless one exists; the pair's room either way."""

    @abc.abstractmethod
    async def release_pair(self, pair: str, room: str) -> None:
        """Forget the pair's 1:1 when it is this room (it closed)."""

    @abc.abstractmethod
    async def add_conversation_members(self, room: str, users: list[str]) -> None: ...

    @abc.abstractmethod
    async def leave_conversation(self, room: str, user: str) -> int:
        """Take a member out for good; how many members remain."""

    @abc.abstractmethod
    async def conversation_members(self, room: str) -> set[str]: ...

    @abc.abstractmethod
    async def conversations_of(self, user: str) -> list[str]:
        """The ids of the conversations the user is a member of."""

    @abc.abstractmethod
    async def set_read(self, room: str, user: str, message_id: str) -> None:
        """The newest message of the room the user has received (its read position)."""

    @abc.abstractmethod
    async def read_positions(self, user: str) -> dict[str, str]: ...

    @abc.abstractmethod
    async def read_position(self, user: str, room: str) -> str | None:
        """The user's read position in one room (`read_positions(user).get(room)`), read alone: a
        private send asks it for each member, who may have read positions in many rooms (issue 27)."""

    @abc.abstractmethod
    async def unread_count(self, room: str, viewer: str, after: str | None, cap: int) -> int:
        """How many of the room's kept messages after the message id `after` (every kept one when
        None) someone other than `viewer` wrote and nobody deleted, counting no further than `cap`:
        min(cap, that number). 0 when `after` is not a place the history can replay from (Broker.since
        would answer recovered=False: trimmed away, another epoch, beyond the newest, not an id),
        since a client then sees only the latest history, not what it missed. One read of the
        store: the messages are counted where they are kept, never built (issue 27)."""

    # contact requests, contacts, cooldowns ----------------------------------------------------
    @abc.abstractmethod
    async def save_request(self, request: ContactRequest, *, incoming_cap: int | None = None) -> bool:
        """Store a request; True when stored. With `incoming_cap`, a request marked `stranger` is
        stored only while its target has fewer than `incoming_cap` stranger requests that have not
        expired at the request's `ts` (answered ones are gone): the count and the write are one
        step on every node at once."""

    @abc.abstractmethod
    async def get_request(self, request_id: str) -> ContactRequest | None: ...

    @abc.abstractmethod
    async def delete_request(self, request: ContactRequest) -> bool:
        """Remove a request; True when it was still there (so one answer wins)."""

    @abc.abstractmethod
    async def requests_of(self, user: str) -> list[ContactRequest]:
        """Requests the user sent or received that are still stored (pending or expired)."""

    @abc.abstractmethod
    async def add_contact(self, a: str, b: str) -> None: ...

    @abc.abstractmethod
    async def remove_contact(self, a: str, b: str) -> None:
        """The two are contacts no more (a block ended it), whoever added the contact."""

    @abc.abstractmethod
    async def is_contact(self, a: str, b: str) -> bool: ...

    @abc.abstractmethod
    async def set_cooldown(self, sender: str, target: str, until: int) -> None: ...

    @abc.abstractmethod
    async def cooldown(self, sender: str, target: str) -> int | None:
        """Until when (ms) `sender` may not ask `target` again, if it may not now."""

    # blocks and reports --------------------------------------------------------------------
    @abc.abstractmethod
    async def set_block(self, user: str, other: str, blocked: bool) -> bool:
        """`user` blocks (or unblocks) `other`; True when that changed anything."""

    @abc.abstractmethod
    async def blocked_by(self, user: str) -> set[str]:
        """Whom the user blocks."""

    @abc.abstractmethod
    async def add_report(self, report: dict[str, Any]) -> dict[str, Any]:
        """Store a report (rooms/reports.py `new_report`: id, ts, room {id, kind}, message {id, ...},
        reporter {id, name}, reason?) as `open` with the next `seq`, unless the same reporter already
        reported the same message: then answer that earlier report (its `id` differs from this
        one's) and change nothing. Answers the stored report with `seq` and `state`."""

    @abc.abstractmethod
    async def find_report(self, room: str, message_id: str, reporter: str) -> dict[str, Any] | None:
        """The kept report of this reporter about this message, whatever its state."""

    @abc.abstractmethod
    async def reports(self, *, after: int = 0, limit: int = 100, state: str | None = None) -> list[dict[str, Any]]:
        """Up to `limit` kept reports with `seq` > `after`, oldest first; only those in `state`
        (`open`, `actioned`, `dismissed`) when given. A closed one carries `closed` {by, ts, action}."""

    @abc.abstractmethod
    async def close_reports(
        self, room: str, message_id: str, state: str, closed: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Close every open report of this message: `state` (`actioned` or `dismissed`) and `closed`
        {by {id, name}, ts, action} recorded on each. Answers the reports it closed, as stored now:
        none when none was open."""

    @abc.abstractmethod
    async def open_report_count(self) -> int:
        """How many kept reports are open."""
