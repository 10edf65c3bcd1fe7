"""The one failure every store may raise: the shared state cannot be reached right now."""

from __future__ import annotations


class BackendUnavailable(Exception):
    """The store cannot be reached right now; the caller should answer `unavailable` and the
    client retry (a retried `send` with its cid is stored once)."""


class StoreError(Exception):
    """The store cannot be used as it is (corrupt, written by a newer version, locked by another
    process, unreadable): the node must not start. The message names the file and what to do."""
