"""The session store (rooms/stores/sessions.py) on Redis: every node sees the same sign-ins and codes.

Keys, all under `key_prefix`:
    session:<id>            hash user, device, created, last_seen (ms) of a live sign-in
    session:<id>:ended      exists once the sign-in was ended (its tokens stay refused)
    user:<id>:sessions      set of the person's session ids
    signin:<digest>         a sign-in code's payload (JSON), expiring with the code (PX)
    delegates               hash id -> delegate JSON (the organisers' list)
    delegate-keys           hash e-mail or external id -> delegate id
"""

from __future__ import annotations

import json
from typing import Any

from chat.backend.redis.calls import RedisParts, read_call, write_call
from rooms.stores import Delegate, SessionStore, SignIn, now_ms

FIELDS = ("user", "device", "created", "last_seen")
# last_seen moves forward only, and only on a live session (an ended one is not brought back)
TOUCH = """
local seen = redis.call('HGET', KEYS[1], 'last_seen')
if seen and redis.call('HEXISTS', KEYS[1], 'user') == 1 and tonumber(seen) < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'last_seen', ARGV[1])
end
"""

# ARGV: id, JSON, keys (newline-separated), for each delegate; the keys it held before and no longer
# holds are forgotten, in the same step as the list itself
SAVE_DELEGATES = """
for i = 1, #ARGV, 3 do
  local id = ARGV[i]
  local before = redis.call('HGET', KEYS[1], id)
  if before then
    local old = cjson.decode(before)
    for _, key in ipairs({old['email'] or '', old['external_id'] or '', old['key'] or ''}) do
      if key ~= '' and redis.call('HGET', KEYS[2], key) == id then redis.call('HDEL', KEYS[2], key) end
    end
  end
  redis.call('HSET', KEYS[1], id, ARGV[i + 1])
  for key in string.gmatch(ARGV[i + 2], '[^\\n]+') do redis.call('HSET', KEYS[2], key, id) end
end
"""


def _sign_in(session_id: str, data: dict[str, Any]) -> SignIn | None:
    # a touch racing an end may leave a hash with only last_seen: that session is ended
    if not all(data.get(name) for name in FIELDS):
        return None
    return SignIn(session_id, data["user"], data["device"], int(data["created"]), int(data["last_seen"]))


class RedisSessions(RedisParts, SessionStore):
    def _session_key(self, *parts: str) -> str:
        return self._keys.prefix + ":".join(parts)

    @write_call
    async def start_session(self, session: SignIn) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                self._session_key("session", session.id),
                mapping={
                    "user": session.user,
                    "device": session.device,
                    "created": session.created,
                    "last_seen": session.last_seen,
                },
            )
            pipe.sadd(self._session_key("user", session.user, "sessions"), session.id)
            await pipe.execute()

    @read_call
    async def session(self, session_id: str) -> SignIn | None:
        data: dict[str, Any] = await self._redis.hgetall(self._session_key("session", session_id))  # type: ignore[assignment]
        return _sign_in(session_id, data)

    @read_call
    async def session_ended(self, session_id: str) -> bool:
        return bool(await self._redis.exists(self._session_key("session", session_id, "ended")))

    @write_call
    async def touch_session(self, session_id: str, when: int) -> None:
        await self._redis.eval(TOUCH, 1, self._session_key("session", session_id), when)

    @read_call
    async def user_sessions(self, user: str) -> list[SignIn]:
        ids: set[str] = await self._redis.smembers(self._session_key("user", user, "sessions"))  # type: ignore[assignment]
        ordered = sorted(ids)
        async with self._redis.pipeline(transaction=False) as pipe:
            for session_id in ordered:
                pipe.hgetall(self._session_key("session", session_id))
            rows = await pipe.execute()
        found = [_sign_in(session_id, data) for session_id, data in zip(ordered, rows, strict=True)]
        return sorted((s for s in found if s is not None), key=lambda s: (s.created, s.id))

    @write_call
    async def end_session(self, session_id: str) -> SignIn | None:
        key = self._session_key("session", session_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(key)
            pipe.delete(key)
            pipe.set(self._session_key("session", session_id, "ended"), now_ms())
            data, _, _ = await pipe.execute()
        ended = _sign_in(session_id, data)
        if ended is not None:
            await self._redis.srem(self._session_key("user", ended.user, "sessions"), session_id)
        return ended

    @write_call
    async def end_user_sessions(self, user: str) -> list[str]:
        index = self._session_key("user", user, "sessions")
        ids: set[str] = await self._redis.smembers(index)  # type: ignore[assignment]
        if not ids:
            return []
        async with self._redis.pipeline(transaction=True) as pipe:
            for session_id in ids:
                pipe.delete(self._session_key("session", session_id))
                pipe.set(self._session_key("session", session_id, "ended"), now_ms())
            pipe.srem(index, *ids)
            await pipe.execute()
        return sorted(ids)

    @write_call
    async def put_signin_code(self, digest: str, payload: str, expires: int) -> None:
        await self._redis.set(self._session_key("signin", digest), payload, px=max(1, expires - now_ms()))

    @write_call
    async def take_signin_code(self, digest: str) -> str | None:
        payload: str | None = await self._redis.getdel(self._session_key("signin", digest))  # type: ignore[assignment]
        return payload

    @write_call
    async def save_delegates(self, delegates: list[Delegate]) -> None:
        if delegates:  # one script: all or nothing
            args = [
                part
                for delegate in delegates
                for part in (delegate.id, json.dumps(delegate.to_dict()), "\n".join(delegate.keys))
            ]
            await self._redis.eval(
                SAVE_DELEGATES, 2, self._session_key("delegates"), self._session_key("delegate-keys"), *args
            )

    @read_call
    async def delegate_ids(self, keys: list[str]) -> dict[str, str]:
        if not keys:
            return {}
        found: list[str | None] = await self._redis.hmget(self._session_key("delegate-keys"), keys)  # type: ignore[assignment]
        return {key: owner for key, owner in zip(keys, found, strict=True) if owner}

    @read_call
    async def delegates(self, ids: list[str] | None = None) -> list[Delegate]:
        key = self._session_key("delegates")
        if ids is None:
            everyone: dict[str, str] = await self._redis.hgetall(key)  # type: ignore[assignment]
            raw: list[str | None] = list(everyone.values())
        elif not ids:
            return []
        else:
            raw = await self._redis.hmget(key, ids)  # type: ignore[assignment]
        found = [Delegate.from_dict(json.loads(item)) for item in raw if item]
        return sorted(found, key=lambda d: (d.name, d.id))
