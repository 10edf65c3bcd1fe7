"""The meeting store (rooms/stores/meetings.py) on Redis: every node sees the same slots, places
and meetings, and a booking is one Lua script (lua/update_meeting.lua), so two nodes racing for
the last table of a slot cannot both win.

Keys, all under `key_prefix`:
    meeting:places, meeting:places:order   hash place id -> JSON; zset place id -> ms first added
    meeting:slots                          hash slot id -> JSON
    meetings, meetings:version             hash meeting id -> JSON; hash meeting id -> version
    meeting:user:<id>                      set of the ids of a person's meetings
    meeting:<id>:holds                     set of the hold keys a meeting holds
    meeting:hold:<slot>:<holder>           the id of the meeting holding a person or place in a slot
"""

from __future__ import annotations

import json
from typing import Literal

from chat.backend.redis.calls import RedisParts, read_call, write_call
from rooms.meetings import Meeting, Place, Slot
from rooms.stores import MeetingStore, now_ms
from rooms.stores.meetings import CHANGED, TAKEN, Hold


class RedisMeetings(RedisParts, MeetingStore):
    def _meeting_key(self, *parts: str) -> str:
        return self._keys.prefix + ":".join(parts)

    @write_call
    async def save_place(self, place: Place) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._meeting_key("meeting", "places"), place.id, json.dumps(place.to_dict()))
            pipe.zadd(self._meeting_key("meeting", "places", "order"), {place.id: now_ms()}, nx=True)
            await pipe.execute()

    @read_call
    async def places(self) -> list[Place]:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zrange(self._meeting_key("meeting", "places", "order"), 0, -1)
            pipe.hgetall(self._meeting_key("meeting", "places"))
            order, data = await pipe.execute()
        return [Place.from_dict(json.loads(data[place])) for place in order if place in data]

    @write_call
    async def save_slot(self, slot: Slot) -> None:
        await self._redis.hset(self._meeting_key("meeting", "slots"), slot.id, json.dumps(slot.to_dict()))

    @read_call
    async def slots(self) -> list[Slot]:
        raw: list[str] = await self._redis.hvals(self._meeting_key("meeting", "slots"))  # type: ignore[assignment]
        return sorted((Slot.from_dict(json.loads(item)) for item in raw), key=lambda s: (s.start, s.end, s.id))

    @write_call
    async def add_meeting(self, meeting: Meeting) -> Meeting:
        stored = meeting.changed(version=1)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._meeting_key("meetings"), stored.id, json.dumps(stored.to_dict()))
            pipe.hset(self._meeting_key("meetings", "version"), stored.id, "1")
            for person in stored.people:
                pipe.sadd(self._meeting_key("meeting", "user", person), stored.id)
            await pipe.execute()
        return stored

    @read_call
    async def meeting(self, meeting_id: str) -> Meeting | None:
        raw: str | None = await self._redis.hget(self._meeting_key("meetings"), meeting_id)  # type: ignore[assignment]
        return Meeting.from_dict(json.loads(raw)) if raw else None

    @read_call
    async def meetings_of(self, user: str) -> list[Meeting]:
        ids: set[str] = await self._redis.smembers(self._meeting_key("meeting", "user", user))  # type: ignore[assignment]
        if not ids:
            return []
        raw: list[str | None] = await self._redis.hmget(self._meeting_key("meetings"), sorted(ids))  # type: ignore[assignment]
        return _oldest_first([Meeting.from_dict(json.loads(item)) for item in raw if item])

    @read_call
    async def all_meetings(self) -> list[Meeting]:
        raw: list[str] = await self._redis.hvals(self._meeting_key("meetings"))  # type: ignore[assignment]
        return _oldest_first([Meeting.from_dict(json.loads(item)) for item in raw])

    @write_call
    async def update_meeting(
        self, meeting: Meeting, *, version: int, holds: list[Hold]
    ) -> Meeting | Literal["taken", "changed"]:
        updated = meeting.changed(version=version + 1)
        held_key = self._meeting_key("meeting", meeting.id, "holds")
        # read after the caller read the meeting: the script's version check proves them current
        held: set[str] = await self._redis.smembers(held_key)  # type: ignore[assignment]
        keys = [
            self._meeting_key("meetings"),
            self._meeting_key("meetings", "version"),
            held_key,
            *sorted(held),
            *(self._meeting_key("meeting", "hold", slot, holder) for slot, holder in holds),
        ]
        outcome = await self._scripts["update_meeting"](
            keys=keys, args=[meeting.id, str(version), json.dumps(updated.to_dict()), str(len(held))]
        )
        if outcome == "taken":
            return TAKEN
        if outcome == "changed":
            return CHANGED
        return updated


def _oldest_first(meetings: list[Meeting]) -> list[Meeting]:
    return sorted(meetings, key=lambda m: (m.ts, m.id))
