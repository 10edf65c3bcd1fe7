"""The core's rules on the memory stores: no server, no socket, no Redis; each test runs in milliseconds."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from chat.backend import Encoded, Event, Member, MemoryBackend
from rooms import Role, Room, RoomState
from rooms.access import RoomAccess
from rooms.limits import SendLimits
from rooms.moderation import Moderation
from rooms.roles import Roles
from rooms.sanctions import Sanctions
from rooms.stores import Stores

ROOM = "plenary"


@dataclass(frozen=True)
class User:
    """An Actor, as a verified token would describe it."""

    id: str
    name: str
    role: Role = Role.DELEGATE
    rooms: tuple[str, ...] = ()

    def member(self, conn: str, role: Role | None = None) -> Member:
        return Member(conn, self.id, self.name, "en", (role or self.role).value)


HOST = User("u_host", "Hana", Role.HOST)
MOD = User("u_mod", "Mo", Role.MODERATOR)
ELSEWHERE_MOD = User("u_emod", "Em", Role.MODERATOR, rooms=("other",))
DEE = User("u_dee", "Dee")
EVE = User("u_eve", "Eve")


@dataclass
class Core:
    backend: MemoryBackend
    stores: Stores
    roles: Roles
    access: RoomAccess
    moderation: Moderation
    sanctions: Sanctions
    # what the stores published, in order (in production: the node's hub, which Backend.start is handed)
    events: list[Event | Encoded] = field(default_factory=list)

    async def sign_in(self, *users: User) -> None:
        """These users authenticated (a WebSocket `auth` does this): the event knows their token role."""
        for user in users:
            await self.roles.authenticated(user)


@pytest.fixture
async def core() -> Core:
    backend = MemoryBackend(node_id="test")
    events: list[Event | Encoded] = []
    await backend.start(lambda room, event: events.append(event))
    stores = backend.stores
    await stores.rooms.seed_rooms(
        (
            Room(ROOM, "Plenary"),
            Room("quiet", "Quiet", state=RoomState.READ_ONLY),
            Room("shut", "Shut", state=RoomState.CLOSED),
            Room("slow", "Slow", slow_mode=60),
        )
    )
    roles = Roles(stores.moderation, stores.presence)
    limits = SendLimits(stores.limits, rate_per_second=1, burst=3)
    return Core(
        backend,
        stores,
        roles,
        RoomAccess(stores.rooms, stores.moderation, roles, limits, stores.conversations),
        Moderation(stores.rooms, stores.moderation, stores.broker, roles, stores.conversations),
        Sanctions(stores.moderation),
        events,
    )
