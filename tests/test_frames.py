"""Server frames and Broker events: one typed definition each, the wire as it was, the schema current."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from msgspec.structs import replace

from chat.frames import Ack, Error, History, Joined, Pong, encode, live_message, message_frame, schema
from rooms.stores.events import Direct, Moderated, NewMessage, PresenceChanged, decode_event, encode_event
from rooms.stores.messages import Author, StoredMessage

ROOT = Path(__file__).resolve().parent.parent
USER = {"id": "u_ada", "name": "Ada"}
AUTHOR = Author("u_ada", "Ada")
STORED = StoredMessage(
    room="plenary", id="1a2b3c4d.7", ts=1700000000000, user=AUTHOR, lang="en", text="hi", tr={"de": "hallo"}
)


def test_the_committed_schema_is_the_one_the_structs_generate():
    committed = json.loads((ROOT / "docs" / "protocol.schema.json").read_text(encoding="utf-8"))
    assert committed == schema(), "run: python -m chat.frames --schema > docs/protocol.schema.json"


def test_the_schema_command_prints_it():
    done = subprocess.run(
        [sys.executable, "-m", "chat.frames", "--schema"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == schema()
    assert {"MessageFrame", "Joined", "NewMessage", "Direct"} <= set(schema()["$defs"])


def test_absent_optional_fields_stay_absent_on_the_wire():
    assert encode(Ack()) == '{"type":"ack"}'
    assert encode(Ack(ref="r1", id="x")) == '{"type":"ack","ref":"r1","id":"x"}'
    assert encode(Ack(ref="")) == '{"type":"ack","ref":""}'  # an empty ref is still echoed, as before
    assert encode(Error(code="bad_frame", message="m")) == '{"type":"error","code":"bad_frame","message":"m"}'
    assert encode(Pong()) == '{"type":"pong"}'
    assert encode(History(room="r", messages=[], ref="q")) == '{"type":"history","room":"r","messages":[],"ref":"q"}'
    joined = Joined(room={"id": "r"}, members=[], messages=[], you={"role": "delegate"}, recovered=False)
    assert json.loads(encode(joined))["recovered"] is False
    assert "recovered" not in encode(Joined(room={"id": "r"}, members=[], messages=[], you={}))
    assert (
        encode(Moderated(room="r", action="kick", user="u", by=USER))
        == '{"type":"moderation","room":"r","action":"kick","user":"u","by":{"id":"u_ada","name":"Ada"}}'
    )


def test_a_message_frame_carries_tr_only_for_a_reader_of_a_known_translation():
    assert encode(message_frame(STORED)) == (
        '{"type":"message","room":"plenary","id":"1a2b3c4d.7","ts":1700000000000,'
        '"user":{"id":"u_ada","name":"Ada"},"lang":"en","text":"hi"}'
    )
    assert json.loads(encode(message_frame(STORED, "de")))["tr"] == {"lang": "de", "text": "hallo"}
    assert "tr" not in encode(message_frame(STORED, "fr")) and "tr" not in encode(message_frame(STORED, "en"))
    gone = json.loads(encode(message_frame(replace(STORED, text="", deleted=True), "de")))
    assert gone["deleted"] is True and "tr" not in gone


def test_a_stored_message_event_encodes_as_the_message_frame_it_becomes():
    """What append.lua publishes (the event's encoding) is byte for byte the frame readers get."""
    event = NewMessage(
        room="plenary", id="1a2b3c4d.7", ts=5, user=AUTHOR, lang="en", text='é "q"', translating=["de", "fr"]
    )
    assert encode_event(event) == encode(live_message(event)).encode()
    assert decode_event(encode_event(event)) == event
    plain = NewMessage(room="plenary", id="1a2b3c4d.8", ts=6, user=AUTHOR, lang="en", text="x")
    assert b"translating" not in encode_event(plain) and b"deleted" not in encode_event(plain)


def test_events_round_trip_between_nodes_typed():
    for event in (
        PresenceChanged(room="r", event="join", user={"id": "u", "name": "U", "lang": "de"}),
        Direct(
            users=["u"],
            frame=Moderated(room="*", action="ban", user="u", by=USER),
            remove={"room": "*", "reason": "banned"},
        ),
    ):
        assert decode_event(encode_event(event)) == event


def test_an_event_holding_a_lone_surrogate_still_travels():
    event = NewMessage(room="r", id="1a2b3c4d.1", ts=1, user=AUTHOR, lang="en", text="old \ud800 data")
    assert decode_event(encode_event(event)) == event
