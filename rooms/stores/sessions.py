"""The session store: who is signed in where (one record per sign-in on a device) and the
short-lived personal sign-in codes that bring the same person in on another device.

Guarantees (tests/backend/test_session_store.py):
- A session started on one node is seen on every node of the cluster (sqlite and memory serve one node).
- An ended session is gone for good: `session` answers None for it on every node, it never
  comes back, and `session_ended` answers True for it from then on (a token naming it is refused).
  A session the store never heard of (the memory backend restarted) is not ended: the edge may
  record it again for the person whose signed token names it.
- `end_user_sessions` ends every session of that person and answers their ids.
- A sign-in code is taken at most once, even when two nodes race for it, and not after it expires.
- Codes are kept only as a digest of the code the person holds (the store never sees the code).
- `save_delegates` stores the whole list or, when it fails, none of it (no half-imported list);
  saving a delegate again replaces it (same id: the same person), keys included: `delegate_ids`
  answers each key (e-mail, external id) a delegate holds now with its id, on every node, and
  forgets the keys it no longer holds.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SignIn:
    """One sign-in of a person on a device: its id is the `sid` claim of the tokens it holds."""

    id: str
    user: str
    device: str  # a label from the browser's User-Agent ("Firefox on Android")
    created: int  # ms since the epoch
    last_seen: int  # ms since the epoch: the last connection or token renewal


@dataclass(frozen=True, slots=True)
class Delegate:
    """A person on the organisers' delegate list (`babelroom delegates import`): their user id is
    derived from their e-mail or external id, so the same person is the same user on every import."""

    id: str
    key: str  # the e-mail or external id the id comes from, as imported (e-mail in lower case)
    name: str
    lang: str
    organization: str = ""
    country: str = ""
    role: str = "delegate"
    revoked: bool = False
    email: str = ""  # lower case; a website token's `email` claim finds the person by it
    external_id: str = ""  # the registration's id; a website token's `sub` finds the person by it

    @property
    def keys(self) -> tuple[str, ...]:
        """Every key that names this person: a website token (`sub`, `email`) or an import row."""
        return tuple(key for key in (self.email, self.external_id) if key)

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "key": self.key,
            "name": self.name,
            "lang": self.lang,
            "organization": self.organization,
            "country": self.country,
            "role": self.role,
            "revoked": self.revoked,
            "email": self.email,
            "external_id": self.external_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Delegate:
        key = str(data["key"])
        # a list saved before both keys were kept holds only `key`: the e-mail, or else the external id
        email = str(data.get("email") or (key if "email" not in data and "@" in key else ""))
        external = str(data.get("external_id") or (key if "external_id" not in data and "@" not in key else ""))
        return cls(
            id=str(data["id"]),
            key=key,
            name=str(data["name"]),
            lang=str(data["lang"]),
            organization=str(data.get("organization") or ""),
            country=str(data.get("country") or ""),
            role=str(data.get("role") or "delegate"),
            revoked=bool(data.get("revoked")),
            email=email,
            external_id=external,
        )


class SessionStore(abc.ABC):
    @abc.abstractmethod
    async def start_session(self, session: SignIn) -> None:
        """Record a new sign-in."""

    @abc.abstractmethod
    async def session(self, session_id: str) -> SignIn | None:
        """The sign-in with this id, or None when it was ended (or never existed)."""

    @abc.abstractmethod
    async def session_ended(self, session_id: str) -> bool:
        """Whether the session was ended (signed out), as opposed to live or unknown."""

    @abc.abstractmethod
    async def touch_session(self, session_id: str, when: int) -> None:
        """Note that the session was used at `when` (ms); nothing for an ended session."""

    @abc.abstractmethod
    async def user_sessions(self, user: str) -> list[SignIn]:
        """The person's live sessions, oldest first."""

    @abc.abstractmethod
    async def end_session(self, session_id: str) -> SignIn | None:
        """End one session; the ended record, or None when it was not live."""

    @abc.abstractmethod
    async def end_user_sessions(self, user: str) -> list[str]:
        """End every session of the person; the ids ended."""

    @abc.abstractmethod
    async def put_signin_code(self, digest: str, payload: str, expires: int) -> None:
        """Keep a sign-in code (its digest) with what it signs in as, until `expires` (ms)."""

    @abc.abstractmethod
    async def take_signin_code(self, digest: str) -> str | None:
        """The payload of a live code, removed at once (single use); None when unknown, taken or expired."""

    @abc.abstractmethod
    async def save_delegates(self, delegates: list[Delegate]) -> None:
        """Add or replace these delegates (by id), all of them in one step."""

    @abc.abstractmethod
    async def delegate_ids(self, keys: list[str]) -> dict[str, str]:
        """The id of the delegate each of these keys (an e-mail or external id) belongs to now;
        keys no delegate holds are left out."""

    @abc.abstractmethod
    async def delegates(self, ids: list[str] | None = None) -> list[Delegate]:
        """These delegates (unknown ids left out), or every delegate, ordered by name then id."""
