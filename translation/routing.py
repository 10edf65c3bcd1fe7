"""Which direct pairs carry a message from one language to another: routes over a graph.

The direct pairs of every running engine are the edges of one graph (a pair two
engines serve is the edge of the engine preferred for it). A route is the shortest
chain of at most two edges, and among chains of the same length the best-scored:

- a direct pair always wins (one model pass loses less than two);
- otherwise every middle language M with source->M and M->target is a candidate,
  across engines (fr->es on Apertium then es->en on Apertium, or zh->en on a
  CTranslate2 model then en->es on Apertium); the score of a chain is the product
  of its legs' scores (each 0-1, the quality of the engine serving that pair, see
  `translation.engines.ENGINE_QUALITY`), the best wins; on a tie English is
  preferred as the middle (the best-covered language of every engine), then the
  alphabetically first code, so a route never changes from one start to the next.

No route means the reader keeps the original.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

#: Preferred middle language when two two-hop routes score the same.
PIVOT = "en"
#: A route has at most this many legs (each leg loses some meaning; three would lose too much).
MAX_HOPS = 2

Pair = tuple[str, str]


class Routes:
    """Routes over a fixed set of direct pairs, each with a score in (0, 1]."""

    def __init__(self, pairs: Mapping[Pair, float] | Iterable[Pair]) -> None:
        scored = dict(pairs) if isinstance(pairs, Mapping) else dict.fromkeys(pairs, 1.0)
        self.scores: dict[Pair, float] = scored
        self.pairs: frozenset[Pair] = frozenset(scored)
        self._from: dict[str, set[str]] = {}
        for source, target in self.pairs:
            self._from.setdefault(source, set()).add(target)
        self._cache: dict[Pair, list[Pair] | None] = {}

    def route(self, source: str, target: str) -> list[Pair] | None:
        """The legs to run, in order; None when there is no route (or nothing to do)."""
        if source == target:
            return None
        key = (source, target)
        if key not in self._cache:
            self._cache[key] = self._find(source, target)
        found = self._cache[key]
        return list(found) if found is not None else None

    def _find(self, source: str, target: str) -> list[Pair] | None:
        if (source, target) in self.pairs:
            return [(source, target)]
        best: tuple[float, bool] | None = None
        chosen: str | None = None
        for middle in sorted(self._from.get(source, ())):  # alphabetical: the first wins a full tie
            if middle == target or (middle, target) not in self.pairs:
                continue
            rank = (self.scores[(source, middle)] * self.scores[(middle, target)], middle == PIVOT)
            if best is None or rank > best:
                best, chosen = rank, middle
        if chosen is None:
            return None
        return [(source, chosen), (chosen, target)]

    def score(self, source: str, target: str) -> float:
        """The route's score (product of its legs'), 0 without a route."""
        legs = self.route(source, target)
        if not legs:
            return 0.0
        result = 1.0
        for leg in legs:
            result *= self.scores[leg]
        return result

    def codes(self) -> list[str]:
        """Every language some pair starts or ends at."""
        return sorted({code for pair in self.pairs for code in pair})

    def targets(self) -> list[str]:
        """Every language some source can reach (two-hop targets are targets of a direct pair)."""
        return sorted({t for _, t in self.pairs})

    def sources(self) -> list[str]:
        return sorted({s for s, _ in self.pairs})

    def describe(self) -> list[str]:
        """Human lines for the start-up log: direct pairs, then two-hop routes ("fr->en (via es)")."""
        direct = [f"{s}->{t}" for s, t in sorted(self.pairs)]
        chained = []
        for s in self.sources():
            for t in self.targets():
                legs = self.route(s, t) if (s, t) not in self.pairs else None
                if legs and len(legs) == 2:
                    chained.append(f"{s}->{t} (via {legs[0][1]})")
        return direct + chained


class ReachableByRoute:
    """`reachable` derived from `has_route`, in this one place: whoever overrides `has_route` (a
    test's phrasebook translator) changes both, so the send path (which asks `reachable`) and the
    relay and the organiser (which ask `has_route`) never disagree. Worked out once per source
    until `routes_changed()`."""

    _reachable: dict[str, frozenset[str]]

    def has_route(self, source: str, target: str) -> bool:
        raise NotImplementedError

    def route_targets(self) -> Iterable[str]:
        """Every language a route may end at: `has_route` is asked of each."""
        raise NotImplementedError

    def reachable(self, source: str) -> frozenset[str]:
        """Every language `has_route(source, ...)` is True for."""
        found = self._reachable.get(source)
        if found is None:
            found = self._reachable[source] = frozenset(
                target for target in self.route_targets() if self.has_route(source, target)
            )
        return found

    def routes_changed(self) -> None:
        """The routes are new: `reachable` asks `has_route` again."""
        self._reachable = {}
