"""Who may do what where: pure rules on roles and room states, which the services in roles.py,
access.py and moderation.py apply to what the stores say."""

from __future__ import annotations

from rooms.models import Role, Room, RoomState


def room_role(role: Role, moderated_rooms: tuple[str, ...], room: str, appointed: set[str], user: str) -> Role:
    """A user's role inside one room, the one rule every edge asks.

    Hosts everywhere; a moderator token in the rooms it names (all rooms when it names none);
    a delegate where a host appointed it. A moderator token scoped to other rooms is not widened
    by an appointment: its scope is what its issuer signed.
    """
    if role is Role.HOST:
        return Role.HOST
    if role is Role.MODERATOR:
        return Role.MODERATOR if not moderated_rooms or room in moderated_rooms else Role.DELEGATE
    return appointed_role(user in appointed)


def appointed_role(appointed: bool) -> Role:
    """A delegate's role in a room: moderator where a host appointed them."""
    return Role.MODERATOR if appointed else Role.DELEGATE


def organises(role: Role) -> bool:
    """Hosts organise the event: the host API (rooms, appointments, the glossary, meeting slots and
    places, the meetings grid) is theirs, and they see, move and cancel anyone's meeting."""
    return role is Role.HOST


def listed(room: Room) -> bool:
    """The lobby (GET /api/rooms, the live lobby) lists forum rooms; a private conversation never."""
    return not room.private


def export_refusal(room: Room) -> tuple[str, str] | None:
    """(error code, message) when the room's transcript may not be exported: a private conversation's
    words are its members', never the organisers' (and `visible_room` hides it from hosts before)."""
    if room.private:
        return "forbidden", "private conversations are never exported"
    return None


def can_moderate(role_in_room: Role) -> bool:
    return role_in_room in (Role.HOST, Role.MODERATOR)


def send_refusal(room: Room, role_in_room: Role) -> tuple[str, str] | None:
    """(error code, message) when the room's state forbids this role to write, else None."""
    if room.state is RoomState.CLOSED:
        return "room_closed", f"room {room.id!r} is closed"
    if room.state is RoomState.READ_ONLY and not can_moderate(role_in_room):
        return "forbidden", f"room {room.id!r} is read-only: only hosts and moderators write here"
    return None


def writers(room: Room) -> list[Role]:
    """The roles the room's state lets write now (send_refusal asked of each role): every role when
    open, hosts and moderators when read-only, none when closed. Sent with the room (`writers` in
    `joined.room` and `room` frames), so clients ask the server's rule instead of repeating it."""
    return [role for role in Role if send_refusal(room, role) is None]


def may_act_on(actor: Role, target: Role | None) -> bool:
    """Moderators act on delegates; hosts on anyone but hosts. An absent target has no standing role."""
    if not can_moderate(actor):
        return False
    return target is None or target.rank < actor.rank
