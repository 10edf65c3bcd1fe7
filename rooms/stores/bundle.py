"""A backend's stores: one object per interface, so each service is handed only those it uses."""

from __future__ import annotations

from dataclasses import dataclass

from rooms.stores.broker import Broker
from rooms.stores.conversation_store import ConversationStore
from rooms.stores.limits import LimitStore
from rooms.stores.meetings import MeetingStore
from rooms.stores.moderation_store import ModerationStore
from rooms.stores.presence import Presence
from rooms.stores.room_store import RoomStore
from rooms.stores.sends import SendStore
from rooms.stores.sessions import SessionStore


@dataclass(frozen=True, slots=True)
class Stores:
    """Every store of one backend. The objects of one backend share its connection (or file, or
    in-process state), so what one writes the others read; the composition root (chat/node.py)
    hands each service the few it needs, and tests/backend/ checks each against its interface."""

    broker: Broker
    presence: Presence
    rooms: RoomStore
    moderation: ModerationStore
    limits: LimitStore
    conversations: ConversationStore
    meetings: MeetingStore
    sessions: SessionStore
    sends: SendStore
