"""The meeting store in one process (memory backend): each call runs without awaiting, so its
check and its write are one step (atomic on the event loop)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from rooms.meetings import Meeting, Place, Slot
from rooms.stores import MeetingStore
from rooms.stores.meetings import CHANGED, TAKEN, Hold


@dataclass
class MeetingState:
    places: dict[str, Place] = field(default_factory=dict)
    slots: dict[str, Slot] = field(default_factory=dict)
    meetings: dict[str, Meeting] = field(default_factory=dict)
    holds: dict[Hold, str] = field(default_factory=dict)  # (slot, holder) -> meeting id
    held: dict[str, list[Hold]] = field(default_factory=dict)  # meeting id -> its holds


class MemoryMeetings(MeetingStore):
    def __init__(self) -> None:
        self._meet = MeetingState()

    async def save_place(self, place: Place) -> None:
        self._meet.places[place.id] = place

    async def places(self) -> list[Place]:
        return list(self._meet.places.values())

    async def save_slot(self, slot: Slot) -> None:
        self._meet.slots[slot.id] = slot

    async def slots(self) -> list[Slot]:
        return sorted(self._meet.slots.values(), key=lambda slot: (slot.start, slot.end, slot.id))

    async def add_meeting(self, meeting: Meeting) -> Meeting:
        stored = meeting.changed(version=1)
        self._meet.meetings[meeting.id] = stored
        return stored

    async def meeting(self, meeting_id: str) -> Meeting | None:
        return self._meet.meetings.get(meeting_id)

    async def meetings_of(self, user: str) -> list[Meeting]:
        return [m for m in self._meet.meetings.values() if user in m.people]

    async def all_meetings(self) -> list[Meeting]:
        return list(self._meet.meetings.values())

    async def update_meeting(
        self, meeting: Meeting, *, version: int, holds: list[Hold]
    ) -> Meeting | Literal["taken", "changed"]:
        state = self._meet
        stored = state.meetings.get(meeting.id)
        if stored is None or stored.version != version:
            return CHANGED
        if any(state.holds.get(hold, meeting.id) != meeting.id for hold in holds):
            return TAKEN
        for hold in state.held.pop(meeting.id, []):
            if state.holds.get(hold) == meeting.id:
                del state.holds[hold]
        for hold in holds:
            state.holds[hold] = meeting.id
        state.held[meeting.id] = list(holds)
        updated = meeting.changed(version=version + 1)
        state.meetings[meeting.id] = updated
        return updated
