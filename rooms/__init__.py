"""The domain core: rooms, roles, who may join, send and moderate whom, and the moderation actions.

Both edges (the WebSocket session in chat/, the HTTP API in web/) ask these rules; a rule's
"no" is `Refused(code, message)`, which each edge maps to its answer. The core imports no
transport and no backend, only the store interfaces in rooms/stores; it never imports `chat`
or `web`.

    models.py      Room, RoomState, Role, room validation      policy.py   pure rules on roles and states
    roles.py       a user's role in a room, a target's standing  access.py   may join, may send
    moderation.py  the moderation actions                       limits.py   rate limit and slow mode
    refusal.py     Refused                                      stores/     the store interfaces
    sanctions.py   mutes and bans as they bind, event-wide ones on every path
    conversations.py  private conversations, profiles, contact requests: the pure rules
    countries.py   ISO 3166-1 alpha-2 codes
    reports.py     reports: who works them, one per person and message, the rate, the inbox, closing
"""

from rooms.models import (
    SLOW_MODE_MAX,
    TITLE_MAX,
    InvalidRoom,
    Role,
    Room,
    RoomKind,
    RoomState,
    is_room_id,
    new_room,
    room_fields,
)
from rooms.refusal import Refused

__all__ = [
    "SLOW_MODE_MAX",
    "TITLE_MAX",
    "InvalidRoom",
    "Refused",
    "Role",
    "Room",
    "RoomKind",
    "RoomState",
    "is_room_id",
    "new_room",
    "room_fields",
]
