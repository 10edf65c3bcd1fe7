"""Small pieces on their own: the token bucket, the codec, tokens."""

from __future__ import annotations

import pytest

from chat import protocol
from chat.protocol import FrameError
from chat.tokens import TokenError, TokenSigner
from rooms import Role
from rooms.limits import TokenBucket
from translation import primary_subtag


def test_token_bucket_allows_the_burst_then_says_how_long_to_wait():
    bucket = TokenBucket(rate=2.0, burst=3)
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = bucket.take()
    assert 0 < wait <= 0.5
    assert not bucket.full()


def test_tokens_round_trip_and_refuse_tampering():
    signer = TokenSigner("k" * 32)
    token = signer.issue(name="Mo", role=Role.MODERATOR, lang="fr", ttl=60, rooms=("plenary",))
    identity = signer.verify(token)
    assert (identity.name, identity.role, identity.lang, identity.rooms) == ("Mo", Role.MODERATOR, "fr", ("plenary",))
    header, body, signature = token.split(".")
    with pytest.raises(TokenError):
        signer.verify(f"{header}.{body}x.{signature}")
    with pytest.raises(TokenError, match="expired"):
        signer.verify(signer.issue(name="Mo", role=Role.HOST, lang="en", ttl=-120))  # past the 30 s leeway


@pytest.mark.parametrize(
    "text",
    [
        '{"type":"send","room":"r","text":"hi","cid":""}',
        '{"type":"mute","room":"r","user":"u","seconds":0}',
        '{"type":"auth","token":"t","lang":"not a language"}',
        '{"type":"kick","room":"r","user":"u","reason":"' + "x" * 301 + '"}',
    ],
)
def test_codec_refuses_out_of_range_fields(text):
    with pytest.raises(FrameError) as caught:
        protocol.decode(text)
    assert caught.value.code == "bad_frame"


def test_codec_keeps_known_fields_and_ignores_unknown_ones():
    frame = protocol.decode('{"type":"send","room":"r","text":"hi","cid":"c","ref":"1","extra":true}')
    assert frame == protocol.SendMessage(room="r", text="hi", cid="c", ref="1") and frame.type == "send"


def test_deeply_nested_json_is_a_bad_frame_not_a_crash():
    with pytest.raises(FrameError):
        protocol.decode("[" * 100000 + "]" * 100000)


def test_primary_subtag():
    assert primary_subtag("pt-BR") == "pt" and primary_subtag("zh_Hant") == "zh"


@pytest.mark.parametrize(
    "text, message, ref",
    [
        ('{"type":"send","text":5,"ref":"r"}', '"send" needs the field "room"', "r"),  # fields in their defined order
        ('{"type":"join","room":null}', '"join" needs the field "room"', None),  # null is absent
        ('{"type":"join","room":5}', '"room" must be a string', None),
        ('{"type":"join","room":""}', '"room" must not be empty', None),
        ('{"type":"join","room":"' + "x" * 65 + '"}', '"room" at most 64 characters', None),
        ('{"type":"join","room":"p","history":true}', '"history" must be an integer', None),
        ('{"type":"mute","room":"r","user":"u","seconds":5.0}', '"seconds" must be an integer', None),
        (
            '{"type":"mute","room":"r","user":"u","seconds":0}',
            '"seconds" must be 1..2592000 seconds (30 days); leave it out to mute until unmuted',
            None,
        ),
        (
            '{"type":"relang","room":"r","id":"x","lang":"de\\n"}',
            "\"lang\" must be a language code such as 'de' or 'pt'",
            None,
        ),
        ('{"type":"ping","ref":"' + "x" * 65 + '"}', '"ref" must be text of at most 64 characters', None),
        (
            '{"type":"send","room":"r","text":"\\udfff","ref":"r"}',
            '"text" is not valid Unicode text (a lone surrogate such as \\ud800); send UTF-8 text',
            "r",
        ),
    ],
)
def test_codec_names_the_first_bad_field_in_the_protocols_words(text, message, ref):
    with pytest.raises(FrameError) as caught:
        protocol.decode(text)
    assert (caught.value.code, caught.value.message, caught.value.ref) == ("bad_frame", message, ref)


def test_codec_reads_null_as_absent_and_keeps_the_last_of_duplicate_keys():
    join = protocol.decode('{"type":"join","room":"p","since":null,"history":null,"ref":null}')
    assert join == protocol.Join(room="p")
    assert protocol.decode('{"type":"mute","room":5,"room":"a","user":"u"}') == protocol.Mute(room="a", user="u")
    assert protocol.decode(b'{"type":"ping","x":NaN}') == protocol.Ping()
