"""The session store (rooms/stores/sessions.py) in one process: sign-ins and sign-in codes lost on exit."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from rooms.stores import Delegate, SessionStore, SignIn, now_ms


@dataclass
class SessionState:
    sessions: dict[str, SignIn] = field(default_factory=dict)
    codes: dict[str, tuple[str, int]] = field(default_factory=dict)  # digest -> (payload, expires ms)
    ended: set[str] = field(default_factory=set)
    delegates: dict[str, Delegate] = field(default_factory=dict)
    delegate_keys: dict[str, str] = field(default_factory=dict)  # e-mail or external id -> delegate id


class MemorySessions(SessionStore):
    def __init__(self) -> None:
        self._sessions = SessionState()

    async def start_session(self, session: SignIn) -> None:
        self._sessions.sessions[session.id] = session

    async def session(self, session_id: str) -> SignIn | None:
        return self._sessions.sessions.get(session_id)

    async def session_ended(self, session_id: str) -> bool:
        return session_id in self._sessions.ended

    async def touch_session(self, session_id: str, when: int) -> None:
        known = self._sessions.sessions.get(session_id)
        if known is not None:
            self._sessions.sessions[session_id] = replace(known, last_seen=max(known.last_seen, when))

    async def user_sessions(self, user: str) -> list[SignIn]:
        return sorted((s for s in self._sessions.sessions.values() if s.user == user), key=lambda s: (s.created, s.id))

    async def end_session(self, session_id: str) -> SignIn | None:
        self._sessions.ended.add(session_id)
        return self._sessions.sessions.pop(session_id, None)

    async def end_user_sessions(self, user: str) -> list[str]:
        ended = [s.id for s in await self.user_sessions(user)]
        for session_id in ended:
            del self._sessions.sessions[session_id]
        self._sessions.ended.update(ended)
        return ended

    async def put_signin_code(self, digest: str, payload: str, expires: int) -> None:
        now = now_ms()
        self._sessions.codes = {key: value for key, value in self._sessions.codes.items() if value[1] > now}
        self._sessions.codes[digest] = (payload, expires)

    async def take_signin_code(self, digest: str) -> str | None:
        found = self._sessions.codes.pop(digest, None)
        if found is None or found[1] <= now_ms():
            return None
        return found[0]

    async def save_delegates(self, delegates: list[Delegate]) -> None:
        keys = self._sessions.delegate_keys
        for delegate in delegates:
            before = self._sessions.delegates.get(delegate.id)
            for key in before.keys if before else ():
                if keys.get(key) == delegate.id:
                    del keys[key]
            keys.update(dict.fromkeys(delegate.keys, delegate.id))
            self._sessions.delegates[delegate.id] = delegate

    async def delegate_ids(self, keys: list[str]) -> dict[str, str]:
        known = self._sessions.delegate_keys
        return {key: known[key] for key in keys if key in known}

    async def delegates(self, ids: list[str] | None = None) -> list[Delegate]:
        known = self._sessions.delegates
        chosen = known.values() if ids is None else [known[i] for i in ids if i in known]
        return sorted(chosen, key=lambda d: (d.name, d.id))
