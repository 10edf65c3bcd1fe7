"""Message ids: "<epoch>.<position>" — opaque to clients, ordered within one room's history.

The epoch names one life of a room's history. When history is lost (a memory node restarts,
Redis loses its data) the epoch changes, so an old `since` is recognised as unrecoverable
instead of silently skipping messages.

The shapes, exactly as the server issues them (ASCII only, every part bounded):
    epoch      8 lowercase hex digits
    memory, sqlite  <epoch>.<sequence>   sequence: 1-19 decimal digits, no leading zero
    redis      <epoch>.<ms>-<seq>         a Redis stream id, each part 1-19 decimal digits
Anything else is not one of ours: the edges refuse it (`bad_frame`), the backends treat it as
unknown. 19 digits keep every number below 2**63, so nothing overflows Redis or int64.
"""

from __future__ import annotations

import os
import random
import re

_EPOCH = "[0-9a-f]{8}"
_NUMBER = "(?:0|[1-9][0-9]{0,18})"
SEQUENCE_ID = re.compile(rf"({_EPOCH})\.([1-9][0-9]{{0,18}})")
STREAM_ID = re.compile(rf"({_EPOCH})\.({_NUMBER}-{_NUMBER})")
MAX_ID_CHARS = 8 + 1 + 19 + 1 + 19


# An epoch must differ from the lives of the same room before it, on every node: 32 random bits from a
# generator seeded by the OS once per process. It is no secret (every member sees it in message ids),
# and Redis' send offers one with every message in case the room's history is new (issue 27): an OS
# call for each (secrets) was a system call per message.
_EPOCHS = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _EPOCHS.seed(os.urandom(32)))  # a child draws its own


def new_epoch() -> str:
    return f"{_EPOCHS.getrandbits(32):08x}"


def make_id(epoch: str, position: str) -> str:
    return f"{epoch}.{position}"


def split_id(message_id: str) -> tuple[str, str] | None:
    """(epoch, position) of a string with a dot, without checking either part (prefer the parsers below)."""
    epoch, dot, position = message_id.partition(".")
    if not dot or not epoch or not position:
        return None
    return epoch, position


def is_message_id(value: object) -> bool:
    """True for an id of either shape the server issues."""
    return isinstance(value, str) and (
        SEQUENCE_ID.fullmatch(value) is not None or STREAM_ID.fullmatch(value) is not None
    )


def parse_sequence_id(message_id: object) -> tuple[str, int] | None:
    """(epoch, sequence) of a memory-backend id, or None when it is not exactly one."""
    match = SEQUENCE_ID.fullmatch(message_id) if isinstance(message_id, str) else None
    return (match.group(1), int(match.group(2))) if match else None


def parse_stream_id(message_id: object) -> tuple[str, str] | None:
    """(epoch, stream id "<ms>-<seq>") of a redis-backend id, or None when it is not exactly one."""
    match = STREAM_ID.fullmatch(message_id) if isinstance(message_id, str) else None
    return (match.group(1), match.group(2)) if match else None
