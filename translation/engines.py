"""The one interface every translation engine implements.

An engine serves a set of direct language pairs and translates lists of sentences
for one pair at a time; routing (preference, pivot through English), caching,
glossary protection and sentence splitting are the service's job, not the engine's.
"""

from __future__ import annotations

import abc

Pair = tuple[str, str]

#: Engine names as `[translation] engines` spells them.
ENGINE_NAMES: tuple[str, ...] = ("argos", "apertium")


class Engine(abc.ABC):
    """A source of translations for some direct pairs."""

    #: "argos" or "apertium".
    name: str

    @abc.abstractmethod
    async def start(self) -> None:
        """Load models / start processes (off the event loop); log nothing per pair."""

    @abc.abstractmethod
    def pairs(self) -> dict[Pair, str]:
        """Direct pairs served, each with a short version tag (for cache keys)."""

    @abc.abstractmethod
    async def translate(self, pair: Pair, sentences: list[str]) -> list[str]:
        """Translate sentences of one pair, one output per input, in order."""

    def depth(self) -> int:
        """Sentences waiting for or inside the engine (a metrics gauge)."""
        return 0

    @abc.abstractmethod
    async def close(self) -> None: ...
