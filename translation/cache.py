"""Translation caches: an in-process LRU, and the protocol of the shared (Redis) one."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Protocol, runtime_checkable


@runtime_checkable
class SharedCache(Protocol):
    """A cache all nodes see (the redis backend provides one). Keys are short
    ASCII strings from `cache_key`; values are translated texts."""

    async def get_many(self, keys: list[str]) -> list[str | None]: ...

    async def set_many(self, items: dict[str, str]) -> None: ...


def cache_key(source: str, target: str, text: str, model_tag: str) -> str:
    """Key of one message's translation. model_tag names the packages used, so a
    new package version never serves translations made by the old one."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()
    return f"tr:{source}:{target}:{model_tag}:{digest}"


def encode_value(text: str, confidence: float) -> str:
    """A translation as the caches keep it: "0.834|text" (keys carry a version mark, see
    TranslationService._key, so no entry from before confidences is ever read as one)."""
    return f"{confidence:.3f}|{text}"


def decode_value(value: str) -> tuple[str, float]:
    """encode_value's inverse; a value of another shape counts as confidence 0 (never expected)."""
    head, sep, text = value.partition("|")
    try:
        return (text, max(0.0, min(1.0, float(head)))) if sep else (value, 0.0)
    except ValueError:
        return value, 0.0


class LRUCache:
    """A bounded mapping that forgets the least recently used entry first.
    Used from the event loop only, so it needs no lock."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(0, capacity)
        self._data: OrderedDict[str, str] = OrderedDict()

    def get(self, key: str) -> str | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: str, value: str) -> None:
        if self.capacity == 0:
            return
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.capacity:
            self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)
