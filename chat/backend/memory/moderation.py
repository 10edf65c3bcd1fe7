"""The moderation store (rooms/stores/moderation_store.py) in one process: mutes, bans, appointed
moderators, known roles and the moderation log, lost on exit."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from rooms import Role
from rooms.conversations import EVENT_WIDE
from rooms.stores import ModerationStore, Mute, Standing, now_ms


@dataclass
class _Moderation:
    mutes: dict[str, int | None] = field(default_factory=dict)
    bans: set[str] = field(default_factory=set)
    moderators: set[str] = field(default_factory=set)
    roles: dict[str, Role] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)


class MemoryModeration(ModerationStore):
    def __init__(self) -> None:
        self._moderation: dict[str, _Moderation] = defaultdict(_Moderation)

    async def standing(self, room: str, user: str) -> Standing:
        here, event = self._moderation[room], self._moderation[EVENT_WIDE]
        return Standing(
            appointed=user in here.moderators,
            banned=user in here.bans,
            banned_event=user in event.bans,
            mute=await self.get_mute(room, user),
            mute_event=await self.get_mute(EVENT_WIDE, user),
        )

    async def get_mute(self, room: str, user: str) -> Mute | None:
        mutes = self._moderation[room].mutes
        if user not in mutes:
            return None
        until = mutes[user]
        if until is not None and until <= now_ms():
            del mutes[user]
            return None
        return Mute(until)

    async def set_mute(self, room: str, user: str, until: int | None) -> None:
        self._moderation[room].mutes[user] = until

    async def clear_mute(self, room: str, user: str) -> bool:
        return self._moderation[room].mutes.pop(user, False) is not False

    async def is_banned(self, room: str, user: str) -> bool:
        return user in self._moderation[room].bans

    async def set_ban(self, room: str, user: str, banned: bool) -> bool:
        bans = self._moderation[room].bans
        changed = (user in bans) != banned
        (bans.add if banned else bans.discard)(user)
        return changed

    async def moderators(self, room: str) -> set[str]:
        return set(self._moderation[room].moderators)

    async def set_moderator(self, room: str, user: str, appointed: bool) -> bool:
        moderators = self._moderation[room].moderators
        changed = (user in moderators) != appointed
        (moderators.add if appointed else moderators.discard)(user)
        return changed

    async def remember_role(self, room: str, user: str, role: Role) -> None:
        roles = self._moderation[room].roles
        if user not in roles or role.rank > roles[user].rank:
            roles[user] = role

    async def known_role(self, room: str, user: str) -> Role | None:
        return self._moderation[room].roles.get(user)

    async def record_moderation(self, room: str, entry: dict[str, Any]) -> None:
        self._moderation[room].log.append(dict(entry))

    async def moderation_log(self, room: str, limit: int = 200) -> list[dict[str, Any]]:
        return [dict(entry) for entry in self._moderation[room].log[-limit:]]
