"""The shapes of the HTTP API's answers that several routes share, as msgspec Structs: the OpenAPI
document (web/openapi.py) describes the answers by these; a route's own shapes sit beside it."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from rooms import Role, RoomState
from rooms.models import ROOM_ID

RoomId = Annotated[str, Meta(pattern=ROOM_ID.pattern)]


class User(msgspec.Struct):
    id: str
    name: str
    role: Annotated[str, Meta(extra_json_schema={"enum": ["host", "moderator", "delegate"]})]


class RoomTr(msgspec.Struct):
    """A room's title and forum in the language asked with ?lang= (where a route exists)."""

    lang: str
    title: str
    forum: str


class Room(msgspec.Struct, omit_defaults=True):
    id: RoomId
    title: str
    forum: str
    state: RoomState
    slow_mode: Annotated[int, Meta(ge=0, description="seconds between a delegate's messages")]
    members: Annotated[int, Meta(ge=0, description="distinct users in the room, every node")]
    writers: Annotated[
        list[Role],
        Meta(
            description="the roles the room's state lets write now: every role when "
            "open, host and moderator when read_only, none when closed"
        ),
    ]
    tr: RoomTr | UnsetType = UNSET


class Person(msgspec.Struct, omit_defaults=True):
    """A profile; only id, name and online for someone never seen."""

    id: str
    name: str
    lang: str | UnsetType = UNSET
    organization: str | UnsetType = UNSET
    country: str | UnsetType = UNSET
    bio: str | UnsetType = UNSET
    online: bool | UnsetType = UNSET


class Session(msgspec.Struct, omit_defaults=True):
    token: Annotated[str, Meta(description="a JWT for the `auth` frame")]
    user: User
    lang: str
    expires_in: Annotated[int, Meta(description="seconds")]
    session: (
        Annotated[str, Meta(description="this device's sign-in (the token's `sid`): GET /api/me/sessions lists it")]
        | UnsetType
    ) = UNSET
