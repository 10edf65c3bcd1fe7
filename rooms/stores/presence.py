"""Presence: who is in a room right now, counted by user across connections and nodes.

Guarantees (tests/backend/test_presence.py):
- `add_member` answers True exactly when the user had no connection in the room before, and
  `remove_member` True exactly when the user's last connection left: the caller announces
  presence `join`/`leave` once per user, not per tab or node.
- A connection's record is replaced, not duplicated, when added again (a language change).
- Records of a node that died without cleaning up drop out within the presence TTL (shared
  backends), so `members` lists connections on live nodes only.
- `open_connection` counts a user's open connections on every node (on a shared backend) and
  refuses one past `most`, atomically: two connections opened at once never both take the last
  place. Connections of a node that died stop counting within the presence TTL.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass


@dataclass(frozen=True)
class Member:
    """One connection's presence in a room."""

    conn: str  # connection id, unique cluster-wide
    id: str
    name: str
    lang: str
    role: str

    def public(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "lang": self.lang, "role": self.role}


class Presence(abc.ABC):
    @abc.abstractmethod
    async def add_member(self, room: str, member: Member) -> bool:
        """Record a connection in a room; True when its user was not present before."""

    @abc.abstractmethod
    async def remove_member(self, room: str, member: Member) -> bool:
        """Forget a connection; True when its user has no connection left in the room."""

    @abc.abstractmethod
    async def members(self, room: str) -> list[Member]:
        """Connections present in the room on every live node."""

    @abc.abstractmethod
    async def open_connection(self, user: str, conn: str, most: int) -> bool:
        """Count a connection of the user unless `most` of theirs are open already (on live
        nodes): True when it was counted; then `close_connection` forgets it."""

    @abc.abstractmethod
    async def close_connection(self, user: str, conn: str) -> None:
        """Forget a connection `open_connection` counted (nothing when it was not counted)."""

    async def census(self, room: str) -> dict[str, int]:
        """How many users read each language in the room ({code: count}, counts > 0).

        A user counts once per language its connections read. The relay reads this for every
        message, so backends keep it up to date on join, leave and language change instead of
        listing members; this fallback (which does list them) is for backends that do not."""
        return census_of(await self.members(room))


def census_of(members: list[Member]) -> dict[str, int]:
    """The census (`Presence.census`) of these members: for whoever just read them, which saves
    asking the store a second question about the same room."""
    users: dict[str, set[str]] = {}
    for present in members:
        users.setdefault(present.lang, set()).add(present.id)
    return {lang: len(ids) for lang, ids in sorted(users.items())}
