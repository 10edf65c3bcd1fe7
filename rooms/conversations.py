"""Private conversations, profiles and contact requests: the pure rules.

A conversation is a room of kind `private` with 2-8 members. Who may start one depends on the
organiser's policy (`open`: anyone; `request`: only after a contact request was accepted;
`off`: nobody), on blocks, on the pending-request caps and on the cooldown after a declined or
expired request. These functions decide; the edges (WebSocket session, HTTP API) ask them and
the stores remember.

Groups: under `request` an invitation into a group (3-8 people) is a request like any other
(the same caps, cooldown and blocks); each invitee is a member only once they accept it. Under
`open` a group starts with everyone in it, as a 1:1 does.

Blocks hold both ways: nobody is put into one conversation with a person who blocks them, or
whom they block. A block ends what the two share: the blocked person leaves every conversation
they share with the blocker (a 1:1 left to the blocker alone turns read-only, the record of what
was said), their requests to each other go away, and they are contacts no more. Unblocking lifts
the refusals only; it gives back nothing the block ended. A chat user who unblocks someone
expects to be reachable again, not to find them back in their conversations: under `request` a
new request (from either side) brings the two back together, in a new 1:1.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from rooms.countries import is_country
from rooms.models import Role, Room, RoomState
from rooms.stores.events import (
    ContactRequestFrame,
    Conversation,
    Direct,
    Mention,
    Moderated,
    Report,
    RoleChanged,
    UnreadChanged,
)
from rooms.text import NAME_MAX, confusable_key, name_fault, text_fault

MIN_MEMBERS = 2  # the caller included
MAX_MEMBERS = 8
EVENT_WIDE = "*"  # the "room" of event-wide mutes and bans: they hold in every room
ORGANIZATION_MAX = 80
BIO_MAX = 280
TITLE_MAX = 80
REQUEST_TEXT_MAX = 500  # characters of a contact request's first message
PAGE_MAX = 100

# (error code, message saying what to do[, retry_after: seconds until it passes by itself]); a mistake
# in what was asked is `bad_request`, which the WebSocket answers as `bad_frame` (chat/session_conversations.py)
Refusal = tuple[str, str] | tuple[str, str, int]


class Policy(str, enum.Enum):
    OPEN = "open"  # anyone may start a conversation with anyone
    REQUEST = "request"  # a contact request must be accepted first
    OFF = "off"  # no private conversations at this event


@dataclass(frozen=True)
class Profile:
    """What the directory shows of a user; stored when the user authenticates."""

    id: str
    name: str
    role: str = Role.DELEGATE.value
    lang: str = "en"
    organization: str = ""
    country: str = ""
    bio: str = ""
    hidden: bool = False
    anonymous: bool = False  # a self sign-in (POST /api/session): expires after [conversations] profile_ttl

    def public(self, online: bool | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "name": self.name, "lang": self.lang}
        for key in ("organization", "country", "bio"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        if online is not None:
            data["online"] = online
        return data

    def listed(self) -> dict[str, Any]:
        """What a list of people outside the directory shows (your blocks): what the person chose
        to show — only their name when they hid from the directory — and never whether they are
        online."""
        return {"id": self.id, "name": self.name} if self.hidden else self.public()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)

    def updated(self, **changes: Any) -> Profile:
        return replace(self, **changes)


@dataclass(frozen=True)
class ContactRequest:
    """A first message waiting for its target to accept or decline it."""

    id: str
    sender: dict[str, str]  # {id, name}
    to: str
    text: str
    ts: int  # ms
    expires: int  # ms: after this the request counts as ignored
    extra: dict[str, str] = field(default_factory=dict)  # the sender's organization / country, for the card
    stranger: bool = False  # the two have not talked yet: it counts against the target's incoming cap
    group: dict[str, str] | None = None  # an invitation into this group {id, title} (None: a contact request)

    def expired(self, now: int) -> bool:
        return now >= self.expires

    def frame(self, state: str, room: str | None = None) -> ContactRequestFrame:
        """The `request` server frame for this request in a state (pending, accepted, declined), with
        the conversation it opened (`room`) once accepted."""
        return ContactRequestFrame(
            id=self.id,
            sender={**self.sender, **self.extra},
            to=self.to,
            text=self.text,
            ts=self.ts,
            expires=self.expires,
            state=state,
            room=room,
            group=self.group,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ContactRequest:
        return cls(
            id=data["id"],
            sender=dict(data["sender"]),
            to=data["to"],
            text=data["text"],
            ts=int(data["ts"]),
            expires=int(data["expires"]),
            extra=dict(data.get("extra", {})),
            stranger=bool(data.get("stranger", False)),
            group=dict(data["group"]) if data.get("group") else None,
        )


@dataclass(frozen=True)
class Complaint:
    """What is wrong with one field of a profile: the field (a form field or a token claim) and a
    phrase that follows its name ("must not contain control characters")."""

    field: str
    fault: str

    def __str__(self) -> str:
        return f'"{self.field}" {self.fault}'


_NO_NAME = object()  # profile_complaint without a name to check (a missing claim is None, and refused)


def profile_complaint(
    organization: object = "",
    country: object = "",
    bio: object = "",
    *,
    name: object = _NO_NAME,
    name_max: int = NAME_MAX,
) -> Complaint | None:
    """What is wrong with a profile (None when it is fine): the one set of rules for the sign-in
    form (POST /api/session), the token's claims and `babelroom token`.

    `name` (when given): 1-name_max characters that show what they say (rooms.text.text_fault);
    organization and bio: optional, the same text rules (a bio may hold newlines); country: an
    ISO 3166-1 alpha-2 code in capitals.
    """
    if name is not _NO_NAME:
        fault = name_fault(name, max_len=name_max)
        if fault:
            return Complaint("name", fault)
    for field_name, value, limit in (("organization", organization, ORGANIZATION_MAX), ("bio", bio, BIO_MAX)):
        if not isinstance(value, str):
            return Complaint(field_name, "must be a string")
        if len(value) > limit:
            return Complaint(field_name, f"holds at most {limit} characters")
        fault = text_fault(value, multiline=field_name == "bio")
        if fault:
            return Complaint(field_name, fault)
    if not isinstance(country, str):
        return Complaint("country", "must be a string")
    if country and not is_country(country):
        return Complaint("country", 'must be an ISO 3166-1 alpha-2 code in capitals, such as "FI" or "CN"')
    return None


def impersonated(name: str, user: str, staff: Iterable[Profile]) -> Profile | None:
    """The host or moderator (other than `user`) whose name this one copies or looks like
    (the same TR39 confusable key), or None. Delegates may not take such a name."""
    key = confusable_key(name)
    return next(
        (p for p in staff if p.id != user and p.role != Role.DELEGATE.value and confusable_key(p.name) == key), None
    )


def checks_name(role: Role) -> bool:
    """Whose name is held against the staff's (`impersonation_refusal`): a delegate's. Hosts and
    moderators are whom the check protects."""
    return role is Role.DELEGATE


def impersonation_refusal(name: str, user: str, staff: Iterable[Profile]) -> Refusal | None:
    """`name_reserved` when this name copies or looks like the name of a host or moderator the event
    has seen (`impersonated`)."""
    twin = impersonated(name, user, staff)
    if twin is None:
        return None
    return "name_reserved", f"looks like the name of a {twin.role} of this event ({twin.name!r}); choose another name"


def direct(
    users: list[str],
    frame: (
        ContactRequestFrame | Conversation | Report | Moderated | RoleChanged | Mention | UnreadChanged | None
    ) = None,
    *,
    moderators: bool = False,
    remove: dict[str, str] | None = None,
) -> Direct:
    """A node-wide envelope (Broker.broadcast): `frame` for these users' connections (and the
    event's moderators'), and/or their removal from a room ("*" = every room). Each node's hub
    opens it and delivers to its own connections; clients never see the envelope."""
    return Direct(users=users, moderators=moderators, frame=frame, remove=remove)


def pair_key(a: str, b: str) -> str:
    """The same key for a 1:1 between two people, whoever starts it."""
    return hashlib.sha256(json.dumps(sorted((a, b))).encode()).hexdigest()[:32]


def members_refusal(caller: str, others: Iterable[str]) -> Refusal | None:
    """A conversation holds 2-8 distinct people, the caller included."""
    people = {caller, *others}
    if len(people) < MIN_MEMBERS:
        return "bad_request", '"with" must name at least one other person'
    if len(people) > MAX_MEMBERS:
        return "bad_request", f"a conversation holds at most {MAX_MEMBERS} people, you included"
    return None


def start_refusal(policy: Policy, *, blocked: bool, contact: bool, blocking: bool = False) -> Refusal | None:
    """May the caller put this person into a new conversation? `blocked`: the person blocks the
    caller; `blocking`: the caller blocks the person."""
    if policy is Policy.OFF:
        return "forbidden", "private conversations are turned off at this event"
    if blocked:
        return "forbidden", "this person does not accept conversations from you"
    if blocking:
        return "forbidden", "you block this person: unblock them first (DELETE /api/blocks/{user})"
    if policy is Policy.REQUEST and not contact:
        return (
            "forbidden",
            "send this person a contact request first (the `request` frame); you can talk once they accept it",
        )
    return None


def invitations_needed(policy: Policy, others: int) -> bool:
    """Does a new conversation with this many other people start with invitations (requests)?
    Under `request` a group does: each invitee accepts before the group delivers to them."""
    return policy is Policy.REQUEST and others >= MIN_MEMBERS


def request_text_refusal(text: str) -> Refusal | None:
    """A contact request's first message: something to read, at most REQUEST_TEXT_MAX characters."""
    if not text.strip():
        return "bad_request", '"text" must not be empty: say who you are and why you write'
    if len(text) > REQUEST_TEXT_MAX:
        return "too_large", f"a contact request holds at most {REQUEST_TEXT_MAX} characters ({len(text)} given)"
    return None


def request_refusal(
    policy: Policy,
    *,
    sender: str,
    target: str,
    blocked: bool,
    contact: bool,
    pending: int,
    max_pending: int,
    already_pending: bool,
    cooldown_until: int | None,
    now: int,
    blocking: bool = False,
    group: bool = False,
    incoming: int = 0,
    max_incoming: int | None = None,
) -> Refusal | None:
    """May `sender` send `target` a contact request (or, `group`, an invitation into a group) now?

    `pending`: the sender's requests waiting; `incoming`: the target's requests waiting from people
    they have not talked to, capped at `max_incoming` (None: no cap) unless the two are contacts.
    `blocked`: the target blocks the sender; `blocking`: the sender blocks the target."""
    if policy is Policy.OFF:
        return "forbidden", "private conversations are turned off at this event"
    if sender == target:
        return "bad_request", "you cannot send a contact request to yourself"
    if blocked:
        return "forbidden", "this person does not accept contact requests from you"
    if blocking:
        return "forbidden", "you block this person: unblock them first (DELETE /api/blocks/{user})"
    if contact and not group:
        return "forbidden", "you are in contact already: start the conversation with POST /api/conversations"
    if already_pending:
        return "forbidden", "your request to this person is still waiting for an answer"
    if cooldown_until is not None and now < cooldown_until:
        seconds = -(-(cooldown_until - now) // 1000)
        return (
            "rate_limited",
            f"this person did not accept your last request; you may ask again in {seconds} s",
            seconds,
        )
    if pending >= max_pending:
        return (
            "rate_limited",
            f"you have {pending} requests waiting for an answer (at most {max_pending}); "
            "wait for answers before sending more",
        )
    if not contact and max_incoming is not None and incoming >= max_incoming:
        return INBOX_FULL
    return None


INBOX_FULL: Refusal = (
    "inbox_full",
    "this person has too many requests from people they have not talked to waiting for an answer; try again in a while",
)


def separated_refusal(
    blocks: Mapping[str, Iterable[str]], people: Iterable[str], joining: str | None = None
) -> Refusal | None:
    """Nobody is put into one conversation with someone who blocks them or whom they block.

    `blocks`: whom each of `people` blocks. With `joining`, that person is joining the others (an
    invitation being accepted) and only their pairs are looked at."""
    everyone = set(people)
    for person in everyone if joining is None else {joining}:
        others = everyone - {person}
        if set(blocks.get(person, ())) & others or any(person in set(blocks.get(o, ())) for o in others):
            if joining is not None:
                return "forbidden", "you cannot join this conversation: you and one of its members block one another"
            return (
                "forbidden",
                "these people cannot be in one conversation: one of them blocks another; start it without one of them",
            )
    return None


def block_refusal(user: str, other: str) -> Refusal | None:
    if user == other:
        return "bad_request", "you cannot block yourself"
    return None


def state_after_block(state: RoomState, members: set[str], blocker: str, blocked: str) -> RoomState:
    """The state of a conversation the blocked person is taken out of: a 1:1 left to the blocker
    alone turns read-only (their record of what was said); any other goes on as it was."""
    if members == {blocker, blocked} and state is RoomState.OPEN:
        return RoomState.READ_ONLY
    return state


def read_refusal(room: Room, *, joined: bool) -> Refusal | None:
    """May a user who sees the room (rooms.access.visible_room: a private one only its members) keep
    a read position in it? In a conversation of theirs, always; in a public room, once joined."""
    if not room.private and not joined:
        return "not_joined", f"join room {room.id!r} first"
    return None


def leave_refusal(members: set[str], user: str, room_id: str) -> Refusal | None:
    """Only a member leaves a conversation (anyone else hears it does not exist)."""
    if user not in members:
        return "not_found", f"you are in no conversation {room_id!r}; GET /api/conversations lists yours"
    return None


def answer_refusal(request: ContactRequest | None, user: str, request_id: str, now: int) -> Refusal | None:
    """Only the person a request is addressed to answers it, and only while it waits."""
    if request is None or request.to != user:
        return "not_found", f"there is no request {request_id!r} waiting for you"
    if request.expired(now):
        return "not_found", "this request has expired"
    return None


def moderates_event(role: Role, rooms: tuple[str, ...]) -> bool:
    """Hosts, and moderators whose token is not limited to some rooms, moderate the whole event."""
    return role is Role.HOST or (role is Role.MODERATOR and not rooms)


# the directory -------------------------------------------------------------------------------
# Ordered by (name case-folded, id): every backend keeps its profiles indexed by that key (sqlite:
# an index, redis: a sorted set, memory: a sorted list) and pages from a cursor holding the last key.
def directory_key(profile: Profile) -> tuple[str, str]:
    return profile.name.casefold(), profile.id


CURSOR_PATTERN = r"^(?:[0-9a-f]{2})*\.(?:[0-9a-f]{2})*$"  # hex of the name key, a dot, hex of the id


def encode_cursor(profile: Profile) -> str:
    name, user = directory_key(profile)
    return f"{name.encode().hex()}.{user.encode().hex()}"


def decode_cursor(cursor: str) -> tuple[str, str] | None:
    """The position a cursor names, or None when it is not one of ours.

    Any string of the cursor's shape names a position (the page after it), so that the shape alone,
    which the OpenAPI document gives, tells a good cursor from a bad one.
    """
    if not re.fullmatch(CURSOR_PATTERN, cursor):
        return None
    name, user = cursor.split(".")
    return (bytes.fromhex(name).decode(errors="replace"), bytes.fromhex(user).decode(errors="replace"))


@dataclass(frozen=True)
class DirectoryQuery:
    """Who a directory page lists: visible people other than the viewer, matching `q` in their name
    or organisation (case-insensitive), reading `lang`, from `country`, after the position `after`."""

    viewer: str
    q: str = ""
    lang: str = ""
    country: str = ""
    after: tuple[str, str] | None = None

    @property
    def needle(self) -> str:
        return self.q.casefold()

    def matches(self, profile: Profile) -> bool:
        """The filters (not the position): what a backend that cannot filter in its index checks."""
        needle = self.needle
        return (
            profile.id != self.viewer
            and not profile.hidden
            and (not needle or needle in profile.name.casefold() or needle in profile.organization.casefold())
            and (not self.lang or profile.lang == self.lang)
            and (not self.country or profile.country == self.country)
        )


def directory_page(rows: list[Profile], limit: int) -> tuple[list[Profile], str | None]:
    """A page from the store's answer to `limit + 1`: the page and the cursor of the next one
    (None at the end)."""
    page = rows[:limit]
    return page, encode_cursor(page[-1]) if len(rows) > limit else None
