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


@pytest.mark.parametrize("text", ['{"type":"send","room":"r","text":"hi","cid":""}',
                                  '{"type":"mute","room":"r","user":"u","seconds":0}',
                                  '{"type":"auth","token":"t","lang":"not a language"}',
                                  '{"type":"kick","room":"r","user":"u","reason":"' + "x" * 301 + '"}'])
def test_codec_refuses_out_of_range_fields(text):
    with pytest.raises(FrameError) as caught:
        protocol.decode(text)
    assert caught.value.code == "bad_frame"


def test_codec_keeps_known_fields_and_ignores_unknown_ones():
    frame = protocol.decode('{"type":"send","room":"r","text":"hi","cid":"c","ref":"1","extra":true}')
    assert frame.type == "send" and frame.ref == "1" and frame.fields == {"room": "r", "text": "hi", "cid": "c"}


def test_deeply_nested_json_is_a_bad_frame_not_a_crash():
    with pytest.raises(FrameError):
        protocol.decode("[" * 100000 + "]" * 100000)


def test_primary_subtag():
    assert primary_subtag("pt-BR") == "pt" and primary_subtag("zh_Hant") == "zh"
