"""A stored message: what a room's history holds and every backend's history/since/append returns.

One msgspec Struct, built by each backend's row decoder (one function per backend) and read as
attributes everywhere; `Author` is also the `user` of the `message` event (events.StoredMessage)
and frame (chat/frames.MessageFrame), so the three encode the sender the same way: {id, name}.
Frozen: a backend changes a stored message by building a new one (`msgspec.structs.replace`), so a
message a caller holds never changes under it.
"""
from __future__ import annotations

import msgspec

__all__ = ["Author", "Message"]


class Author(msgspec.Struct, frozen=True):
    """Who sent a message."""

    id: str
    name: str


class Message(msgspec.Struct, frozen=True, kw_only=True):
    """A message as history keeps it; `tr`: its stored translations (lang -> text); a `deleted`
    message is a placeholder keeping its place, with no text and no translations."""

    room: str
    id: str  # "<epoch>.<position>" (chat/backend/ids.py)
    ts: int  # ms since the epoch
    user: Author
    lang: str  # the source language (the sender's correction, once relabelled)
    text: str
    tr: dict[str, str] = msgspec.field(default_factory=dict)
    deleted: bool = False
