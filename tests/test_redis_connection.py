"""chat/backend/redis/connection.py: the lean connection packs a command as redis-py would, byte
for byte, and leaves to redis-py what hiredis cannot pack (no Redis needed: packing only)."""

from __future__ import annotations

import pytest
import redis.asyncio
import redis.exceptions
from redis.typing import EncodableT

from chat.backend.redis.connection import LeanConnection

ARGUMENTS: list[tuple[EncodableT, ...]] = [
    (
        "EVALSHA",
        "a" * 40,
        2,
        "babelroom:room:{plenary}:log",
        "k2",
        "1",
        1765123456789,
        20.0,
        0.1,
        1 / 3,
        1e20,
        -5,
        "Grüß Gott, 你好 👋",
        b"\x00\xffraw",
        "",
    ),
    ("HSET", "h", "f", 0),
    ("CLIENT SETNAME", "node-1"),  # a first argument of several words: redis-py splits it
    ("SET", "k", bytearray(b"v"), memoryview(b"w")),  # hiredis takes neither: redis-py's way
]


@pytest.mark.parametrize("args", ARGUMENTS)
def test_a_command_is_packed_exactly_as_redis_py_packs_it(args: tuple[EncodableT, ...]) -> None:
    lean, plain = LeanConnection(), redis.asyncio.Connection()
    assert b"".join(lean.pack_command(*args)) == b"".join(plain.pack_command(*args))


def test_what_redis_py_refuses_is_refused_the_same_way() -> None:
    with pytest.raises(redis.exceptions.DataError):
        LeanConnection().pack_command("SET", "k", True)
    with pytest.raises(UnicodeEncodeError):
        LeanConnection().pack_command("SET", "k", "\udc80")
