"""PairBatcher and Routes without models: a fake run_batch records each call."""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from translation.batcher import PairBatcher
from translation.cache import LRUCache, cache_key
from translation.routing import Routes


class Recorder:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, texts: list[str]) -> list[str]:
        self.gate.wait(5)
        self.calls.append(list(texts))
        return [t.upper() for t in texts]


@pytest.fixture
def executor():
    pool = ThreadPoolExecutor(1)
    yield pool
    pool.shutdown(wait=False, cancel_futures=True)


async def test_concurrent_calls_share_one_batch(executor) -> None:
    run = Recorder()
    batcher = PairBatcher("de-en", run, executor, batch_max=32, wait_s=0.005)
    results = await asyncio.gather(*(batcher.translate([f"s{i}"]) for i in range(20)))
    assert results == [[f"S{i}"] for i in range(20)]
    assert len(run.calls) == 1 and len(run.calls[0]) == 20
    await batcher.close()


async def test_batch_max_splits_batches(executor) -> None:
    run = Recorder()
    batcher = PairBatcher("de-en", run, executor, batch_max=4, wait_s=0.005)
    await asyncio.gather(*(batcher.translate([f"s{i}"]) for i in range(10)))
    assert [len(c) for c in run.calls] == [4, 4, 2]
    await batcher.close()


async def test_queue_depth_counts_waiting_and_running(executor) -> None:
    run = Recorder()
    run.gate.clear()  # hold the model call until we have looked
    seen: list[int] = []
    batcher = PairBatcher("de-en", run, executor, batch_max=2, wait_s=0.0, on_batch=lambda n: seen.append(n))
    job = asyncio.gather(*(batcher.translate([f"s{i}"]) for i in range(5)))
    while not batcher.depth:
        await asyncio.sleep(0)
    assert batcher.depth == 5
    run.gate.set()
    await job
    assert batcher.depth == 0
    assert sum(seen) == 5 and len(seen) == len(run.calls)
    await batcher.close()


async def test_errors_reach_every_caller(executor) -> None:
    def boom(texts):
        raise RuntimeError("model broke")

    batcher = PairBatcher("de-en", boom, executor, batch_max=8, wait_s=0.0)
    results = await asyncio.gather(batcher.translate(["a"]), batcher.translate(["b"]), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    await batcher.close()


async def test_cancelled_callers_are_skipped(executor) -> None:
    run = Recorder()
    run.gate.clear()
    batcher = PairBatcher("de-en", run, executor, batch_max=1, wait_s=0.0)
    first = asyncio.ensure_future(batcher.translate(["first"]))
    second = asyncio.ensure_future(batcher.translate(["second"]))
    while not run.calls and batcher.depth < 2:
        await asyncio.sleep(0)
    second.cancel()
    run.gate.set()
    assert await first == ["FIRST"]
    assert ["second"] not in run.calls
    await batcher.close()


def test_routes_direct_pivot_and_none() -> None:
    routes = Routes([("de", "en"), ("en", "es"), ("en", "de")])
    assert routes.route("de", "en") == [("de", "en")]
    assert routes.route("de", "es") == [("de", "en"), ("en", "es")]
    assert routes.route("es", "de") is None  # no es->en package
    assert routes.route("de", "de") is None
    assert routes.targets() == ["de", "en", "es"]
    assert "de->es (via en)" in routes.describe()


def test_routes_are_the_shortest_best_scored_chain_of_two_hops() -> None:
    routes = Routes(
        {
            ("fr", "es"): 0.8,
            ("es", "en"): 0.8,
            ("en", "es"): 0.8,
            ("es", "fr"): 0.8,
            ("fr", "de"): 0.9,
            ("de", "en"): 0.9,
            ("fr", "en"): 0.5,
            ("zh", "en"): 0.86,
            ("en", "pt"): 0.8,
            ("pt", "it"): 0.8,
        }
    )
    assert routes.route("fr", "en") == [("fr", "en")]  # direct wins, however scored
    assert routes.route("zh", "es") == [("zh", "en"), ("en", "es")]  # across engines' pairs
    assert routes.route("en", "fr") == [("en", "es"), ("es", "fr")]  # not through English
    assert routes.route("fr", "de") == [("fr", "de")]
    assert routes.route("es", "de") == [("es", "fr"), ("fr", "de")]  # no en->de: French is the middle
    assert routes.route("en", "it") == [("en", "pt"), ("pt", "it")]
    assert routes.route("zh", "fr") is None  # zh->en->es->fr: three hops, refused
    assert routes.score("zh", "es") == 0.86 * 0.8
    # Two chains of equal length: the better product wins...
    better = Routes({("a", "m"): 0.9, ("m", "b"): 0.9, ("a", "en"): 0.8, ("en", "b"): 0.8})
    assert better.route("a", "b") == [("a", "m"), ("m", "b")]
    # ...and on a tie English is the middle.
    tie = Routes({("a", "m"): 0.8, ("m", "b"): 0.8, ("a", "en"): 0.8, ("en", "b"): 0.8})
    assert tie.route("a", "b") == [("a", "en"), ("en", "b")]


def test_lru_cache_forgets_least_recently_used() -> None:
    cache = LRUCache(2)
    cache.put("a", "1")
    cache.put("b", "2")
    assert cache.get("a") == "1"
    cache.put("c", "3")
    assert cache.get("b") is None and cache.get("a") == "1" and len(cache) == 2
    assert cache_key("de", "en", "x", "t") != cache_key("de", "en", "y", "t")
    assert cache_key("de", "en", "x", "t") != cache_key("de", "en", "x", "t2")


def test_length_groups_keep_similar_lengths_together() -> None:
    from translation.engine import length_groups

    assert length_groups([10, 11, 12]) == [[0, 1, 2]]  # small batches stay whole
    caps = [10] * 8 + [60] * 8
    groups = length_groups(caps)
    assert sorted(map(sorted, groups)) == [list(range(8)), list(range(8, 16))]
    assert sorted(i for g in length_groups([5, 50, 7, 9] * 5) for i in g) == list(range(20))


def batcher_tasks() -> list[asyncio.Task[object]]:
    return [task for task in asyncio.all_tasks() if task.get_name().startswith("batcher ")]


async def test_an_idle_batcher_holds_no_task_and_works_again_after(executor) -> None:
    """A batcher dropped with its engine, never closed, must leave no pending task for the garbage
    collector (asyncio logs "Task was destroyed but it is pending!" wherever that happens)."""
    run = Recorder()
    batcher = PairBatcher("en-de", run, executor, batch_max=4, wait_s=0.001)
    assert await batcher.translate(["one", "two"]) == ["ONE", "TWO"]
    for _ in range(100):  # the worker sees nothing pending and ends within a few turns of the loop
        if not batcher_tasks():
            break
        await asyncio.sleep(0.01)
    assert batcher_tasks() == []
    results = await asyncio.gather(*(batcher.translate([f"s{i}"]) for i in range(10)))  # a new burst
    assert results == [[f"S{i}"] for i in range(10)]
    assert sorted(len(call) for call in run.calls) == [2, 2, 4, 4]
    await batcher.close()
