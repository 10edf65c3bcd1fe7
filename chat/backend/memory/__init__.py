"""The memory backend (one process, state lost on exit); backend.py is the place to start reading."""

from chat.backend.memory.backend import MemoryBackend

__all__ = ["MemoryBackend"]
