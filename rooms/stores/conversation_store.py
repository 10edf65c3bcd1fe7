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
- `online` counts a user online until the latest `until` any node marked; a cooldown ends at its `until`.
- `profiles` returns the stored profiles with their hidden flag; `save_profile` leaves that flag alone.
- Reports are kept in the order they were added (the newest REPORTS_MAX).
"""
from __future__ import annotations

import abc
from typing import Any

from rooms.conversations import ContactRequest, Profile

REPORTS_MAX = 1000  # reports kept


class ConversationStore(abc.ABC):
    # profiles and who is online ---------------------------------------------------------
    @abc.abstractmethod
    async def save_profile(self, profile: Profile) -> None:
        """Store a profile; its `hidden` flag is left as it was (set_hidden changes it)."""

    @abc.abstractmethod
    async def profiles(self, ids: list[str] | None = None) -> list[Profile]:
        """The stored profiles of these users (all of them when None), with their hidden flag."""

    @abc.abstractmethod
    async def set_hidden(self, user: str, hidden: bool) -> None: ...

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
    async def add_report(self, report: dict[str, Any]) -> None: ...

    @abc.abstractmethod
    async def reports(self, limit: int = 200) -> list[dict[str, Any]]:
        """The newest reports, oldest first."""
