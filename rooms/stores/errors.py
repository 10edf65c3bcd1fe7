"""The one failure every store may raise: the shared state cannot be reached right now."""
from __future__ import annotations


class BackendUnavailable(Exception):
    """The store cannot be reached right now; the caller should answer `unavailable` and the
    client retry (a retried `send` with its cid is stored once)."""
