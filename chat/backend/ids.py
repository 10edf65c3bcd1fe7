"""Message ids: "<epoch>.<position>" — opaque to clients, ordered within one room's history.

The epoch names one life of a room's history. When history is lost (a memory node restarts,
Redis loses its data) the epoch changes, so an old `since` is recognised as unrecoverable
instead of silently skipping messages.
"""
from __future__ import annotations

import secrets


def new_epoch() -> str:
    return secrets.token_hex(4)


def make_id(epoch: str, position: str) -> str:
    return f"{epoch}.{position}"


def split_id(message_id: str) -> tuple[str, str] | None:
    """(epoch, position), or None when the id is not one of ours."""
    epoch, dot, position = message_id.partition(".")
    if not dot or not epoch or not position:
        return None
    return epoch, position
