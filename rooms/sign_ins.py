"""Sign-ins: a person's sessions per device, signing out (one device or everywhere) and the
personal sign-in codes that bring the same person in on another device (issue 23).

A token minted at sign-in carries its session id (`sid`); the session edge asks `live` before it
accepts such a token. A node trusts a "live" answer for `check_ttl` seconds, and forgets it at
once when an `ended` notice arrives (published here through the broker, heard by every node's
hub), so a signed-out token is refused on every node, and their sockets close.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rooms.conversations import direct
from rooms.refusal import Refused
from rooms.stores import Broker, LimitStore, SessionStore, SignIn, now_ms

SIGNED_OUT = "signed_out"  # the reason of the removal notice, and the close reason of the sockets
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a screen and typed on a phone
CODE_LENGTH = 10  # 50 bits: single use, short-lived and rate-limited per address
UNKNOWN_DEVICE = "Unknown device"
ENDED_KEPT = 4096  # ended session ids a node remembers (an ended session never comes back)


def invited_refusal(access_mode: str) -> Refused | None:
    """May someone sign themselves in from the form (a new delegate with no invitation)? Not at
    an event by invitation only (`[auth] access_mode = "invited"`): there a personal code is the way in."""
    if access_mode == "invited":
        return Refused(
            "invited_only",
            "this event is by invitation only: sign in with the personal sign-in code or link the organisers sent you",
        )
    return None


def access_code_refusal(expected: str, given: str | None) -> Refused | None:
    """At an event with an access code (`[auth] access_code`), a sign-in from the form must give it
    (compared in constant time: the time taken says nothing of how much of a guess was right)."""
    if expected and (given is None or not hmac.compare_digest(given.encode(), expected.encode())):
        return Refused("unauthorized", "this event needs an access code: ask the organisers for it")
    return None


def code_digest(code: str) -> str:
    """The store's key of a code: as typed, in any case, with or without its dashes and spaces."""
    normal = "".join(char for char in code.upper() if char.isalnum())
    return hashlib.sha256(normal.encode()).hexdigest()


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


@dataclass(frozen=True)
class SignInCode:
    code: str
    expires: int  # ms since the epoch


class SignIns:
    def __init__(
        self,
        store: SessionStore,
        broker: Broker,
        limits: LimitStore,
        *,
        check_ttl: float,
        code_ttl: int,
        codes_per_hour: int,
        token_ttl: int = 0,
        renewals_per_hour: int = 30,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store, self._broker, self._limits = store, broker, limits
        self._check_ttl, self._code_ttl, self._codes_per_hour = check_ttl, code_ttl, codes_per_hour
        self._clock = clock
        self._renewals_per_hour = renewals_per_hour
        self._token_ttl = token_ttl  # a session unused for longer holds no valid token any more (0: never so)
        self._live: dict[str, float] = {}  # session id -> clock time until which "live" is trusted
        self._ended: dict[str, None] = {}  # ordered set of ended ids, the newest last

    async def start(self, user: str, device: str) -> SignIn:
        now = now_ms()
        session = SignIn("s_" + secrets.token_urlsafe(12), user, device, now, now)
        await self._store.start_session(session)
        self._live[session.id] = self._clock() + self._check_ttl
        return session

    async def live(self, session_id: str, user: str) -> bool:
        """Whether the session may still be used; a fresh answer also notes it as seen. A session the
        store does not know and never ended (a memory backend restarted; its tokens are still signed
        by this server) is recorded again for `user`, the person the signed token names."""
        if session_id in self._ended:
            return False
        if self._live.get(session_id, 0.0) > self._clock():
            return True
        if await self._store.session(session_id) is None:
            if await self._store.session_ended(session_id):
                self.forget([session_id])
                return False
            now = now_ms()
            await self._store.start_session(SignIn(session_id, user, UNKNOWN_DEVICE, now, now))
        self._live[session_id] = self._clock() + self._check_ttl
        if len(self._live) > ENDED_KEPT:
            clock = self._clock()
            self._live = {key: until for key, until in self._live.items() if until > clock}
        await self._store.touch_session(session_id, now_ms())
        return True

    def forget(self, session_ids: list[str]) -> None:
        """These sessions ended (here or on another node): refuse them from now on."""
        for session_id in session_ids:
            self._live.pop(session_id, None)
            self._ended[session_id] = None
        while len(self._ended) > ENDED_KEPT:
            del self._ended[next(iter(self._ended))]

    async def renew(self, user: str, session_id: str) -> None:
        """A token renewal: refused once the session ended, and past `renewals_per_hour` for one
        sign-in (a stolen token is not a mint of fresh ones)."""
        known = await self._store.session(session_id)
        if (known is not None and known.user != user) or not await self.live(session_id, user):
            raise Refused("unauthorized", "this sign-in has ended; sign in again")
        most = max(1, self._renewals_per_hour)
        wait = await self._limits.take_token(f"renew:{session_id}", most / 3600, most)
        if wait:
            raise Refused(
                "rate_limited",
                "too many token renewals for this sign-in: the token you hold is still valid; renew later",
                retry_after=max(1, round(wait)),
            )
        await self._store.touch_session(session_id, now_ms())

    async def of(self, user: str) -> list[SignIn]:
        """The person's live sessions. One unused for longer than a token lives (no renewal, no
        connection) holds no valid token: it is ended here rather than listed as a device."""
        sessions = await self._store.user_sessions(user)
        if not self._token_ttl:
            return sessions
        oldest = now_ms() - self._token_ttl * 1000
        for stale in [session for session in sessions if session.last_seen < oldest]:
            await self._store.end_session(stale.id)
            self.forget([stale.id])
        return [session for session in sessions if session.last_seen >= oldest]

    async def end(self, user: str, session_id: str) -> None:
        """Sign one of the person's devices out: its tokens are refused and its sockets close on every node."""
        known = await self._store.session(session_id)
        if known is None or known.user != user:
            raise Refused("not_found", "no such sign-in of yours; GET /api/me/sessions lists them")
        await self._store.end_session(session_id)
        await self._announce(user, [session_id])

    async def end_all(self, user: str) -> list[str]:
        """Sign the person out everywhere."""
        ended = await self._store.end_user_sessions(user)
        if ended:
            await self._announce(user, ended)
        return ended

    async def _announce(self, user: str, session_ids: list[str]) -> None:
        self.forget(session_ids)
        await self._broker.broadcast(
            direct([user], remove={"room": "*", "reason": SIGNED_OUT, "sessions": " ".join(session_ids)})
        )

    async def issue_code(
        self, user: str, payload: dict[str, Any], *, ttl: int | None = None, limited: bool = True
    ) -> SignInCode:
        """A personal sign-in code for `payload` (who it signs in as), single use, `code_ttl` seconds (or
        `ttl`: the organisers' links). `limited`: at most `codes_per_hour` per person."""
        wait = (
            await self._limits.take_token(
                f"signin-code:{user}", self._codes_per_hour / 3600, max(1, self._codes_per_hour)
            )
            if limited
            else 0.0
        )
        if wait:
            raise Refused(
                "rate_limited", "too many sign-in codes: use the last one, or wait", retry_after=max(1, round(wait))
            )
        code = new_code()
        expires = now_ms() + (ttl or self._code_ttl) * 1000
        await self._store.put_signin_code(code_digest(code), json.dumps(payload), expires)
        return SignInCode(code, expires)

    async def redeem(self, code: str) -> dict[str, Any]:
        """Who the code signs in as; the code is spent. Refused when unknown, used or expired."""
        payload = await self._store.take_signin_code(code_digest(code))
        if payload is None:
            raise Refused(
                "unauthorized",
                "this sign-in code is not valid: it was used already, has expired or was mistyped; ask for a new one",
            )
        found: dict[str, Any] = json.loads(payload)
        return found
