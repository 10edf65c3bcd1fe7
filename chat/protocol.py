"""Wire protocol v1: decode and validate client frames (server frames: chat/frames.py)."""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from rooms.text import SURROGATE, unencodable_field

PROTOCOL_VERSION = 1
MAX_REF = 64
MAX_CID = 64
MAX_REASON = 300
MAX_TOKEN = 4096
MAX_ID = 64  # a message id as the server issues it is at most 48 characters
MUTE_MAX_SECONDS = 30 * 86400  # the longest timed mute; longer: mute without `seconds` (until unmuted)
LANG_CODE = re.compile(r"[a-zA-Z]{2,3}(?:[-_][a-zA-Z0-9]{1,8}){0,4}")


class FrameError(Exception):
    """A client frame cannot be served; `code` is the protocol's error code."""

    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref


@dataclass(frozen=True)
class Field:
    kind: type | tuple[type, ...]
    required: bool = True
    check: Callable[[Any], str | None] | None = None  # returns a complaint, or None when fine


def _max_len(limit: int) -> Callable[[Any], str | None]:
    return lambda value: f"at most {limit} characters" if len(value) > limit else None


def _non_empty(limit: int) -> Callable[[Any], str | None]:
    return lambda value: ("must not be empty" if not value else
                          f"at most {limit} characters" if len(value) > limit else None)


def _mute_seconds(value: int) -> str | None:
    if not 0 < value <= MUTE_MAX_SECONDS:
        return f"must be 1..{MUTE_MAX_SECONDS} seconds (30 days); leave it out to mute until unmuted"
    return None


def _lang(value: str) -> str | None:
    return None if LANG_CODE.fullmatch(value) else "must be a language code such as 'de' or 'pt'"


ROOM = Field(str, check=_non_empty(64))
USER = Field(str, check=_non_empty(64))
REASON = Field(str, required=False, check=_max_len(MAX_REASON))

CLIENT_FRAMES: dict[str, dict[str, Field]] = {
    "auth": {"token": Field(str, check=_non_empty(MAX_TOKEN)), "lang": Field(str, required=False, check=_lang)},
    "join": {"room": ROOM, "since": Field(str, required=False, check=_non_empty(MAX_ID)),
             "history": Field(int, required=False)},
    "leave": {"room": ROOM},
    "send": {"room": ROOM, "text": Field(str), "cid": Field(str, required=False, check=_non_empty(MAX_CID))},
    "lang": {"lang": Field(str, check=_lang)},
    "history": {"room": ROOM, "before": Field(str, required=False, check=_non_empty(MAX_ID)),
                "limit": Field(int, required=False)},
    "mute": {"room": ROOM, "user": USER, "seconds": Field(int, required=False, check=_mute_seconds), "reason": REASON},
    "unmute": {"room": ROOM, "user": USER},
    "kick": {"room": ROOM, "user": USER, "reason": REASON},
    "ban": {"room": ROOM, "user": USER, "reason": REASON},
    "unban": {"room": ROOM, "user": USER, "reason": REASON},
    "delete": {"room": ROOM, "id": Field(str, check=_non_empty(MAX_ID))},
    "relang": {"room": ROOM, "id": Field(str, check=_non_empty(MAX_ID)), "lang": Field(str, check=_lang)},
    "ping": {},
    # private conversations (chat/conversations.py)
    "request": {"to": USER, "text": Field(str)},
    "accept": {"request": Field(str, check=_non_empty(64))},
    "decline": {"request": Field(str, check=_non_empty(64))},
    "read": {"room": ROOM, "id": Field(str, check=_non_empty(MAX_ID))},
    "report": {"room": ROOM, "id": Field(str, check=_non_empty(MAX_ID)), "reason": REASON},
}
CONVERSATION_FRAMES = ("request", "accept", "decline", "read", "report")


@dataclass(frozen=True)
class ClientFrame:
    type: str
    ref: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str, default: Any = None) -> Any:
        return self.fields.get(name, default)

    def __getitem__(self, name: str) -> Any:
        return self.fields[name]


_decoder = msgspec.json.Decoder()


def decode(text: str | bytes) -> ClientFrame:
    """Parse one client text frame; raises FrameError(bad_frame | unknown_type)."""
    try:
        # msgspec refuses what stdlib json lets through (lone surrogates, NaN, 1e999): those
        # frames take the slow path below, which names what is wrong.
        data = _decoder.decode(text)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        data = _decode_slowly(text)
    if not isinstance(data, dict):
        raise FrameError("bad_frame", "the frame must be a JSON object with a \"type\"")
    ref = data.get("ref")
    if ref is not None and (not isinstance(ref, str) or len(ref) > MAX_REF or SURROGATE.search(ref)):
        # not echoed: a ref that is itself bad cannot label the answer
        raise FrameError("bad_frame", f"\"ref\" must be text of at most {MAX_REF} characters")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise FrameError("bad_frame", "the frame has no string \"type\"", ref)
    spec = CLIENT_FRAMES.get(kind)
    if spec is None:
        raise FrameError("unknown_type", f"unknown frame type {kind[:40]!r}; see the protocol for the list", ref)
    return ClientFrame(kind, ref, _fields(kind, spec, data, ref))


def _decode_slowly(text: str | bytes) -> Any:
    """The stdlib parser, for frames msgspec refused: it says which field holds bad text."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise FrameError("bad_frame", "the frame is not valid JSON; send one JSON object per frame") from None
    if isinstance(data, dict):
        ref = data.get("ref")
        if ref is not None and (not isinstance(ref, str) or len(ref) > MAX_REF or SURROGATE.search(ref)):
            raise FrameError("bad_frame", f"\"ref\" must be text of at most {MAX_REF} characters")
        bad = unencodable_field(data)
        if bad is not None:
            raise FrameError("bad_frame", f"\"{bad[:64]}\" is not valid Unicode text (a lone surrogate such as "
                             "\\ud800); send UTF-8 text", ref)
    return data


def _fields(kind: str, spec: dict[str, Field], data: dict[str, Any], ref: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, rule in spec.items():
        value = data.get(name)
        if value is None:
            if rule.required:
                raise FrameError("bad_frame", f"\"{kind}\" needs the field \"{name}\"", ref)
            continue
        # bool is an int in Python; a JSON true is never a count.
        if not isinstance(value, rule.kind) or isinstance(value, bool):
            expected = "a string" if rule.kind is str else "an integer"
            raise FrameError("bad_frame", f"\"{name}\" must be {expected}", ref)
        complaint = rule.check(value) if rule.check else None
        if complaint:
            raise FrameError("bad_frame", f"\"{name}\" {complaint}", ref)
        values[name] = value
    return values
