"""Signed, expiring tokens: base64url(JSON claims) + "." + base64url(HMAC-SHA256)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from rooms import Role

log = logging.getLogger("babelroom.auth")

TOKEN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class TokenError(Exception):
    """The token is malformed, forged or expired."""


@dataclass(frozen=True)
class Identity:
    """Who a token speaks for."""

    id: str
    name: str
    role: Role
    lang: str
    expires: int
    rooms: tuple[str, ...] = ()  # for moderators: the rooms they moderate; empty = everywhere
    organization: str = ""  # profile claims, shown in the directory
    country: str = ""  # ISO 3166-1 alpha-2
    bio: str = ""

    def public(self) -> dict:
        return {"id": self.id, "name": self.name, "role": self.role.value}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    def __init__(self, secret: str) -> None:
        self._key = secret.encode("utf-8")

    def issue(self, *, name: str, role: Role, lang: str, ttl: int,
              user_id: str | None = None, rooms: tuple[str, ...] = (), organization: str = "",
              country: str = "", bio: str = "") -> str:
        claims = {
            "sub": user_id or "u_" + secrets.token_hex(6),
            "name": name,
            "role": role.value,
            "lang": lang,
            "exp": int(time.time()) + ttl,
        }
        if rooms:
            claims["rooms"] = list(rooms)
        for key, value in (("organization", organization), ("country", country), ("bio", bio)):
            if value:
                claims[key] = value
        body = _b64(json.dumps(claims, separators=(",", ":")).encode("utf-8"))
        return f"{body}.{self._sign(body)}"

    def verify(self, token: object) -> Identity:
        # Tokens are base64url: anything else (non-ASCII, whitespace...) is refused before any decoding.
        if not isinstance(token, str) or len(token) > 2048 or not TOKEN.fullmatch(token):
            raise TokenError("the token is malformed")
        body, signature = token.split(".")
        if not hmac.compare_digest(signature, self._sign(body)):
            raise TokenError("the token's signature is not valid here")
        try:
            claims = json.loads(_unb64(body))
            identity = Identity(id=str(claims["sub"]), name=str(claims["name"]), role=Role(claims["role"]),
                                lang=str(claims.get("lang", "en")), expires=int(claims["exp"]),
                                rooms=tuple(claims.get("rooms", ())),
                                organization=str(claims.get("organization", "")),
                                country=str(claims.get("country", "")), bio=str(claims.get("bio", "")))
        except (ValueError, KeyError, TypeError):
            raise TokenError("the token is malformed") from None
        if identity.expires < time.time():
            raise TokenError("the token has expired; get a new one")
        return identity

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode("ascii"), hashlib.sha256).digest())


def load_or_create_secret(configured: str, data_dir: str) -> str:
    """The configured secret, or one generated on first start and kept in data_dir/secret."""
    if configured:
        return configured
    path = Path(data_dir) / "secret"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    path.write_text(secret + "\n", encoding="utf-8")
    path.chmod(0o600)
    log.info("generated a token secret and kept it in %s (set [auth] secret or BABELROOM_AUTH_SECRET to choose one)",
             path.resolve())
    return secret
