"""Configuration: config.toml plus BABELROOM_<SECTION>_<KEY> overrides, read once into typed objects."""

from __future__ import annotations

import dataclasses
import difflib
import importlib.util
import ipaddress
import logging
import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rooms import InvalidRoom, Room, new_room
from rooms.meetings import planned_slots
from translation.engines import ENGINE_NAMES
from translation.settings import TranslationSettings

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config.toml"
ENV_PREFIX = "BABELROOM_"
# Variables of the test suite and the benchmarks (tests/conftest.py, benchmarks/), not settings.
NOT_SETTINGS = ("BABELROOM_TEST_", "BABELROOM_BENCH_")

log = logging.getLogger("babelroom.config")


class ConfigError(Exception):
    """A configuration value is missing or malformed; the message names the key."""


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    node_id: str = ""
    data_dir: str = "data"
    allowed_origins: tuple[str, ...] = ()
    embed_origins: tuple[str, ...] = ()
    log_level: str = "info"
    lobby_interval: float = 2.0
    lobby_bytes_per_second: float = 1_000_000.0
    header_timeout: float = 10.0
    keep_alive_timeout: int = 5
    shutdown_timeout: float = 10.0
    trusted_proxies: tuple[str, ...] = ()
    metrics_token: str = ""  # GET /metrics answers only with `Authorization: Bearer <this>`; "" = no /metrics
    metrics_address: str = ""  # HOST:PORT serving only GET /metrics, with no token (a private interface)


@dataclass(frozen=True)
class AuthSettings:
    secret: str = ""
    token_ttl: int = 86400
    access_code: str = ""
    auth_timeout: float = 10.0
    algorithm: str = "HS256"
    public_key: str = ""
    jwks: str = ""
    private_key: str = ""
    audience: str = ""
    issuer: str = ""
    leeway: float = 30.0
    access: str = "open"  # open | code | invited (issue 23)
    session_check_ttl: float = 5.0  # seconds a node trusts "this sign-in is live" before asking the store again
    signin_code_ttl: int = 600  # seconds a personal sign-in code stays valid
    signin_codes_per_hour: int = 10  # personal sign-in codes one person may make per hour
    renewals_per_hour: int = 30  # token renewals (POST /api/session/renew) one sign-in may ask for per hour
    invite_ttl: int = 2592000  # seconds a delegate's personal link (`babelroom delegates links`) stays valid

    @property
    def access_mode(self) -> str:
        """How strangers get in: an access_code set under the default "open" keeps meaning "code"."""
        return "code" if self.access == "open" and self.access_code else self.access


@dataclass(frozen=True)
class BackendSettings:
    kind: str = "sqlite"
    path: str = ""  # sqlite file; "" = babelroom.sqlite3 in [server] data_dir
    create: bool = False  # sqlite: an existing empty file may be made a new database (`serve --new-database`)
    synchronous: str = "full"
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_cluster: bool = False
    key_prefix: str = "babelroom:"
    history_max: int = 1000
    presence_ttl: int = 15
    idempotency_ttl: int = 86400


@dataclass(frozen=True)
class LimitSettings:
    frame_bytes: int = 16384
    text_chars: int = 2000
    rate_per_second: float = 5.0
    rate_burst: int = 10
    send_queue: int = 512
    send_buffer_bytes: int = 1048576
    bad_frames: int = 10
    history_default: int = 50
    history_max: int = 200
    compression: bool = False
    membership_rate: float = 2.0
    membership_burst: int = 20
    presence_window: float = 0.5
    history_rate: float = 2.0
    history_burst: int = 10
    connections_per_user: int = 20
    session_rate: float = 2.0
    session_burst: int = 60
    edit_window: int = 900
    reaction_window: float = 0.25
    typing_interval: float = 3.0


@dataclass(frozen=True)
class ConversationSettings:
    policy: str = "request"
    max_pending: int = 50
    max_incoming: int = 20
    cooldown: int = 86400
    request_ttl: int = 604800
    profile_ttl: int = 2592000
    report_burst: int = 5
    reports_per_hour: float = 20.0


@dataclass(frozen=True)
class MeetingSettings:
    enabled: bool = True
    timezone: str = "UTC"
    days: tuple[str, ...] = ()
    windows: tuple[str, ...] = ("14:00-17:00",)
    slot_minutes: int = 20
    places: tuple[str, ...] = ("Table 1", "Table 2", "Table 3")
    online: str = ""
    online_link: str = "https://meet.jit.si/babelroom-{meeting}"
    reminder_minutes: int = 10


@dataclass(frozen=True)
class Config:
    server: ServerSettings = field(default_factory=ServerSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    backend: BackendSettings = field(default_factory=BackendSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    translation: TranslationSettings = field(default_factory=TranslationSettings)
    conversations: ConversationSettings = field(default_factory=ConversationSettings)
    meetings: MeetingSettings = field(default_factory=MeetingSettings)
    rooms: tuple[Room, ...] = ()

    def replace(self, section: str, **changes: Any) -> Config:
        """A copy with some keys of one section changed (CLI flags, tests)."""
        updated = dataclasses.replace(getattr(self, section), **changes)
        return dataclasses.replace(self, **{section: updated})


SECTIONS: dict[str, type] = {
    "server": ServerSettings,
    "auth": AuthSettings,
    "backend": BackendSettings,
    "limits": LimitSettings,
    "translation": TranslationSettings,
    "conversations": ConversationSettings,
    "meetings": MeetingSettings,
}
CHOICES = {
    ("backend", "kind"): ("sqlite", "memory", "redis"),
    ("backend", "synchronous"): ("full", "normal"),
    ("auth", "algorithm"): ("HS256", "RS256", "ES256"),
    ("auth", "access"): ("open", "code", "invited"),
    ("server", "log_level"): ("debug", "info", "warning", "error"),
    ("translation", "detector"): ("py3langid", "lingua", "langdetect"),
    ("translation", "mode"): ("inline", "workers"),
    ("conversations", "policy"): ("open", "request", "off"),
}
# Numbers with an upper bound too (every number is at least 0).
RANGES = {
    ("server", "port"): (0, 65535),
}
# Lists whose every item must be one of these.
ITEM_CHOICES = {
    ("translation", "engines"): ENGINE_NAMES,
}


def load_config(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read the TOML file (the bundled defaults when None), then apply env overrides."""
    environ = os.environ if environ is None else environ
    path = Path(path) if path else DEFAULT_CONFIG
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found; pass --config with an existing file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    unknown = set(raw) - set(SECTIONS) - {"rooms"}
    if unknown:
        raise ConfigError(f"unknown section [{sorted(unknown)[0]}] in {path}")
    sections = {name: _section(name, cls, raw.get(name, {}), environ) for name, cls in SECTIONS.items()}
    for entry in sections["server"].trusted_proxies:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError(
                f"server.trusted_proxies: {entry!r} is not an IP address or network "
                '(such as "10.0.0.5" or "10.0.0.0/8")'
            ) from None
    config = Config(**sections, rooms=_rooms(raw.get("rooms", [])))
    if config.translation.mode == "workers" and config.backend.kind != "redis":
        raise ConfigError(
            'translation.mode = "workers" needs backend.kind = "redis" (the jobs go through Redis '
            f"Streams), got {config.backend.kind!r}"
        )
    for warning in unknown_variables(environ):
        log.warning("%s", warning)
    return config


def setting_variables() -> list[str]:
    """Every BABELROOM_<SECTION>_<KEY> a setting reads."""
    return [
        f"{ENV_PREFIX}{name.upper()}_{f.name.upper()}"
        for name, cls in SECTIONS.items()
        for f in dataclasses.fields(cls)
    ]


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """One warning per BABELROOM_* variable that no setting reads (a misspelt one is otherwise silently ignored)."""
    known = setting_variables()
    warnings = []
    for key in sorted(environ):
        if not key.startswith(ENV_PREFIX) or key in known or key.startswith(NOT_SETTINGS):
            continue
        # compared without the common prefix, which would make any two names look alike
        tail = key.removeprefix(ENV_PREFIX)
        tails = [name.removeprefix(ENV_PREFIX) for name in known]
        nearest = difflib.get_close_matches(tail, tails, n=1, cutoff=0.6)
        nearest = nearest or [name for name in tails if name.endswith(f"_{tail}")][:1]  # BABELROOM_PORT
        hint = (
            f"did you mean {ENV_PREFIX}{nearest[0]}?"
            if nearest
            else "settings are BABELROOM_<SECTION>_<KEY>, e.g. BABELROOM_SERVER_PORT"
        )
        warnings.append(f"{key} is not a babelroom setting and is ignored ({hint})")
    return warnings


def _section(name: str, cls: type, values: dict[str, Any], environ: Mapping[str, str]) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in values:
        if key not in names:
            raise ConfigError(f"{name}.{key}: unknown key (known: {', '.join(sorted(names))})")
    kwargs: dict[str, Any] = {}
    for key in names:
        env_key = f"{ENV_PREFIX}{name.upper()}_{key.upper()}"
        if env_key in environ:
            kwargs[key] = _parse_env(env_key, environ[env_key], hints[key])
        elif key in values:
            kwargs[key] = _coerce(f"{name}.{key}", values[key], hints[key])
        else:
            continue
        allowed = CHOICES.get((name, key))
        if allowed and kwargs[key] not in allowed:
            raise ConfigError(f"{name}.{key}: must be one of {', '.join(allowed)}, got {kwargs[key]!r}")
        bounds = RANGES.get((name, key))
        if bounds and not bounds[0] <= kwargs[key] <= bounds[1]:
            raise ConfigError(f"{name}.{key}: must be {bounds[0]}-{bounds[1]}, got {kwargs[key]!r}")
        items = ITEM_CHOICES.get((name, key))
        if items and (bad := [v for v in kwargs[key] if v not in items]):
            raise ConfigError(f"{name}.{key}: each item must be one of {', '.join(items)}, got {bad[0]!r}")
    if kwargs.get("metrics_address") and name == "server":
        listen_address(kwargs["metrics_address"], "server.metrics_address")  # ConfigError when malformed
    if name == "translation" and kwargs.get("detector") == "lingua" and importlib.util.find_spec("lingua") is None:
        # an optional extra: its models weigh ~100 MB, more than the rest of the serve install's detectors
        raise ConfigError(
            "translation.detector: lingua is not installed; pip install -e '.[lingua]', or choose py3langid"
        )
    settings = cls(**kwargs)
    if isinstance(settings, MeetingSettings):
        _check_meetings(settings)
    return settings


def _check_meetings(settings: MeetingSettings) -> None:
    """The [meetings] plan must describe slots: a known time zone, YYYY-MM-DD days, HH:MM-HH:MM windows."""
    try:
        zone = ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f'meetings.timezone: unknown time zone {settings.timezone!r} (such as "Europe/Helsinki" or "UTC")'
        ) from None
    try:
        planned_slots(settings.days, settings.windows, settings.slot_minutes, zone, ())
    except ValueError as exc:
        raise ConfigError(
            f"meetings: days must be YYYY-MM-DD and windows HH:MM-HH:MM with slot_minutes > 0 ({exc})"
        ) from None
    if settings.online and "{meeting}" not in settings.online_link:
        raise ConfigError("meetings.online_link: must hold {meeting} (each meeting gets a call of its own)")


def listen_address(text: str, key: str) -> tuple[str, int]:
    """(host, port) of "HOST:PORT" ("[::1]:9464" for IPv6); ConfigError naming `key` when it is not one."""
    host, _, port = text.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError(f"{key}: expected HOST:PORT such as 127.0.0.1:9464, got {text!r}")
    return host, int(port)


def _parse_env(key: str, text: str, kind: Any) -> Any:
    if kind is bool:
        lowered = text.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{key}: expected true or false, got {text!r}")
    if typing.get_origin(kind) is tuple:
        return tuple(part.strip() for part in text.split(",") if part.strip())
    return _coerce(key, text, kind)


def _coerce(key: str, value: Any, kind: Any) -> Any:
    if typing.get_origin(kind) is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{key}: expected a list of strings, got {value!r}")
        return tuple(value)
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        return value
    if kind in (int, float):
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected {'an integer' if kind is int else 'a number'}, got {value!r}") from None
        if isinstance(value, bool) or number < 0:
            raise ConfigError(f"{key}: expected a non-negative number, got {value!r}")
        return number
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{key}: unsupported type {kind!r}")


def _rooms(entries: Any) -> tuple[Room, ...]:
    if not isinstance(entries, list):
        raise ConfigError("rooms: expected [[rooms]] tables")
    rooms = []
    for index, entry in enumerate(entries):
        where = f"rooms[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a table with id and title")
        try:
            rooms.append(new_room(entry))  # the rules the host API applies too
        except InvalidRoom as exc:
            raise ConfigError(f"{where}.{exc.field}: {exc} (such as id = 'plenary', title = 'Plenary')") from None
    ids = [room.id for room in rooms]
    if len(set(ids)) != len(ids):
        raise ConfigError("rooms: two rooms share an id")
    return tuple(rooms)
