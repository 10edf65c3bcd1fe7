"""`babelroom languages eval PAIR FILE.tsv`: how well, and how fast, this machine translates a pair.

The file is a parallel set, one sentence pair a line, tab-separated. A first line naming the
languages (`en<TAB>es`) says which column is which, so one file scores both directions;
without it the columns are taken as (source, reference) in PAIR's order. Every source line goes
through the same TranslationService a server runs (the configured engines, routes of two hops,
sentence splitting, glossary), in one batched call, on a cold cache (after one warm-up
sentence: starting a pipeline is not the pair's speed); the score is chrF
(sacrebleu's corpus_chrf, character n-grams: fair to languages without spaces, such as Chinese)
and the speed sentences per second of wall time.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path

from translation.packages import PackageError, parse_pair
from translation.service import TranslationService
from translation.settings import TranslationSettings


@dataclass(frozen=True)
class Evaluation:
    pair: tuple[str, str]
    engines: list[str]  # the engines of the route, in order
    sentences: int
    chrf: float  # 0-100
    seconds: float
    mean_confidence: float

    @property
    def per_second(self) -> float:
        return self.sentences / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> str:
        source, target = self.pair
        route = " -> ".join(self.engines)
        return (
            f"{source}-{target} ({route}): {self.sentences} sentences, chrF {self.chrf:.1f}, "
            f"{self.per_second:.1f} sentences/s, mean confidence {self.mean_confidence:.2f}"
        )


def read_parallel(path: str | os.PathLike[str], pair: tuple[str, str]) -> tuple[list[str], list[str]]:
    """(sources, references) from a TSV parallel file; PackageError with a reason otherwise."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise PackageError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise PackageError(f"{path}: not UTF-8 text") from None
    rows = [line.split("\t") for line in lines if line.strip() and not line.startswith("#")]
    if not rows:
        raise PackageError(f"{path}: no sentence pairs (one per line: source<TAB>reference)")
    source_col, reference_col = 0, 1
    header = [cell.strip().lower() for cell in rows[0]]
    if all(cell.isalpha() and 2 <= len(cell) <= 3 for cell in header):
        if pair[0] not in header or pair[1] not in header:
            raise PackageError(f"{path}: its columns are {', '.join(header)}, not {pair[0]} and {pair[1]}")
        source_col, reference_col = header.index(pair[0]), header.index(pair[1])
        rows = rows[1:]
    bad = [i for i, row in enumerate(rows, 1) if len(row) <= max(source_col, reference_col)]
    if bad:
        raise PackageError(f"{path}: line {bad[0]} has no tab between source and reference")
    return [row[source_col].strip() for row in rows], [row[reference_col].strip() for row in rows]


async def evaluate(
    settings: TranslationSettings, pair: tuple[str, str], sources: list[str], references: list[str]
) -> Evaluation:
    """Translate sources with the configured engines and score them against references."""
    import sacrebleu

    service = TranslationService(settings)
    await service.start()
    try:
        if not service.has_route(*pair):
            served = ", ".join(service.pairs()) or "none"
            raise PackageError(
                f"no route for {pair[0]}-{pair[1]} with the engines installed "
                f"(served: {served}); see `babelroom languages plan`"
            )
        engines = service.engine_of(*pair)
        await service.translate("Warm-up.", *pair)  # starts pipelines, allocates: not the pair's speed
        started = time.perf_counter()
        made = await service.translate_many_scored(sources, *pair)
        seconds = time.perf_counter() - started
    finally:
        await service.close()
    hypotheses = [m.text if m is not None else "" for m in made]
    confidences = [m.confidence for m in made if m is not None]
    score = sacrebleu.corpus_chrf(hypotheses, [references]).score
    return Evaluation(
        pair, engines, len(sources), float(score), seconds, sum(confidences) / len(confidences) if confidences else 0.0
    )


def run_eval(settings: TranslationSettings, pair_text: str, path: str) -> Evaluation:
    """The `languages eval` command: parse, read, evaluate (blocking)."""
    pair = parse_pair(pair_text)
    if pair is None:
        raise PackageError(f"{pair_text!r}: expected a pair such as en-es")
    sources, references = read_parallel(path, pair)
    try:
        import sacrebleu  # noqa: F401 - a dependency; checked before any model loads
    except ModuleNotFoundError:
        raise PackageError("sacrebleu is not installed; pip install sacrebleu") from None
    return asyncio.run(evaluate(settings, pair, sources, references))
