"""The sqlite backend (one node, one file); backend.py is the place to start reading."""

from chat.backend.sqlite.backend import SqliteBackend

__all__ = ["SqliteBackend"]
