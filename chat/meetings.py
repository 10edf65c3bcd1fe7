"""Meetings on one node (issue 26): the organisers' slots and places, proposals, answers, the
agenda and the organisers' grid.

The rules are `rooms.meetings`; the state is the backend's MeetingStore, whose `update_meeting` is
the one atomic step that keeps a person and a place to one meeting per slot on every node. Every
change goes to both people's connections as a `meeting` frame in a node-wide `direct` envelope,
the way contact requests reach people (chat/conversations.py), and is recorded as a card in the
two people's conversation: a message carrying `meeting` (the step), whose text is the note or the
reason, translated by the relay like any message (so it is in history, `since` and on every node).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from chat.config import MeetingSettings
from rooms import Refused
from rooms.conversations import EVENT_WIDE, Policy, Profile
from rooms.meetings import (
    BOOKED,
    CANCELLED,
    DECLINED,
    NEXT_SLOTS,
    PROPOSED,
    Meeting,
    Place,
    Slot,
    Taken,
    accept_refusal,
    answer_refusal,
    bookable_refusal,
    busy_slots,
    cancel_refusal,
    free_slots,
    holds_of,
    iso,
    move_refusal,
    new_meeting_id,
    next_free,
    offered_place_refusal,
    place_for,
    place_id,
    planned_slots,
    propose_refusal,
    see_refusal,
    slot_id,
    slots_refusal,
    taken_places,
)
from rooms.roles import Actor
from rooms.sanctions import ban_refusal
from rooms.stores import Broker, ConversationStore, MeetingStep, MeetingStore, ModerationStore, now_ms
from rooms.stores.errors import BackendUnavailable
from rooms.stores.events import Direct, MeetingChanged
from rooms.stores.meetings import CHANGED, TAKEN
from rooms.stores.messages import StepSlot, StoredMessage
from translation import TranslationService

if TYPE_CHECKING:
    from chat.conversations import Person
    from chat.relay import TranslationRelay

log = logging.getLogger("babelroom.meetings")

ATTEMPTS = 5  # compare-and-set rounds before a change that keeps meeting a newer version gives up
#: What a person's meeting steps are told in: their 1:1 conversation with the other (found, or
#: opened when the conversation policy lets them talk), or None when they may not talk yet.
OpenPair = Callable[["Person", str], Awaitable[str | None]]
#: A card was stored in a conversation (Conversations.message_stored: the members' unread counts).
CardStored = Callable[[str, StoredMessage], Awaitable[None]]


class Meetings:
    def __init__(
        self,
        store: MeetingStore,
        people: ConversationStore,
        moderation: ModerationStore,
        broker: Broker,
        settings: MeetingSettings,
        policy: Policy,
        take_token: Callable[[str], Awaitable[None]],
        translator: TranslationService | None = None,
        relay: TranslationRelay | None = None,
        open_pair: OpenPair | None = None,
        card_stored: CardStored | None = None,
    ) -> None:
        self._store, self._people, self._moderation, self._broker = store, people, moderation, broker
        self._translator = translator
        self.settings = settings
        self.zone = ZoneInfo(settings.timezone)
        self._policy = policy
        self._take_token = take_token
        self._relay = relay
        self._open_pair = open_pair
        self._card_stored = card_stored

    async def seed(self) -> None:
        """Store the configured places and slots (the same ids on every node, so seeding twice is harmless)."""
        if not self.settings.enabled:
            return
        ids = []
        for name in self.settings.places:
            await self._store.save_place(Place(place_id(name), name))
            ids.append(place_id(name))
        if self.settings.online:
            await self._store.save_place(
                Place(place_id(self.settings.online), self.settings.online, online=True, link=self.settings.online_link)
            )
            ids.append(place_id(self.settings.online))
        for slot in planned_slots(
            self.settings.days, self.settings.windows, self.settings.slot_minutes, self.zone, tuple(ids)
        ):
            await self._store.save_slot(slot)

    # reading --------------------------------------------------------------------------------
    async def _catalogue(self) -> tuple[dict[str, Slot], dict[str, Place]]:
        slots = {slot.id: slot for slot in await self._store.slots()}
        places = {place.id: place for place in await self._store.places()}
        return slots, places

    async def slots_for(self, user: str) -> list[dict[str, Any]]:
        """Every slot with its places, `free` for this person: they have no meeting then and the place
        has none (an online place is free whenever they are)."""
        slots, places = await self._catalogue()
        meetings = await self._store.all_meetings()
        busy = busy_slots(user, meetings)
        taken = taken_places(meetings, places)
        return [
            {
                "id": slot.id,
                "start": iso(slot.start, self.zone),
                "end": iso(slot.end, self.zone),
                "places": [
                    {
                        **places[p].public(),
                        "free": slot.id not in busy and (places[p].online or (slot.id, p) not in taken),
                    }
                    for p in slot.places
                    if p in places
                ],
            }
            for slot in slots.values()
        ]

    async def add_place(self, name: str, *, online: bool = False) -> tuple[Place, bool]:
        """A place by name (created when new); (place, created)."""
        existing = {place.id: place for place in await self._store.places()}
        place = Place(place_id(name), name, online=online, link=self.settings.online_link if online else "")
        if place.id in existing:
            return existing[place.id], False
        await self._store.save_place(place)
        return place, True

    async def add_slot(self, start: int, end: int, place_names: list[str]) -> dict[str, Any]:
        if end <= start:  # 409, not 400: the body is well formed, its times disagree
            raise Refused("conflict", 'the slot would end before it starts: "end" must be after "start"')
        ids = []
        for name in place_names:
            place, _ = await self.add_place(name)
            ids.append(place.id)
        slot = Slot(slot_id(start, end), start, end, tuple(dict.fromkeys(ids)))
        await self._store.save_slot(slot)
        return {
            "id": slot.id,
            "start": iso(start, self.zone),
            "end": iso(end, self.zone),
            "places": [{"id": p, "name": n} for p, n in zip(slot.places, dict.fromkeys(place_names), strict=False)],
        }

    async def meeting_for(self, actor: Actor, meeting_id: str) -> Meeting:
        """The meeting, when the actor may see it (rooms.meetings.see_refusal), else Refused(not_found)."""
        meeting = await self._store.meeting(meeting_id)
        refusal = see_refusal(meeting, meeting_id, actor.id, actor.role)
        if refusal is not None:
            raise refusal
        assert meeting is not None  # see_refusal refuses a missing meeting
        return meeting

    async def agenda(self, user: str) -> list[dict[str, Any]]:
        """The person's meetings, soonest booked first, then the rest newest first."""
        meetings = await self._store.meetings_of(user)
        views = await self.views(meetings, user)
        booked = sorted((v for v in views if v["state"] == BOOKED), key=lambda v: v["start"])
        rest = sorted((v for v in views if v["state"] != BOOKED), key=lambda v: -int(v["ts"]))
        return booked + rest

    async def views(self, meetings: list[Meeting], viewer: str | None) -> list[dict[str, Any]]:
        slots, places = await self._catalogue()
        people = {p.id: p for p in await self._people.profiles(sorted({u for m in meetings for u in m.people}))}
        views = [self._view(m, viewer, slots, places, people) for m in meetings]
        reader = people.get(viewer or "")
        if reader is not None and self._translator is not None:
            for meeting, view in zip(meetings, views, strict=True):
                await self._translate_note(meeting, view, reader.lang)
        return views

    async def _translate_note(self, meeting: Meeting, view: dict[str, Any], lang: str) -> None:
        """The note in the reader's language, like a message's translation: `note_tr` {lang, text}
        (absent when the note is in that language already or no engine can translate it)."""
        if not view["note"] or not meeting.note_lang or meeting.note_lang == lang or self._translator is None:
            return
        view["note_lang"] = meeting.note_lang
        text = await self._translator.translate(meeting.note, meeting.note_lang, lang)
        if text is not None:
            view["note_tr"] = {"lang": lang, "text": text}

    def _view(
        self,
        meeting: Meeting,
        viewer: str | None,
        slots: dict[str, Slot],
        places: dict[str, Place],
        people: dict[str, Profile],
    ) -> dict[str, Any]:
        def person(user: str) -> dict[str, Any]:
            profile = people.get(user)
            return profile.public() if profile else {"id": user, "name": user}

        def slot_view(sid: str) -> dict[str, str]:
            slot = slots.get(sid)
            return (
                {"id": sid, "start": iso(slot.start, self.zone), "end": iso(slot.end, self.zone)}
                if slot
                else {"id": sid}
            )

        party = viewer is not None and viewer in meeting.people
        data: dict[str, Any] = {
            "id": meeting.id,
            "state": meeting.state,
            "from": person(meeting.proposer),
            "to": person(meeting.invitee),
            "slots": [slot_view(s) for s in meeting.slots],
            "slot": meeting.slot,
            "place": meeting.place,
            "note": meeting.note if party else "",
            "ts": meeting.ts,
            "updated": meeting.updated,
            "timezone": self.settings.timezone,
        }  # organisers never read the note
        if party and viewer is not None:
            data["with"] = person(meeting.other(viewer))
            if meeting.room:
                data["room"] = meeting.room  # the conversation its steps are recorded in (never the organisers')
        if meeting.turn is not None:
            data["turn"] = meeting.turn
        if meeting.reason:
            data["reason"] = meeting.reason
        if meeting.by:
            data["by"] = meeting.by
        if meeting.slot is not None and meeting.slot in slots:
            data["start"], data["end"] = (
                iso(slots[meeting.slot].start, self.zone),
                iso(slots[meeting.slot].end, self.zone),
            )
        place = places.get(meeting.place or "")
        if place is not None:
            data["place_name"] = place.name
            if place.online and meeting.state == BOOKED:
                data["link"] = place.link.replace("{meeting}", meeting.id)
        return data

    # changing -----------------------------------------------------------------------------
    async def _may_reach(self, actor: Actor, other: str) -> None:
        """Blocks either way, and event-wide bans, stop new proposals and bookings."""
        known = bool(await self._people.profiles([other]))
        blocked = actor.id in await self._people.blocked_by(other) or other in await self._people.blocked_by(actor.id)
        mine = await self._moderation.standing(EVENT_WIDE, actor.id)
        theirs = await self._moderation.standing(EVENT_WIDE, other)
        contact = await self._people.is_contact(actor.id, other) or bool(
            set(await self._people.conversations_of(actor.id)) & set(await self._people.conversations_of(other))
        )
        refusal = propose_refusal(
            proposer=actor.id,
            invitee=other,
            known=known,
            blocked=blocked,
            policy=self._policy,
            contact=contact,
            proposer_banned=ban_refusal(actor.role, mine, None) is not None,
            invitee_banned=theirs.banned_event,
        )
        if refusal is not None:
            raise refusal

    async def _check_slots(self, chosen: list[str], a: str, b: str, place: str | None) -> None:
        slots, places = await self._catalogue()
        meetings = await self._store.all_meetings()
        refusal = slots_refusal(
            chosen, slots, busy=busy_slots(a, meetings) | busy_slots(b, meetings), now=now_ms()
        ) or offered_place_refusal(place, chosen, slots, places)
        if refusal is not None:
            raise refusal

    async def propose(
        self, actor: Person, other: str, chosen: list[str], place: str | None, note: str
    ) -> dict[str, Any]:
        await self._may_reach(actor, other)
        await self._take_token(actor.id)
        await self._check_slots(chosen, actor.id, other, place)
        room = await self._open_pair(actor, other) if self._open_pair is not None else None
        now = now_ms()
        meeting = await self._store.add_meeting(
            Meeting(
                id=new_meeting_id(),
                proposer=actor.id,
                invitee=other,
                slots=tuple(chosen),
                place=place,
                note=note,
                note_lang=await self._note_language(note, actor.id),
                by=actor.id,
                ts=now,
                updated=now,
                room=room or "",
            )
        )
        return await self._tell("proposed", meeting, actor, said=note, said_lang=meeting.note_lang)

    async def counter(
        self, actor: Actor, meeting_id: str, chosen: list[str], place: str | None, note: str | None
    ) -> dict[str, Any]:
        meeting = await self.meeting_for(actor, meeting_id)
        refusal = answer_refusal(meeting, actor.id, "propose")
        if refusal is not None:
            raise refusal
        await self._may_reach(actor, meeting.other(actor.id))
        await self._check_slots(chosen, *meeting.people, place)
        changed = meeting.changed(
            proposer=actor.id,
            invitee=meeting.other(actor.id),
            slots=tuple(chosen),
            place=place,
            by=actor.id,
            updated=now_ms(),
        )
        if note is not None:
            changed = changed.changed(note=note, note_lang=await self._note_language(note, actor.id))
        return await self._write("countered", meeting, changed, actor, said=note or "", said_lang=changed.note_lang)

    async def _note_language(self, note: str, author: str) -> str:
        """The note's language, detected like a message's (the author's reading language when unsure)."""
        if not note:
            return ""
        profiles = await self._people.profiles([author])
        fallback = profiles[0].lang if profiles else "en"
        return await self._translator.detect(note, fallback) if self._translator is not None else fallback

    async def accept(self, actor: Actor, meeting_id: str, chosen: str, place: str | None) -> dict[str, Any]:
        meeting = await self.meeting_for(actor, meeting_id)
        refusal = accept_refusal(meeting, actor.id, chosen)
        if refusal is not None:
            raise refusal
        await self._may_reach(actor, meeting.other(actor.id))
        booked = await self._book(meeting, chosen, place or meeting.place, actor.id)
        return await self._tell("booked", booked, actor)

    async def move(self, host: Actor, meeting_id: str, chosen: str, place: str | None) -> dict[str, Any]:
        """A host moves a booked meeting to another slot and/or place; both people are told."""
        meeting = await self.meeting_for(host, meeting_id)
        refusal = move_refusal(meeting, chosen, place)
        if refusal is not None:
            raise refusal
        moved = await self._book(meeting, chosen, place, host.id)
        return await self._tell("moved", moved, host)

    async def free_for(self, actor: Actor, meeting_id: str) -> list[dict[str, Any]]:
        """The slots and places both people of a meeting have free (the meeting itself aside), for
        a host moving it or a person choosing other times; its own slot and place are left out."""
        meeting = await self.meeting_for(actor, meeting_id)
        views = await self._free_views(meeting, None, limit=None)
        for view in views:
            if view["id"] == meeting.slot:
                view["places"] = [p for p in view["places"] if p["id"] != meeting.place]
        return [view for view in views if view["places"]]

    async def _free_views(self, meeting: Meeting, lost: Slot | None, *, limit: int | None) -> list[dict[str, Any]]:
        """The slots both people have free (as GET /api/meeting-slots shows a slot, free places
        only): after losing `lost`, the next ones first, at most `limit`."""
        slots, places = await self._catalogue()
        found = free_slots(
            meeting.people, slots, places, await self._store.all_meetings(), now=now_ms(), ignore=meeting.id
        )
        offered = next_free(found, lost, limit=len(found) if limit is None else limit)
        return [
            {
                "id": slot.id,
                "start": iso(slot.start, self.zone),
                "end": iso(slot.end, self.zone),
                "places": [{**place.public(), "free": True} for place in free],
            }
            for slot, free in offered
        ]

    async def _book(self, meeting: Meeting, chosen: str, place: str | None, by: str) -> Meeting:
        slots, places = await self._catalogue()
        slot = slots.get(chosen)
        refusal = bookable_refusal(slot, chosen, now=now_ms())
        if refusal is not None:
            raise refusal
        assert slot is not None  # bookable_refusal refuses a missing slot
        taken = taken_places([m for m in await self._store.all_meetings() if m.id != meeting.id], places)
        found = place_for(slot, place, places, taken)
        if isinstance(found, Refused):
            if found.code == "taken":
                raise Taken(found.message, await self._free_views(meeting, slot, limit=NEXT_SLOTS))
            raise found
        booked = meeting.changed(state=BOOKED, slot=slot.id, place=found.id, by=by, updated=now_ms())
        outcome = await self._store.update_meeting(booked, version=meeting.version, holds=holds_of(booked, places))
        if outcome == TAKEN:
            raise Taken(
                "someone booked this slot first: you, the other person or the place are no longer free "
                "then; choose another slot (`next` lists the next ones you both have free)",
                await self._free_views(meeting, slot, limit=NEXT_SLOTS),
            )
        if outcome == CHANGED or isinstance(outcome, str):
            raise Refused("conflict", "this meeting changed meanwhile; read it again (GET /api/me/meetings)")
        return outcome

    async def decline(self, actor: Actor, meeting_id: str, reason: str) -> dict[str, Any]:
        meeting = await self.meeting_for(actor, meeting_id)
        refusal = answer_refusal(meeting, actor.id, "decline")
        if refusal is not None:
            raise refusal
        changed = meeting.changed(state=DECLINED, reason=reason, by=actor.id, updated=now_ms())
        return await self._write(
            "declined", meeting, changed, actor, said=reason, said_lang=await self._note_language(reason, actor.id)
        )

    async def cancel(self, actor: Actor, meeting_id: str, reason: str) -> dict[str, Any]:
        meeting = await self.meeting_for(actor, meeting_id)
        refusal = cancel_refusal(meeting, actor.id, actor.role)
        if refusal is not None:
            raise refusal
        changed = meeting.changed(state=CANCELLED, reason=reason, by=actor.id, updated=now_ms())
        return await self._write(
            "cancelled", meeting, changed, actor, said=reason, said_lang=await self._note_language(reason, actor.id)
        )

    async def _write(
        self, event: str, meeting: Meeting, changed: Meeting, actor: Actor, *, said: str = "", said_lang: str = ""
    ) -> dict[str, Any]:
        """Store a change that takes no hold (it releases any): CHANGED means someone answered first."""
        places = {place.id: place for place in await self._store.places()}
        outcome = await self._store.update_meeting(changed, version=meeting.version, holds=holds_of(changed, places))
        if isinstance(outcome, str):
            raise Refused("conflict", "this meeting changed meanwhile; read it again (GET /api/me/meetings)")
        return await self._tell(event, outcome, actor, said=said, said_lang=said_lang)

    async def _tell(
        self, event: str, meeting: Meeting, actor: Actor, *, said: str = "", said_lang: str = ""
    ) -> dict[str, Any]:
        """Record the step in the conversation, then both people's connections on every node hear
        the change (each with `with` = the other). `said`: the step's note or reason."""
        await self._record(event, meeting, actor, said, said_lang)
        for user in meeting.people:
            [view] = await self.views([meeting], user)
            await self._broker.broadcast(Direct(users=[user], frame=MeetingChanged(event=event, meeting=view)))
        [answer] = await self.views([meeting], actor.id)
        return answer

    async def _record(self, event: str, meeting: Meeting, actor: Actor, said: str, said_lang: str) -> None:
        """The step as a card in the meeting's conversation: a message by whoever took it, carrying
        `meeting` (the step: the times offered or taken, the place) and, as its text, the note or
        reason, which the relay translates for the conversation's readers like any message. Idempotent
        per meeting version (the cid), so a retried step is not recorded twice."""
        if not meeting.room:
            return
        slots, places = await self._catalogue()

        def times(slot_id: str) -> StepSlot | None:
            slot = slots.get(slot_id)
            return StepSlot(slot.id, iso(slot.start, self.zone), iso(slot.end, self.zone)) if slot else None

        place = places.get(meeting.place or "")
        taken = times(meeting.slot or "") if event in ("booked", "moved") else None
        step = MeetingStep(
            id=meeting.id,
            step=event,
            timezone=self.settings.timezone,
            slots=[t for t in map(times, meeting.slots) if t is not None] if event in ("proposed", "countered") else [],
            start=taken.start if taken else None,
            end=taken.end if taken else None,
            place=place.id if place else None,
            place_name=place.name if place else None,
            link=place.link.replace("{meeting}", meeting.id) if place and place.online and taken else None,
        )
        profiles = await self._people.profiles([actor.id])
        reading = profiles[0].lang if profiles else "en"
        lang = said_lang or reading
        try:
            targets = await self._relay.targets(meeting.room, lang, reading) if said and self._relay else []
            appended = await self._broker.append_message(
                meeting.room,
                user={"id": actor.id, "name": actor.name},
                text=said,
                lang=lang,
                cid=f"{meeting.id}.{meeting.version}",
                translating=targets,
                meeting=step,
            )
        except BackendUnavailable:  # the step itself is stored and both are told; only its card is missing
            log.warning("meeting %s: the %s card could not be recorded in %s", meeting.id, event, meeting.room)
            return
        if appended.created and self._relay is not None:
            self._relay.message_stored(appended.message, targets)
        if appended.created and self._card_stored is not None:
            await self._card_stored(meeting.room, appended.message)

    # the organisers' view -------------------------------------------------------------------
    async def grid(self) -> dict[str, Any]:
        """Slots × places: which are booked (the meeting's id and people, never its conversation),
        and counts per day in the event's time zone."""
        slots, places = await self._catalogue()
        meetings = await self._store.all_meetings()
        booked = {(m.slot, m.place): m for m in meetings if m.state == BOOKED}
        names = {p.id: p.name for p in await self._people.profiles(sorted({u for m in meetings for u in m.people}))}
        rows = []
        days: dict[str, dict[str, int]] = {}
        for slot in slots.values():  # every day with slots is listed, booked or not
            day = iso(slot.start, self.zone)[:10]
            days.setdefault(day, {"booked": 0, "proposed": 0})
            cells = []
            for pid in slot.places:
                meeting = booked.get((slot.id, pid))
                cell: dict[str, Any] = {"place": pid}
                if meeting is not None:
                    cell["meeting"] = {
                        "id": meeting.id,
                        "people": [{"id": u, "name": names.get(u, u)} for u in meeting.people],
                    }
                cells.append(cell)
            rows.append(
                {"slot": slot.id, "start": iso(slot.start, self.zone), "end": iso(slot.end, self.zone), "cells": cells}
            )
        for meeting in meetings:
            first = slots.get(meeting.slot or (meeting.slots[0] if meeting.slots else ""))
            if first is not None and meeting.state in (BOOKED, PROPOSED):
                days.setdefault(iso(first.start, self.zone)[:10], {"booked": 0, "proposed": 0})[meeting.state] += 1
        return {
            "places": [p.public() for p in places.values()],
            "slots": rows,
            "days": [{"day": day, **counts} for day, counts in sorted(days.items())],
        }

    async def export_rows(self) -> list[list[str]]:
        """The booked meetings as CSV rows (header first), for the organisers."""
        slots, places = await self._catalogue()
        meetings = [m for m in await self._store.all_meetings() if m.state == BOOKED]
        people = {p.id: p for p in await self._people.profiles(sorted({u for m in meetings for u in m.people}))}
        rows = [["meeting", "start", "end", "place", "person 1", "organisation 1", "person 2", "organisation 2"]]
        for m in sorted(meetings, key=lambda m: (slots[m.slot].start if m.slot in slots else 0, m.id)):
            slot = slots.get(m.slot or "")
            cells = [
                m.id,
                iso(slot.start, self.zone) if slot else "",
                iso(slot.end, self.zone) if slot else "",
                places[m.place].name if m.place in places else "",
            ]
            for user in m.people:
                profile = people.get(user)
                cells += [profile.name if profile else user, profile.organization if profile else ""]
            rows.append(cells)
        return rows
