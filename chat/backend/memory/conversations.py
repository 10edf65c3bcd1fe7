"""The conversation store in one process (memory backend): state lost on exit."""

from __future__ import annotations

import bisect
import copy
import itertools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from rooms.conversations import ContactRequest, DirectoryQuery, Profile, directory_key
from rooms.models import Role
from rooms.stores import ConversationStore, now_ms
from rooms.stores.conversation_store import REPORTS_MAX, report_key
from rooms.stores.messages import StoredMessage


class KeptHistory(Protocol):
    """What unread_count reads of one room's history (the memory backend's _History)."""

    @property
    def kept(self) -> Sequence[StoredMessage]: ...

    @property
    def first_position(self) -> int: ...

    @property
    def next_position(self) -> int: ...

    def position_of(self, message_id: str) -> int | None: ...


@dataclass
class ConversationState:
    profiles: dict[str, Profile] = field(default_factory=dict)
    hidden: set[str] = field(default_factory=set)
    listed: list[tuple[str, str]] = field(default_factory=list)  # directory keys of visible profiles, sorted
    saved: dict[str, int] = field(default_factory=dict)  # user -> ms of the last save_profile
    staff: set[str] = field(default_factory=set)  # hosts and moderators
    online: dict[str, int] = field(default_factory=dict)
    pairs: dict[str, str] = field(default_factory=dict)
    members: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    read: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    requests: dict[str, ContactRequest] = field(default_factory=dict)
    contacts: set[frozenset[str]] = field(default_factory=set)
    cooldowns: dict[tuple[str, str], int] = field(default_factory=dict)
    blocks: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    reports: dict[int, dict[str, Any]] = field(default_factory=dict)  # seq -> report, oldest first
    report_of: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (room, message, reporter) -> seq
    report_seq: int = 0


class MemoryConversations(ConversationStore):
    def __init__(self, histories: Mapping[str, KeptHistory] | None = None) -> None:
        self._conv = ConversationState()
        self._histories: Mapping[str, KeptHistory] = {} if histories is None else histories  # the backend's, live

    async def save_profile(self, profile: Profile) -> None:
        state = self._conv
        old = state.profiles.get(profile.id)
        if old is not None:
            self._unlist(old)
        state.profiles[profile.id] = profile.updated(hidden=False)
        state.saved[profile.id] = now_ms()
        (state.staff.discard if profile.role == Role.DELEGATE.value else state.staff.add)(profile.id)
        if profile.id not in state.hidden:
            bisect.insort(state.listed, directory_key(profile))

    def _unlist(self, profile: Profile) -> None:
        listed = self._conv.listed
        index = bisect.bisect_left(listed, directory_key(profile))
        if index < len(listed) and listed[index] == directory_key(profile):
            del listed[index]

    async def profiles(self, ids: list[str] | None = None) -> list[Profile]:
        known = self._conv.profiles
        chosen = known.values() if ids is None else [known[i] for i in ids if i in known]
        return [profile.updated(hidden=profile.id in self._conv.hidden) for profile in chosen]

    async def set_hidden(self, user: str, hidden: bool) -> None:
        state = self._conv
        profile = state.profiles.get(user)
        if profile is not None and (user in state.hidden) != hidden:
            if hidden:
                self._unlist(profile)
            else:
                bisect.insort(state.listed, directory_key(profile))
        (state.hidden.add if hidden else state.hidden.discard)(user)

    async def directory(self, query: DirectoryQuery, limit: int) -> list[Profile]:
        state = self._conv
        start = 0 if query.after is None else bisect.bisect_right(state.listed, query.after)
        page: list[Profile] = []
        for index in range(start, len(state.listed)):
            if len(page) >= limit:
                break
            profile = state.profiles[state.listed[index][1]]
            if query.matches(profile):
                page.append(profile)
        return page

    async def staff(self) -> list[Profile]:
        return await self.profiles(sorted(self._conv.staff))

    async def expire_profiles(self, before: int) -> list[str]:
        state, now = self._conv, now_ms()
        gone = [
            user
            for user, profile in state.profiles.items()
            if profile.anonymous
            and max(state.saved.get(user, 0), state.online.get(user, 0)) < before
            and state.online.get(user, 0) <= now
        ]
        for user in gone:
            self._unlist(state.profiles.pop(user))
            state.saved.pop(user, None)
            state.hidden.discard(user)
            state.staff.discard(user)
        return gone

    async def mark_online(self, users: set[str], until: int) -> None:
        for user in users:
            self._conv.online[user] = max(until, self._conv.online.get(user, 0))

    async def online(self, users: list[str]) -> set[str]:
        now = now_ms()
        return {user for user in users if self._conv.online.get(user, 0) > now}

    async def claim_pair(self, pair: str, room: str) -> str:
        return self._conv.pairs.setdefault(pair, room)

    async def release_pair(self, pair: str, room: str) -> None:
        if self._conv.pairs.get(pair) == room:
            del self._conv.pairs[pair]

    async def add_conversation_members(self, room: str, users: list[str]) -> None:
        self._conv.members[room].update(users)

    async def leave_conversation(self, room: str, user: str) -> int:
        self._conv.members[room].discard(user)
        self._conv.read[user].pop(room, None)
        return len(self._conv.members[room])

    async def conversation_members(self, room: str) -> set[str]:
        return set(self._conv.members.get(room, ()))

    async def conversations_of(self, user: str) -> list[str]:
        return [room for room, members in self._conv.members.items() if user in members]

    async def set_read(self, room: str, user: str, message_id: str) -> None:
        self._conv.read[user][room] = message_id

    async def read_positions(self, user: str) -> dict[str, str]:
        return dict(self._conv.read.get(user, {}))

    async def read_position(self, user: str, room: str) -> str | None:
        return self._conv.read.get(user, {}).get(room)

    async def unread_count(self, room: str, viewer: str, after: str | None, cap: int) -> int:
        history = self._histories.get(room)
        if history is None:
            return 0
        start = 0
        if after is not None:  # where `since` replays from, or nothing when it could not
            position = history.position_of(after)
            if position is None or not history.first_position - 1 <= position < history.next_position:
                return 0
            start = position + 1 - history.first_position
        count = 0
        for message in itertools.islice(history.kept, start, None):
            if count >= cap:
                break
            if message.user.id != viewer and not message.deleted:
                count += 1
        return count

    async def save_request(self, request: ContactRequest, *, incoming_cap: int | None = None) -> bool:
        if request.stranger and incoming_cap is not None:  # no await between the count and the write
            waiting = sum(
                1
                for r in self._conv.requests.values()
                if r.to == request.to and r.stranger and not r.expired(request.ts)
            )
            if waiting >= incoming_cap:
                return False
        self._conv.requests[request.id] = request
        return True

    async def get_request(self, request_id: str) -> ContactRequest | None:
        return self._conv.requests.get(request_id)

    async def delete_request(self, request: ContactRequest) -> bool:
        return self._conv.requests.pop(request.id, None) is not None

    async def requests_of(self, user: str) -> list[ContactRequest]:
        return [r for r in self._conv.requests.values() if user in (r.sender["id"], r.to)]

    async def add_contact(self, a: str, b: str) -> None:
        self._conv.contacts.add(frozenset((a, b)))

    async def remove_contact(self, a: str, b: str) -> None:
        self._conv.contacts.discard(frozenset((a, b)))

    async def is_contact(self, a: str, b: str) -> bool:
        return frozenset((a, b)) in self._conv.contacts

    async def set_cooldown(self, sender: str, target: str, until: int) -> None:
        self._conv.cooldowns[(sender, target)] = until

    async def cooldown(self, sender: str, target: str) -> int | None:
        until = self._conv.cooldowns.get((sender, target))
        return until if until is not None and until > now_ms() else None

    async def set_block(self, user: str, other: str, blocked: bool) -> bool:
        blocks = self._conv.blocks[user]
        changed = (other in blocks) != blocked
        (blocks.add if blocked else blocks.discard)(other)
        return changed

    async def blocked_by(self, user: str) -> set[str]:
        return set(self._conv.blocks.get(user, ()))

    async def add_report(self, report: dict[str, Any]) -> dict[str, Any]:
        conv = self._conv
        key = report_key(report)
        if key in conv.report_of:
            return copy.deepcopy(conv.reports[conv.report_of[key]])
        conv.report_seq += 1
        stored = {**copy.deepcopy(report), "seq": conv.report_seq, "state": "open"}
        conv.reports[conv.report_seq] = stored
        conv.report_of[key] = conv.report_seq
        while len(conv.reports) > REPORTS_MAX:  # the oldest closed one first, else the oldest
            victim = next(
                (seq for seq, kept in conv.reports.items() if kept["state"] != "open"), next(iter(conv.reports))
            )
            del conv.report_of[report_key(conv.reports.pop(victim))]
        return copy.deepcopy(stored)

    async def find_report(self, room: str, message_id: str, reporter: str) -> dict[str, Any] | None:
        seq = self._conv.report_of.get((room, message_id, reporter))
        return None if seq is None else copy.deepcopy(self._conv.reports[seq])

    async def reports(self, *, after: int = 0, limit: int = 100, state: str | None = None) -> list[dict[str, Any]]:
        chosen = (
            report
            for seq, report in self._conv.reports.items()
            if seq > after and (state is None or report["state"] == state)
        )
        return [copy.deepcopy(report) for report in itertools.islice(chosen, max(0, limit))]

    async def close_reports(
        self, room: str, message_id: str, state: str, closed: dict[str, Any]
    ) -> list[dict[str, Any]]:
        done = []
        for report in self._conv.reports.values():
            if report["state"] == "open" and report["room"]["id"] == room and report["message"]["id"] == message_id:
                report.update(state=state, closed=copy.deepcopy(closed))
                done.append(copy.deepcopy(report))
        return done

    async def open_report_count(self) -> int:
        return sum(report["state"] == "open" for report in self._conv.reports.values())
