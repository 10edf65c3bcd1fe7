"""Wire protocol v1: client frames, one msgspec Struct each, and their decoder (server frames: chat/frames.py).

Each frame's fields and limits are stated once, in its Struct. A valid frame is decoded in one msgspec
call (a tagged union on "type"). A frame msgspec refuses takes the slow path, which finds the first
complaint in the order the fields are defined and words it as the protocol does ("\"send\" needs the
field \"text\"", "\"room\" must not be empty"); JSON null counts as absent, unknown fields are ignored.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, TypeAlias

import msgspec
from msgspec import Meta

from rooms.messages import MENTIONS_MAX, REACTIONS
from rooms.text import SURROGATE, USER_ID_MAX, unencodable_field

PROTOCOL_VERSION = 1
MAX_REF = 64
MAX_CID = 64
MAX_REASON = 300
MAX_TOKEN = 4096
MAX_ID = 64  # a message id as the server issues it is at most 48 characters
MUTE_MAX_SECONDS = 30 * 86400  # the longest timed mute; longer: mute without `seconds` (until unmuted)
# `(?!\n)$` rather than `$`: Python's `$` also matches before a final newline ("de\n"); msgspec searches.
LANG_PATTERN = r"^[a-zA-Z]{2,3}(?:[-_][a-zA-Z0-9]{1,8}){0,4}(?!\n)$"

# The field types. `extra["complaint"]` words a broken rule that is not a length.
Room = Annotated[str, Meta(min_length=1, max_length=64, description="room id")]
User = Annotated[str, Meta(min_length=1, max_length=USER_ID_MAX, description="user id (a token's `sub`)")]
MessageId = Annotated[
    str, Meta(min_length=1, max_length=MAX_ID, description="a message id exactly as the server sent it")
]
RequestId = Annotated[str, Meta(min_length=1, max_length=64, description="a contact request's id")]
Lang = Annotated[
    str,
    Meta(
        pattern=LANG_PATTERN,
        description="language code; `pt-BR` is read as `pt`",
        extra={"complaint": "must be a language code such as 'de' or 'pt'"},
    ),
]
Reason = Annotated[str, Meta(max_length=MAX_REASON)]
Token = Annotated[str, Meta(min_length=1, max_length=MAX_TOKEN, description="a JWT")]
Cid = Annotated[str, Meta(min_length=1, max_length=MAX_CID, description="client id: a retried send is stored once")]
Seconds = Annotated[
    int,
    Meta(
        gt=0,
        le=MUTE_MAX_SECONDS,
        extra={"complaint": f"must be 1..{MUTE_MAX_SECONDS} seconds (30 days); leave it out to mute until unmuted"},
    ),
]
Count = Annotated[int, Meta(description="0..[limits] history_max (checked by the session)")]
Text = Annotated[str, Meta(description="1..[limits] text_chars characters (checked by the session)")]
Ref = Annotated[str, Meta(max_length=MAX_REF, description="echoed in the answer")]
Emoji = Annotated[
    str,
    Meta(
        pattern=f"^(?:{'|'.join(REACTIONS)})(?!\n)$",
        description="one of the reactions",
        extra={"complaint": f"must be one of {' '.join(REACTIONS)}"},
    ),
]


class FrameError(Exception):
    """A client frame cannot be served; `code` is the protocol's error code."""

    def __init__(self, code: str, message: str, ref: str | None = None, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref
        self.retry_after = retry_after  # seconds until the refusal passes by itself (a wait), when it does


# Names that are also server frames' (History, Relang, Report, the contact request) read as the client's verb here:
# GetHistory, RelangMessage, ReportMessage, RequestContact; SendMessage is not Starlette's ASGI `Send`.
class ClientFrame(msgspec.Struct, tag_field="type", kw_only=True):
    """Every client frame: `type` (the tag) and an optional `ref`, echoed in the answer."""

    ref: Ref | None = None

    @property
    def type(self) -> str:
        return str(self.__struct_config__.tag)


class Auth(ClientFrame, tag="auth"):
    token: Token
    lang: Lang | None = None


class Join(ClientFrame, tag="join"):
    room: Room
    since: MessageId | None = None
    history: Count | None = None


class Leave(ClientFrame, tag="leave"):
    room: Room


class SendMessage(ClientFrame, tag="send"):
    room: Room
    text: Text
    cid: Cid | None = None
    reply_to: MessageId | None = None  # the message (of the same room) this one answers
    mentions: Annotated[list[User], Meta(max_length=MENTIONS_MAX)] | None = None  # user ids (members of the room)


class React(ClientFrame, tag="react"):
    """Toggle the sender's reaction to a message: added, or taken back when they had it."""

    room: Room
    id: MessageId
    emoji: Emoji


class GetReactors(ClientFrame, tag="reactors"):
    """Who reacted to a message with which emoji (answered by the `reactors` server frame)."""

    room: Room
    id: MessageId


class Edit(ClientFrame, tag="edit"):
    """Replace the text of one's own message, within [limits] edit_window seconds of sending it."""

    room: Room
    id: MessageId
    text: Text


class SetLang(ClientFrame, tag="lang"):
    lang: Lang


class GetHistory(ClientFrame, tag="history"):
    room: Room
    before: MessageId | None = None
    limit: Count | None = None
    after: MessageId | None = None  # the next page of a `since` replay (`joined.more`), oldest first


class Mute(ClientFrame, tag="mute"):
    room: Room
    user: User
    seconds: Seconds | None = None  # absent: until unmuted
    reason: Reason | None = None


class Unmute(ClientFrame, tag="unmute"):
    room: Room
    user: User


class Kick(ClientFrame, tag="kick"):
    room: Room
    user: User
    reason: Reason | None = None


class Ban(ClientFrame, tag="ban"):
    room: Room
    user: User
    reason: Reason | None = None


class Unban(ClientFrame, tag="unban"):
    room: Room
    user: User
    reason: Reason | None = None


class Delete(ClientFrame, tag="delete"):
    room: Room
    id: MessageId


class RelangMessage(ClientFrame, tag="relang"):
    room: Room
    id: MessageId
    lang: Lang


class Ping(ClientFrame, tag="ping"):
    pass


# private conversations (chat/session_conversations.py)
class RequestContact(ClientFrame, tag="request"):
    to: User
    text: Text


class Accept(ClientFrame, tag="accept"):
    request: RequestId


class Decline(ClientFrame, tag="decline"):
    request: RequestId


class Read(ClientFrame, tag="read"):
    room: Room
    id: MessageId


class ReportMessage(ClientFrame, tag="report"):
    room: Room
    id: MessageId
    reason: Reason | None = None


class TypingNow(ClientFrame, tag="typing"):
    """The sender is typing in a private conversation (rooms: not shown, at 500 members it is noise)."""

    room: Room


AnyClientFrame: TypeAlias = (
    Auth
    | Join
    | Leave
    | SendMessage
    | SetLang
    | GetHistory
    | Mute
    | Unmute
    | Kick
    | Ban
    | Unban
    | Delete
    | RelangMessage
    | Ping
    | RequestContact
    | Accept
    | Decline
    | Read
    | ReportMessage
    | React
    | Edit
    | TypingNow
    | GetReactors
)
ModerationFrame: TypeAlias = Mute | Unmute | Kick | Ban | Unban | Delete
Conversational: TypeAlias = RequestContact | Accept | Decline | Read | ReportMessage
CLIENT_FRAMES: dict[str, type[ClientFrame]] = {str(cls.__struct_config__.tag): cls for cls in AnyClientFrame.__args__}


class _Rule(msgspec.Struct, frozen=True):
    """One field of a frame as the slow path checks it."""

    name: str
    type: Any
    required: bool


_RULES: dict[str, tuple[_Rule, ...]] = {
    kind: tuple(_Rule(f.name, f.type, f.required) for f in msgspec.structs.fields(cls) if f.name != "ref")
    for kind, cls in CLIENT_FRAMES.items()
}
_frame_decoder: msgspec.json.Decoder[AnyClientFrame] = msgspec.json.Decoder(AnyClientFrame)
_decoder = msgspec.json.Decoder()


def decode(text: str | bytes) -> AnyClientFrame:
    """Parse one client text frame; raises FrameError(bad_frame | unknown_type)."""
    try:
        if not isinstance(text, str):
            text.decode()  # msgspec does not check the UTF-8 of the fields it skips
        return _frame_decoder.decode(text)
    except (UnicodeDecodeError, msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return _decode_refused(text)  # the frame, or a FrameError saying what is wrong


def _decode_refused(text: str | bytes) -> AnyClientFrame:
    """A frame the typed decoder refused: name the first thing wrong, or build it (NaN in an unknown field)."""
    try:
        # msgspec refuses what stdlib json lets through (lone surrogates, NaN, 1e999): those
        # frames take the stdlib path below, which names what is wrong.
        data = _decoder.decode(text)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        data = _decode_slowly(text)
    if not isinstance(data, dict):
        raise FrameError("bad_frame", 'the frame must be a JSON object with a "type"')
    ref = _ref(data)
    kind = data.get("type")
    if not isinstance(kind, str):
        raise FrameError("bad_frame", 'the frame has no string "type"', ref)
    rules = _RULES.get(kind)
    if rules is None:
        raise FrameError("unknown_type", f"unknown frame type {kind[:40]!r}; see the protocol for the list", ref)
    values: dict[str, Any] = {}
    for rule in rules:
        value = data.get(rule.name)
        if value is None:
            if rule.required:
                raise FrameError("bad_frame", f'"{kind}" needs the field "{rule.name}"', ref)
            continue
        try:
            values[rule.name] = msgspec.convert(value, rule.type)
        except msgspec.ValidationError as exc:
            raise FrameError("bad_frame", f'"{rule.name}" {_complaint(str(exc), rule.type)}', ref) from None
    frame: AnyClientFrame = msgspec.convert({"type": kind, "ref": ref, **values}, AnyClientFrame)
    return frame


def _ref(data: dict[str, Any]) -> str | None:
    ref = data.get("ref")
    if ref is not None and (not isinstance(ref, str) or len(ref) > MAX_REF or SURROGATE.search(ref)):
        # not echoed: a ref that is itself bad cannot label the answer
        raise FrameError("bad_frame", f'"ref" must be text of at most {MAX_REF} characters')
    return ref


def _complaint(refusal: str, kind: Any) -> str:
    """msgspec's refusal of one field's value ("Expected `str` of length <= 64") in the protocol's words."""
    if ", got " in refusal:  # the wrong JSON type; a JSON true is never a count
        return "must be a string" if refusal.startswith("Expected `str") else "must be an integer"
    if "length >= 1" in refusal:
        return "must not be empty"
    if "length <= " in refusal:
        return f"at most {refusal.rsplit('<= ', 1)[1].split()[0]} characters"
    # kind is Annotated[...] (a required field) or Annotated[...] | None (an optional one)
    metas = [meta for arg in (kind, *getattr(kind, "__args__", ())) for meta in getattr(arg, "__metadata__", ())]
    return next((meta.extra["complaint"] for meta in metas if meta.extra and "complaint" in meta.extra), refusal)


def _decode_slowly(text: str | bytes) -> Any:
    """The stdlib parser, for frames msgspec refused: it says which field holds bad text."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise FrameError("bad_frame", "the frame is not valid JSON; send one JSON object per frame") from None
    if isinstance(data, dict):
        ref = _ref(data)
        bad = unencodable_field(data)
        if bad is not None:
            raise FrameError(
                "bad_frame",
                f'"{bad[:64]}" is not valid Unicode text (a lone surrogate such as \\ud800); send UTF-8 text',
                ref,
            )
    return data
