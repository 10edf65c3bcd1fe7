"""Store interfaces: what the domain core and the edges may ask of shared state.

Each interface is small and its docstring states its guarantees; each backend in `chat/backend/`
(memory, sqlite, redis) implements each of them as one small object, and hands them out as one
`Stores` bundle (bundle.py); tests/backend/ checks every guarantee against every implementation.
The core (`rooms/`) depends on these, never on a backend.

    Broker           pub/sub per room + ordered history with positions and epochs, idempotent append
    Presence         who is in a room, per user across connections and nodes
    RoomStore        the rooms and their settings
    ModerationStore  mutes, bans, appointed moderators, known roles, the moderation log
    LimitStore       the per-user token bucket and slow mode, one allowance cluster-wide
    ConversationStore  profiles, who is online, conversation members, contact requests, blocks, reports
    MeetingStore     meeting slots and places, meetings, bookings held atomically (no double booking)
    SessionStore     sign-ins per device (a token's `sid`) and personal sign-in codes
    SendStore        a plain message's standing, limits, census and append in one step
    SharedCache      the translation cache shared by nodes (defined in translation/, its user)
"""

from rooms.stores.broker import Appended, Broker, Encoded, EventHandler, Reacted, Replay
from rooms.stores.bundle import Stores
from rooms.stores.clock import now_ms
from rooms.stores.conversation_store import ConversationStore
from rooms.stores.errors import BackendUnavailable, StoreError
from rooms.stores.events import Event
from rooms.stores.limits import LimitStore, SendWait
from rooms.stores.meetings import MeetingStore
from rooms.stores.messages import Author, MeetingStep, Quote, StoredMessage
from rooms.stores.moderation_store import ModerationEntry, ModerationStore, Mute, Standing
from rooms.stores.presence import Member, Presence, census_of
from rooms.stores.room_store import RoomStore
from rooms.stores.sends import Outgoing, SendGate, SendStore, Sent, clear, translation_targets
from rooms.stores.sessions import Delegate, SessionStore, SignIn

__all__ = [
    "Appended",
    "Author",
    "BackendUnavailable",
    "Broker",
    "ConversationStore",
    "Delegate",
    "Encoded",
    "Event",
    "EventHandler",
    "LimitStore",
    "MeetingStep",
    "MeetingStore",
    "Member",
    "ModerationEntry",
    "ModerationStore",
    "Mute",
    "Outgoing",
    "Presence",
    "Quote",
    "Reacted",
    "Replay",
    "RoomStore",
    "SendGate",
    "SendStore",
    "SendWait",
    "Sent",
    "SessionStore",
    "SignIn",
    "Standing",
    "StoreError",
    "StoredMessage",
    "Stores",
    "census_of",
    "clear",
    "now_ms",
    "translation_targets",
]
