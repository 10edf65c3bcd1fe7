"""The meeting store: the slots and places organisers set, and the meetings people agree.

Guarantees (tests/backend/test_meeting_store.py):
- State is shared by every node at once (a slot a host adds on one node is offered on all).
- `save_place` and `save_slot` replace the record with the same id (configured ones are seeded
  by every node at start, with the same ids).
- `update_meeting` is one atomic compare-and-set: it writes the meeting only when the stored one
  still has `version`, and only when every hold it asks for is free or already this meeting's;
  it then releases the holds the meeting had and takes the new ones, in the same step. So a
  person and a place hold at most one meeting per slot, on every node at once: of many meetings
  racing for one (slot, holder), exactly one is booked and every other caller hears TAKEN.
- A meeting written is returned with `version` one higher; `meeting` and `meetings_of` read it back.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # annotations only: rooms.meetings imports rooms.stores (through rooms.conversations)
    from rooms.meetings import Meeting, Place, Slot

TAKEN: Literal["taken"] = "taken"  # a hold asked for belongs to another meeting
CHANGED: Literal["changed"] = "changed"  # the stored meeting is not at the version given
Hold = tuple[str, str]  # (slot id, holder): holder "user:<id>" or "place:<id>"


class MeetingStore(abc.ABC):
    # slots and places ----------------------------------------------------------------------
    @abc.abstractmethod
    async def save_place(self, place: Place) -> None:
        """Add or replace a place (by id)."""

    @abc.abstractmethod
    async def places(self) -> list[Place]:
        """Every place, in the order first added."""

    @abc.abstractmethod
    async def save_slot(self, slot: Slot) -> None:
        """Add or replace a slot (by id)."""

    @abc.abstractmethod
    async def slots(self) -> list[Slot]:
        """Every slot, by start time."""

    # meetings ------------------------------------------------------------------------------
    @abc.abstractmethod
    async def add_meeting(self, meeting: Meeting) -> Meeting:
        """Store a new (proposed) meeting, which holds nothing; it comes back at version 1."""

    @abc.abstractmethod
    async def meeting(self, meeting_id: str) -> Meeting | None: ...

    @abc.abstractmethod
    async def meetings_of(self, user: str) -> list[Meeting]:
        """The meetings the user is one of the two people of, in any state, oldest first."""

    @abc.abstractmethod
    async def all_meetings(self) -> list[Meeting]:
        """Every meeting, oldest first (the organisers' grid)."""

    @abc.abstractmethod
    async def update_meeting(
        self, meeting: Meeting, *, version: int, holds: list[Hold]
    ) -> Meeting | Literal["taken", "changed"]:
        """Atomically: CHANGED unless the stored meeting is at `version`; TAKEN when a hold in `holds`
        belongs to another meeting; else release the meeting's old holds, take `holds`, store the
        meeting at version + 1 and return it. Nothing changes on CHANGED or TAKEN."""
