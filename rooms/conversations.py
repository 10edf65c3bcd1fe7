"""Private conversations, profiles and contact requests: the pure rules.

A conversation is a room of kind `private` with 2-8 members. Who may start one depends on the
organiser's policy (`open`: anyone; `request`: only after a contact request was accepted;
`off`: nobody), on blocks, on the pending-request cap and on the cooldown after a declined or
expired request. These functions decide; the edges (WebSocket session, HTTP API) ask them and
the stores remember.
"""
from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from rooms.countries import is_country
from rooms.models import Role
from rooms.stores.events import Conversation, Direct, Moderated, Report, Request, RoleChanged

MIN_MEMBERS = 2  # the caller included
MAX_MEMBERS = 8
EVENT_WIDE = "*"  # the "room" of event-wide mutes and bans: they hold in every room
ORGANIZATION_MAX = 80
BIO_MAX = 280
TITLE_MAX = 80
REQUEST_TEXT_MAX = 500
PAGE_MAX = 100

# (protocol error code, message saying what to do[, retry_after: seconds until it passes by itself])
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

    def public(self, online: bool | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "name": self.name, "lang": self.lang}
        for key in ("organization", "country", "bio"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        if online is not None:
            data["online"] = online
        return data

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

    def expired(self, now: int) -> bool:
        return now >= self.expires

    def frame(self, state: str, room: str | None = None) -> Request:
        """The `request` server frame for this request in a state (pending, accepted, declined), with
        the conversation it opened (`room`) once accepted."""
        return Request(id=self.id, sender={**self.sender, **self.extra}, to=self.to, text=self.text, ts=self.ts,
                       expires=self.expires, state=state, room=room)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ContactRequest:
        return cls(id=data["id"], sender=dict(data["sender"]), to=data["to"], text=data["text"], ts=int(data["ts"]),
                   expires=int(data["expires"]), extra=dict(data.get("extra", {})))


def profile_complaint(organization: object = "", country: object = "", bio: object = "") -> str | None:
    """What is wrong with optional profile fields (None when they are fine)."""
    for name, value, limit in (("organization", organization, ORGANIZATION_MAX), ("bio", bio, BIO_MAX)):
        if not isinstance(value, str):
            return f"\"{name}\" must be a string"
        if len(value) > limit:
            return f"\"{name}\" holds at most {limit} characters"
        if any(ord(char) < 32 and char not in "\n" for char in value):
            return f"\"{name}\" must not contain control characters"
    if country and not is_country(country):
        return "\"country\" must be an ISO 3166-1 alpha-2 code in capitals, such as \"FI\" or \"CN\""
    return None


def direct(users: list[str], frame: Request | Conversation | Report | Moderated | RoleChanged | None = None, *,
           moderators: bool = False, remove: dict[str, str] | None = None) -> Direct:
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
        return "bad_request", "\"with\" must name at least one other person"
    if len(people) > MAX_MEMBERS:
        return "bad_request", f"a conversation holds at most {MAX_MEMBERS} people, you included"
    return None


def start_refusal(policy: Policy, *, blocked: bool, contact: bool) -> Refusal | None:
    """May the caller put this person into a new conversation?"""
    if policy is Policy.OFF:
        return "forbidden", "private conversations are turned off at this event"
    if blocked:
        return "forbidden", "this person does not accept conversations from you"
    if policy is Policy.REQUEST and not contact:
        return "forbidden", "send this person a contact request first (the `request` frame); " \
                            "you can talk once they accept it"
    return None


def request_refusal(policy: Policy, *, sender: str, target: str, blocked: bool, contact: bool,
                    pending: int, max_pending: int, already_pending: bool,
                    cooldown_until: int | None, now: int) -> Refusal | None:
    """May `sender` send `target` a contact request now?"""
    if policy is Policy.OFF:
        return "forbidden", "private conversations are turned off at this event"
    if sender == target:
        return "bad_frame", "you cannot send a contact request to yourself"
    if blocked:
        return "forbidden", "this person does not accept contact requests from you"
    if contact:
        return "forbidden", "you are in contact already: start the conversation with POST /api/conversations"
    if already_pending:
        return "forbidden", "your request to this person is still waiting for an answer"
    if cooldown_until is not None and now < cooldown_until:
        seconds = -(-(cooldown_until - now) // 1000)
        return "rate_limited", f"this person did not accept your last request; you may ask again in {seconds} s", \
            seconds
    if pending >= max_pending:
        return "rate_limited", f"you have {pending} requests waiting for an answer (at most {max_pending}); " \
                               "wait for answers before sending more"
    return None


def moderates_event(role: Role, rooms: tuple[str, ...]) -> bool:
    """Hosts, and moderators whose token is not limited to some rooms, moderate the whole event."""
    return role is Role.HOST or (role is Role.MODERATOR and not rooms)


# the directory -------------------------------------------------------------------------------
def _sort_key(profile: Profile) -> tuple[str, str]:
    return profile.name.casefold(), profile.id


CURSOR_PATTERN = r"^(?:[0-9a-f]{2})*\.(?:[0-9a-f]{2})*$"  # hex of the name key, a dot, hex of the id


def encode_cursor(profile: Profile) -> str:
    name, user = _sort_key(profile)
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


def directory_page(profiles: Iterable[Profile], *, viewer: str, q: str = "", lang: str = "", country: str = "",
                   after: tuple[str, str] | None = None, limit: int = 20) -> tuple[list[Profile], str | None]:
    """One page of the directory, ordered by name: visible people other than the viewer, matching
    `q` in their name or organisation (case-insensitive), reading `lang`, from `country`.
    Returns the page and the cursor of the next one (None at the end)."""
    needle = q.casefold()
    matches = sorted((p for p in profiles
                      if p.id != viewer and not p.hidden
                      and (not needle or needle in p.name.casefold() or needle in p.organization.casefold())
                      and (not lang or p.lang == lang)
                      and (not country or p.country == country)
                      and (after is None or _sort_key(p) > after)), key=_sort_key)
    page = matches[:limit]
    return page, encode_cursor(page[-1]) if len(matches) > limit else None
