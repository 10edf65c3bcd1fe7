"""Which packages carry a message from one language to another.

A direct package wins; otherwise, as in Argos, English is the pivot: de->es runs
de->en then en->es. No route means the reader keeps the original.
"""

from __future__ import annotations

from collections.abc import Iterable

PIVOT = "en"

Pair = tuple[str, str]


class Routes:
    """Routes over a fixed set of direct pairs."""

    def __init__(self, pairs: Iterable[Pair]) -> None:
        self.pairs: frozenset[Pair] = frozenset(pairs)

    def route(self, source: str, target: str) -> list[Pair] | None:
        """The legs to run, in order; None when there is no route (or nothing to do)."""
        if source == target:
            return None
        if (source, target) in self.pairs:
            return [(source, target)]
        if PIVOT not in (source, target) and (source, PIVOT) in self.pairs \
                and (PIVOT, target) in self.pairs:
            return [(source, PIVOT), (PIVOT, target)]
        return None

    def targets(self) -> list[str]:
        """Every language some source can reach (pivot targets are direct en->X targets)."""
        return sorted({t for _, t in self.pairs})

    def sources(self) -> list[str]:
        return sorted({s for s, _ in self.pairs})

    def describe(self) -> list[str]:
        """Human lines for the start-up log: direct pairs, then pairs through English."""
        direct = [f"{s}->{t}" for s, t in sorted(self.pairs)]
        pivoted = [f"{s}->{t} (via {PIVOT})"
                   for s in self.sources() for t in self.targets()
                   if s != t and (s, t) not in self.pairs and self.route(s, t)]
        return direct + pivoted
