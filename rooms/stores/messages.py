"""A stored message: what a room's history holds and every backend's history/since/append returns.

One msgspec Struct, built by each backend's row decoder (one function per backend) and read as
attributes everywhere; `Author` is also the `user` of the `message` event (events.NewMessage)
and frame (chat/frames.MessageFrame), so the three encode the sender the same way: {id, name}.
Frozen: a backend changes a stored message by building a new one (`msgspec.structs.replace`), so a
message a caller holds never changes under it.
"""

from __future__ import annotations

import msgspec

__all__ = ["Author", "MeetingStep", "Quote", "StepSlot", "StoredMessage"]


#: Prefix of the key a backend keeps a translation's confidence under, beside the translations
#: themselves in one JSON object ({"de": "Hallo", "@c:de": 0.93}); see split_confidence.
CONFIDENCE_KEY = "@c:"


def split_confidence(stored: dict[str, object]) -> tuple[dict[str, str], dict[str, float]]:
    """Stored translations with their confidences (CONFIDENCE_KEY entries) apart: (tr, confidence)."""
    tr: dict[str, str] = {}
    confidence: dict[str, float] = {}
    for key, value in stored.items():
        if key.startswith(CONFIDENCE_KEY):
            if isinstance(value, int | float):
                confidence[key[len(CONFIDENCE_KEY) :]] = float(value)
        elif isinstance(value, str):
            tr[key] = value
    return tr, confidence


class Author(msgspec.Struct, frozen=True):
    """Who sent a message."""

    id: str
    name: str


class Quote(msgspec.Struct, frozen=True, omit_defaults=True):
    """What a reply quotes of the message it answers: its id, author and the start of its text
    (QUOTE_CHARS), and of the translations it had then (lang -> text), as stored when the reply is
    sent. Each reader gets it in their language (`tr`), live and in history; history shows the
    quoted message as it is now (rooms/messages.py `current_quotes`: edited, translated since, or
    `deleted`)."""

    id: str
    user: Author
    text: str
    tr: dict[str, str] = msgspec.field(default_factory=dict)  # the quoted message's translations then (each cut)
    deleted: bool = False  # the quoted message was deleted (or is no longer in history): no text, no tr


#: How much of the quoted message a reply carries.
QUOTE_CHARS = 100


class StepSlot(msgspec.Struct, frozen=True):
    """A time a meeting step offers: the slot's id, start and end (ISO 8601 with the event's offset)."""

    id: str
    start: str
    end: str


class MeetingStep(msgspec.Struct, frozen=True, omit_defaults=True):
    """What a message that records a step of a meeting (issue 26) says of it: a card in the meeting's
    conversation, kept in history like any message. The message's own text is the step's note
    (proposed, countered) or reason (declined, cancelled), translated like any message, or empty.
    Times are fixed as they were at the step (ISO 8601 with the event's offset, `timezone` its name)."""

    id: str  # the meeting's
    step: str  # proposed | countered | booked | declined | cancelled | moved
    slots: list[StepSlot] = msgspec.field(default_factory=list)  # proposed, countered: the times offered
    start: str | None = None  # booked, moved: the time taken
    end: str | None = None
    place: str | None = None  # the place asked for (proposed, countered) or taken (booked, moved): its id
    place_name: str | None = None
    link: str | None = None  # an online place's call (booked, moved)
    timezone: str | None = None  # the event's time zone (IANA name)


class StoredMessage(msgspec.Struct, frozen=True, kw_only=True):
    """A message as history keeps it; `tr`: its stored translations (lang -> text), `confidence`:
    the translation engine's confidence in each (lang -> 0-1, absent when unknown); a `deleted`
    message is a placeholder keeping its place, with no text and no translations."""

    room: str
    id: str  # "<epoch>.<position>" (chat/backend/ids.py)
    ts: int  # ms since the epoch
    user: Author
    lang: str  # the source language (the sender's correction, once relabelled)
    text: str
    tr: dict[str, str] = msgspec.field(default_factory=dict)
    deleted: bool = False
    confidence: dict[str, float] = msgspec.field(default_factory=dict)
    reactions: dict[str, int] = msgspec.field(default_factory=dict)  # emoji -> people who reacted (none: absent)
    edited: bool = False  # the sender changed `text` after sending it (edit_message)
    reply_to: Quote | None = None  # the message this one answers
    mentions: list[str] = msgspec.field(default_factory=list)  # the user ids it mentions (checked: members)
    meeting: MeetingStep | None = None  # the meeting step this message records (issue 26)
