"""The one interface every translation engine implements.

An engine serves a set of direct language pairs and translates lists of sentences
for one pair at a time; routing (preference, two-hop routes across engines), caching,
glossary protection and sentence splitting are the service's job, not the engine's.
"""

from __future__ import annotations

import abc

Pair = tuple[str, str]
#: One translated sentence and the engine's confidence in it, 0-1 (see each engine's confidence()).
Scored = tuple[str, float]

#: Engine names as `[translation] engines` spells them.
ENGINE_NAMES: tuple[str, ...] = ("argos", "apertium", "ct2")

#: How good a pair served by each engine is taken to be (0-1), to choose between two-hop
#: routes (translation.routing): the published COMET-22 figures on FLORES, /100 —
#: quickmt's CTranslate2 models 85-87 (en-zh, zh-en, en-de), Argos 81-83 on the same
#: pairs. Apertium is rule-based: for the close Romance pairs it serves it reads well,
#: but it leaves unknown words as they are; it is ranked last so a neural leg wins a tie.
ENGINE_QUALITY: dict[str, float] = {"ct2": 0.86, "argos": 0.82, "apertium": 0.80}


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

    async def translate(self, pair: Pair, sentences: list[str]) -> list[str]:
        """Translate sentences of one pair, one output per input, in order."""
        return [text for text, _ in await self.translate_scored(pair, sentences)]

    @abc.abstractmethod
    async def translate_scored(self, pair: Pair, sentences: list[str]) -> list[Scored]:
        """translate(), each output with the engine's confidence in it (0-1)."""

    def depth(self) -> int:
        """Sentences waiting for or inside the engine (a metrics gauge)."""
        return 0

    @abc.abstractmethod
    async def close(self) -> None: ...
