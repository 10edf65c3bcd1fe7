"""Property-based tests (hypothesis): the frame decoder and every HTTP body take anything and answer
with a documented error, never a crash, and nothing they accept holds text that cannot be sent."""

from __future__ import annotations

import json
import math
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chat import protocol
from chat.frames import encode, error
from chat.protocol import CLIENT_FRAMES, MUTE_MAX_SECONDS, FrameError
from rooms import Role
from rooms.text import is_scalar_text

# any text, lone surrogates included (what JSON's \ud800 escapes can produce)
any_text = st.text(st.characters(codec=None, categories=None), max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from(
    sorted({field.name for frame in CLIENT_FRAMES.values() for field in msgspec.structs.fields(frame)} | {"ref", "x"})
)
frames = st.builds(
    lambda kind, fields: {"type": kind, **fields},
    st.sampled_from([*CLIENT_FRAMES, "fly"]) | any_text,
    st.dictionaries(field_names, json_values, max_size=6),
)


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key, inner in value.items() for s in [key, *strings_in(inner)]]
    if isinstance(value, list):
        return [s for inner in value for s in strings_in(inner)]
    return []


def check_decode(text: str) -> None:
    try:
        frame = protocol.decode(text)
    except FrameError as exc:
        assert exc.code in ("bad_frame", "unknown_type")
        answer = encode(error(exc.code, exc.message, exc.ref))
        answer.encode("utf-8")  # the answer can always be sent
        assert exc.ref is None or (isinstance(exc.ref, str) and is_scalar_text(exc.ref))
        return
    assert type(frame) is CLIENT_FRAMES[frame.type]
    for value in msgspec.structs.asdict(frame).values():  # ref included
        assert all(is_scalar_text(s) for s in strings_in(value))
    if isinstance(frame, protocol.Mute) and frame.seconds is not None:
        assert 0 < frame.seconds <= MUTE_MAX_SECONDS


@settings(max_examples=300, deadline=None)
@given(frames)
def test_decoding_any_frame_object_gives_a_frame_or_a_documented_error(frame):
    check_decode(json.dumps(frame))


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_decoding_any_json_value_gives_a_frame_or_a_documented_error(value):
    check_decode(json.dumps(value))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_decoding_any_text_gives_a_frame_or_a_documented_error(text):
    check_decode(text)


@settings(max_examples=300, deadline=None)
@given(json_values)
@example(["\ud800", float("inf")])  # the surrogate fallback once wrote Infinity
def test_every_encoded_server_frame_is_utf8_and_round_trips(value):
    text = encode({"type": "message", "text": value})
    text.encode("utf-8")
    # standard JSON only (browsers refuse Infinity/NaN): a non-finite number is written as null
    assert json.loads(text, parse_constant=_refuse) == json.loads(
        json.dumps({"type": "message", "text": _standard(value)})
    )


def _refuse(constant: str) -> None:
    raise AssertionError(f"{constant} is not standard JSON")


def _standard(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_standard(item) for item in value]
    if isinstance(value, dict):
        return {key: _standard(item) for key, item in value.items()}
    return value


# every HTTP body ------------------------------------------------------------------------------
BODY_ROUTES = [
    ("POST", "/api/session", False),
    ("POST", "/api/rooms", True),
    ("PATCH", "/api/rooms/climate", True),
    ("POST", "/api/rooms/climate/moderators", True),
]
bodies = st.one_of(
    st.dictionaries(
        st.sampled_from(["name", "lang", "access_code", "id", "title", "forum", "state", "slow_mode", "user", "x"]),
        json_values,
        max_size=5,
    ),
    json_values,
).map(lambda value: json.dumps(value).encode()) | st.binary(max_size=64)


@pytest.mark.parametrize("method, path, as_host", BODY_ROUTES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
async def test_any_http_body_is_answered_with_a_documented_status_never_500(server, method, path, as_host, body):
    headers = {"content-type": "application/json"}
    if as_host:
        headers["authorization"] = f"Bearer {server.token('Hal', role=Role.HOST)}"
    async with server.http() as http:
        answer = await http.request(method, path, content=body, headers=headers)
    assert answer.status_code in (200, 201, 400, 401, 409, 413), (answer.status_code, answer.text)
    payload = answer.json()
    if answer.status_code >= 400:
        # field: the one a 400 is about
        assert {"code", "message"} <= set(payload) <= {"code", "message", "field"} and payload["message"]
    else:
        assert all(is_scalar_text(s) for s in strings_in(payload))
