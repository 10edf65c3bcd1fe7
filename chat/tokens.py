"""Standard JWTs: HS256 with the server's secret, or RS256/ES256 verified with a configured public key.

With a public key (a PEM file or a JWKS file) a conference website mints tokens with its own
private key, and the server only verifies them; it mints tokens itself (`babelroom token`,
`POST /api/session`) only when it also holds the private key (`[auth] private_key`).

Claims: `sub` (user id), `name`, `role` (host | moderator | delegate), `exp`; optional `rooms`
(moderators: the rooms they moderate), `lang`, `organization`, `country`, `bio`, `anon` (true on the
self sign-in tokens of POST /api/session: their profiles expire), `sid` (the sign-in session of a
token the server minted at sign-in: refused once that session ended, rooms/sign_ins.py), `email`
(a website's token: with `sub`, it finds the person on the imported delegate list, `as_listed`), and
`aud`/`iss` when the server is configured to check them. Every text claim passes the sign-in form's rules (rooms.text).
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
from jwt.warnings import InsecureKeyLengthWarning

from chat.config import AuthSettings, ConfigError
from rooms import Role
from rooms.conversations import profile_complaint
from rooms.text import NAME_MAX, USER_ID_MAX, is_scalar_text, user_id_fault

if TYPE_CHECKING:
    from rooms.delegates import Delegates

log = logging.getLogger("babelroom.auth")

# A short configured secret is reported once when the node starts (weak_secret), not on every token.
warnings.filterwarnings("ignore", category=InsecureKeyLengthWarning)

ALGORITHMS = ("HS256", "RS256", "ES256")
TOKEN_MAX = 4096  # characters; a JWT with every claim is far below this
# header.claims.signature, each base64url: anything else (non-ASCII, whitespace...) is refused before any decoding
JWT_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
ROOM_MAX = 64  # a room id in the `rooms` claim
LANG_CLAIM = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,3}")  # a BCP-47 tag; its primary subtag is read
MIN_SECRET_BYTES = 32
SID_MAX = 80  # the `sid` claim (rooms/sign_ins.py makes 18-character ids)


class TokenError(Exception):
    """The token is malformed, forged, expired or carries claims this server refuses."""


class CannotMint(TokenError):
    """This server verifies tokens minted elsewhere and holds no key to sign its own."""


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
    anonymous: bool = False  # a self sign-in (POST /api/session, claim `anon`): its profile expires
    session: str = ""  # the `sid` claim: the sign-in (device) this token belongs to; "" for other tokens
    email: str = ""  # the `email` claim (lower case): how a website's token names a delegate of the list

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role.value}


class TokenSigner:
    """Issues and verifies the server's tokens.

    `TokenSigner(secret)` is HS256 with that secret. For RS256/ES256 pass `algorithm` and the
    verification keys (`public_keys`: PEM text or a JWKS dict), plus `private_key` (PEM text) if
    the server should mint tokens too.
    """

    def __init__(
        self,
        secret: str = "",
        *,
        algorithm: str = "HS256",
        public_keys: str | dict[str, Any] = "",
        private_key: str = "",
        audience: str = "",
        issuer: str = "",
        leeway: float = 30.0,
    ) -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"unsupported token algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}")
        self.algorithm = algorithm
        self.audience, self.issuer, self.leeway = audience, issuer, leeway
        self._kid = ""
        if algorithm == "HS256":
            if not secret:
                raise ValueError("HS256 needs a secret")
            self._signing_key: Any = secret
            self._verify_keys: dict[str, Any] = {"": secret}
        else:
            self._verify_keys = _public_keys(public_keys, algorithm)
            self._signing_key = _private_key(private_key, algorithm) if private_key else None
            if self._signing_key is not None and "" not in self._verify_keys:
                # A JWKS holds the public half under its kid: name the kid so verify picks that key.
                self._kid = next(iter(self._verify_keys))

    @property
    def can_mint(self) -> bool:
        return self._signing_key is not None

    @property
    def weak_secret(self) -> bool:
        """An HS256 secret shorter than RFC 7518 asks for (the node warns at start)."""
        return self.algorithm == "HS256" and len(self._signing_key.encode("utf-8")) < MIN_SECRET_BYTES

    def issue(
        self,
        *,
        name: str,
        role: Role,
        lang: str,
        ttl: int,
        user_id: str | None = None,
        rooms: tuple[str, ...] = (),
        organization: str = "",
        country: str = "",
        bio: str = "",
        anonymous: bool = False,
        session: str = "",
        email: str = "",
    ) -> str:
        token, _ = self.issue_with_identity(
            name=name,
            role=role,
            lang=lang,
            ttl=ttl,
            user_id=user_id,
            rooms=rooms,
            organization=organization,
            country=country,
            bio=bio,
            anonymous=anonymous,
            session=session,
            email=email,
        )
        return token

    def issue_with_identity(
        self,
        *,
        name: str,
        role: Role,
        lang: str,
        ttl: int,
        user_id: str | None = None,
        rooms: tuple[str, ...] = (),
        organization: str = "",
        country: str = "",
        bio: str = "",
        anonymous: bool = False,
        session: str = "",
        email: str = "",
    ) -> tuple[str, Identity]:
        """`issue`, and the identity `verify` will read from the token, made from the same claims
        (TokenError as `verify` would raise it): a sign-in need not decode what it just signed."""
        if self._signing_key is None:
            raise CannotMint(
                f"this server verifies {self.algorithm} tokens minted by your website and holds no private key; "
                "mint tokens there (see README, 'Tokens'), or set [auth] private_key to let the server mint them"
            )
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": user_id or "u_" + secrets.token_hex(6),
            "name": name,
            "role": role.value,
            "lang": lang,
            "iat": now,
            "exp": now + ttl,
        }
        if rooms:
            claims["rooms"] = list(rooms)
        if anonymous:
            claims["anon"] = True
        for key, value in (
            ("organization", organization),
            ("country", country),
            ("bio", bio),
            ("sid", session),
            ("email", email),
        ):
            if value:
                claims[key] = value
        if self.audience:
            claims["aud"] = self.audience
        if self.issuer:
            claims["iss"] = self.issuer
        identity = _identity(claims)
        headers = {"kid": self._kid} if self._kid else None
        token = jwt.encode(claims, self._signing_key, algorithm=self.algorithm, headers=headers)
        if len(token) > TOKEN_MAX or not JWT_SHAPE.fullmatch(token):  # as `verify` will refuse it
            raise TokenError("the token is malformed: expected a JWT (header.claims.signature)")
        return token, identity

    def verify(self, token: object) -> Identity:
        if not isinstance(token, str) or len(token) > TOKEN_MAX or not JWT_SHAPE.fullmatch(token):
            raise TokenError("the token is malformed: expected a JWT (header.claims.signature)")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise TokenError("the token is malformed: expected a JWT (header.claims.signature)") from None
        if header.get("alg") != self.algorithm:
            raise TokenError(
                f"the token is signed with {header.get('alg')!r}; this server accepts {self.algorithm} only"
            )
        key = self._key_for(header)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[self.algorithm],
                leeway=self.leeway,
                audience=self.audience or None,
                issuer=self.issuer or None,
                options={"require": ["exp", "sub"], "verify_aud": bool(self.audience)},
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("the token has expired; get a new one") from None
        except jwt.InvalidSignatureError:
            raise TokenError("the token's signature is not valid here") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenError(f"the token lacks the {exc.claim!r} claim") from None
        except jwt.InvalidAudienceError:
            raise TokenError(f"the token is not meant for this server (aud must be {self.audience!r})") from None
        except jwt.InvalidIssuerError:
            raise TokenError(f"the token is not from the expected issuer (iss must be {self.issuer!r})") from None
        except jwt.InvalidTokenError as exc:
            raise TokenError(f"the token is not valid: {exc}") from None
        return _identity(claims)

    def _key_for(self, header: dict[str, Any]) -> Any:
        kid = header.get("kid")
        if isinstance(kid, str) and kid in self._verify_keys:
            return self._verify_keys[kid]
        if len(self._verify_keys) == 1:
            return next(iter(self._verify_keys.values()))
        raise TokenError(f"the token names no key this server knows (kid {kid!r})")


def _identity(claims: dict[str, Any]) -> Identity:
    """The identity the claims speak for, or TokenError naming the bad claim.

    `sub`, `name`, `organization`, `bio` and `country` pass the rules of the sign-in form
    (rooms.conversations.profile_complaint, rooms.text): Unicode text without control or invisible
    characters, a name that shows something; ids of up to USER_ID_MAX characters (e-mail addresses).
    """
    fault = user_id_fault(claims.get("sub"))
    if fault:
        raise TokenError(f"the token's 'sub' claim {fault}")
    try:
        role = Role(claims.get("role"))
    except ValueError:
        raise TokenError("the token's 'role' claim must be host, moderator or delegate") from None
    rooms = claims.get("rooms", [])
    if not isinstance(rooms, list) or not all(
        isinstance(room, str) and 0 < len(room) <= ROOM_MAX and is_scalar_text(room) for room in rooms
    ):
        raise TokenError(f"the token's 'rooms' claim must be a list of room ids (1-{ROOM_MAX} characters each)")
    lang = claims.get("lang", "en")
    if not isinstance(lang, str) or (lang and not LANG_CLAIM.fullmatch(lang)):
        raise TokenError('the token\'s \'lang\' claim must be a language code such as "de" or "pt-BR"')
    session = claims.get("sid", "")
    if not isinstance(session, str) or len(session) > SID_MAX or not is_scalar_text(session):
        raise TokenError(f"the token's 'sid' claim must be a string of at most {SID_MAX} characters")
    email = claims.get("email", "")
    if (
        not isinstance(email, str)
        or len(email) > USER_ID_MAX
        or not is_scalar_text(email)
        or (email and "@" not in email)
    ):
        raise TokenError(f"the token's 'email' claim must be an e-mail address of at most {USER_ID_MAX} characters")
    name = claims.get("name")
    country = claims.get("country", "")
    profile = {
        "organization": claims.get("organization", ""),
        "bio": claims.get("bio", ""),
        "country": country.upper() if isinstance(country, str) else country,
    }
    complaint = profile_complaint(**profile, name=name, name_max=NAME_MAX)
    if complaint:
        raise TokenError(f"the token's {complaint.field!r} claim {complaint.fault}")
    assert isinstance(name, str)  # profile_complaint checked it
    return Identity(
        id=claims["sub"],
        name=name.strip(),
        role=role,
        lang=lang or "en",
        expires=int(claims["exp"]),
        rooms=tuple(rooms),
        anonymous=claims.get("anon") is True,
        session=session,
        email=email.strip().lower(),
        **profile,
    )


async def as_listed(identity: Identity, delegates: Delegates) -> Identity:
    """The identity a token speaks for, as the delegate list knows the person (issue 23, same
    person everywhere): a website's token whose `sub` or `email` names a delegate of the list gets
    that delegate's user id, name, organisation and country, as a personal link does (so the
    directory shows one person, the same on every device); its role and reading language stay.
    Tokens the server minted at a sign-in (`sid`) name their user already. Refused (rooms.Refused)
    when the organisers revoked the person."""
    if identity.session:
        return identity
    delegate = await delegates.person(identity.id, identity.email)
    if delegate is None:
        return identity
    return replace(
        identity, id=delegate.id, name=delegate.name, organization=delegate.organization, country=delegate.country
    )


def _public_keys(source: str | dict[str, Any], algorithm: str) -> dict[str, Any]:
    """Verification keys by kid ("" for a single PEM key) from PEM text or a JWKS dict."""
    family = "RSA" if algorithm == "RS256" else "EC"
    if isinstance(source, dict):
        keys: dict[str, Any] = {}
        for entry in source.get("keys", []):
            if entry.get("kty") != family or entry.get("use", "sig") != "sig":
                continue
            if entry.get("alg", algorithm) != algorithm:
                continue
            keys[str(entry.get("kid", ""))] = jwt.PyJWK(entry, algorithm).key
        if not keys:
            raise ValueError(f"the JWKS holds no {family} signing key for {algorithm}")
        return keys
    if not source.strip():
        raise ValueError(f"{algorithm} needs a public key: set [auth] public_key or [auth] jwks")
    key = jwt.get_algorithm_by_name(algorithm).prepare_key(source)
    if hasattr(key, "private_bytes"):
        raise ValueError(
            "[auth] public_key holds a private key; give the public key (the private one stays "
            "on the website, or goes in [auth] private_key)"
        )
    return {"": key}


def _private_key(pem: str, algorithm: str) -> Any:
    key = jwt.get_algorithm_by_name(algorithm).prepare_key(pem)
    if not hasattr(key, "private_bytes"):
        raise ValueError("[auth] private_key holds no private key")
    return key


def signer_from_settings(auth: AuthSettings, data_dir: str, *, create_secret: bool = True) -> TokenSigner:
    """The signer the [auth] settings describe; ConfigError (naming the key) when they are unusable.

    `create_secret=False` (the CLI) never makes up an HS256 secret: one the server does not hold
    would sign tokens the server refuses."""
    common: dict[str, Any] = {"audience": auth.audience, "issuer": auth.issuer, "leeway": auth.leeway}
    if auth.algorithm == "HS256":
        return TokenSigner(load_or_create_secret(auth.secret, data_dir, create=create_secret), **common)
    public: str | dict[str, Any]
    if auth.jwks:
        try:
            public = json.loads(_read(auth.jwks, "jwks"))
        except ValueError:
            raise ConfigError(f"auth.jwks: {auth.jwks} is not a JSON Web Key Set") from None
        if not isinstance(public, dict):
            raise ConfigError(f"auth.jwks: {auth.jwks} is not a JSON Web Key Set")
    else:
        public = _read(auth.public_key, "public_key") if auth.public_key else ""
    private = _read(auth.private_key, "private_key") if auth.private_key else ""
    try:
        return TokenSigner(algorithm=auth.algorithm, public_keys=public, private_key=private, **common)
    except (ValueError, TypeError, jwt.PyJWKError, jwt.InvalidKeyError) as exc:
        raise ConfigError(f"auth keys for {auth.algorithm}: {exc}") from None


def _read(path: str, key: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"auth.{key}: cannot read {path}: {exc.strerror}") from None


def load_or_create_secret(configured: str, data_dir: str, *, create: bool = True) -> str:
    """The configured secret, or the one kept in data_dir/secret, generated there on first start
    (`create`). ConfigError, one line naming the file and what to do, when it cannot be read or kept."""
    if configured:
        return configured
    path = Path(data_dir) / "secret"
    where = path.resolve()
    try:
        if path.exists():
            secret = path.read_text(encoding="utf-8").strip()
            if not secret:
                raise ConfigError(
                    f"the token secret file {where} is empty; delete it to have a new one generated "
                    "(tokens already handed out stop working), or set [auth] secret"
                )
            return secret
    except OSError as exc:
        raise ConfigError(
            f"cannot read the token secret {where} ({exc.strerror}); let this user read it, "
            "or set [auth] secret (BABELROOM_AUTH_SECRET)"
        ) from None
    if not create:
        raise ConfigError(
            f"no token secret: [auth] secret is empty and {where} does not exist (the server writes "
            "it on its first start); pass the server's --config FILE or its data directory "
            "(BABELROOM_SERVER_DATA_DIR=DIR), or BABELROOM_AUTH_SECRET"
        )
    secret = secrets.token_urlsafe(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # created readable by its owner only, never briefly readable by others
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as file:
            file.write(secret + "\n")
    except OSError as exc:
        raise ConfigError(
            f"cannot keep the token secret in {where} ({exc.strerror}); make the data directory "
            "writable ([server] data_dir, BABELROOM_SERVER_DATA_DIR), or set [auth] secret"
        ) from None
    log.info(
        "generated a token secret and kept it in %s (set [auth] secret or BABELROOM_AUTH_SECRET to choose one)", where
    )
    return secret
