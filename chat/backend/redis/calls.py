"""How a backend call uses Redis: a bounded number at once, a retry for reads, and Redis
trouble turned into BackendUnavailable (the client hears `unavailable`)."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

import redis.asyncio
import redis.exceptions

from chat.backend.redis.keys import Keys
from chat.backend.redis.scripts import LeanScript
from chat.config import BackendSettings
from rooms.stores import BackendUnavailable

log = logging.getLogger("babelroom.backend.redis")

# What "Redis is not there" looks like to redis-py (BusyLoadingError, a ConnectionError, is
# Redis still loading its data after a restart; ReadOnlyError a replica during failover).
REDIS_DOWN: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,
    OSError,
)
# ... or has not answered in time (a subscription, a clean shutdown)
REDIS_DOWN_OR_SLOW: tuple[type[Exception], ...] = (*REDIS_DOWN, asyncio.TimeoutError)
# ... and whatever else a dying connection or a struggling Redis raises inside a call: uvloop's
# RuntimeError writing to a closed transport, a reply cut short (EOFError), Redis refusing work
# (OOM, MISCONF, BUSY: ResponseError). The client hears `unavailable`, never `internal`.
UNAVAILABLE: tuple[type[Exception], ...] = (*REDIS_DOWN_OR_SLOW, redis.exceptions.RedisError, RuntimeError, EOFError)
SLOT_MOVE_WAIT = 2.0  # seconds a call waits for a Redis Cluster slot that is moving between masters
POOL_SIZE = 64  # backend calls holding a Redis connection at once; more wait for a slot
BACKGROUND_CONNECTIONS = 8  # headroom for the heartbeat and the reconnect work, which take no slot


def slot_moving(exc: BaseException) -> bool:
    """A call Redis Cluster did not run because its slot is moving between masters (resharding):
    TRYAGAIN (a script's keys are on both sides, or not all there yet), or redis-py giving up
    after its redirections (ASK, MOVED, TRYAGAIN) ran out. Running it again is safe."""
    return isinstance(exc, redis.exceptions.TryAgainError) or (
        type(exc) is redis.exceptions.ClusterError and "TTL exhausted" in str(exc)
    )


P = ParamSpec("P")
T = TypeVar("T")


class UsesRedis(Protocol):
    _slots: asyncio.Semaphore


@dataclass(frozen=True)
class SharedRedis:
    """What the store objects of one redis backend share: the client, the key schema, the
    connection slots, the scripts and the settings."""

    redis: Any  # redis.asyncio.Redis, or RedisCluster on a cluster: the same calls
    keys: Keys
    slots: asyncio.Semaphore
    scripts: dict[str, LeanScript]
    settings: BackendSettings


class RedisParts:
    """A store object of the redis backend, on the backend's SharedRedis."""

    _redis: redis.asyncio.Redis
    _keys: Keys
    _slots: asyncio.Semaphore
    _scripts: dict[str, LeanScript]
    _settings: BackendSettings

    def __init__(self, shared: SharedRedis) -> None:
        self._redis, self._keys, self._slots = shared.redis, shared.keys, shared.slots
        self._scripts, self._settings = shared.scripts, shared.settings


S = TypeVar("S", bound=UsesRedis)
Method = Callable[Concatenate[S, P], Coroutine[Any, Any, T]]


def redis_call(*, retry: bool) -> Callable[[Method[S, P, T]], Method[S, P, T]]:
    """Wrap a backend call: it waits for a connection slot, and Redis connection trouble becomes
    BackendUnavailable, so sessions answer `unavailable`.

    The slots bound the connections a node opens (redis-py's plain pool would fail when full,
    and its blocking pool costs twice the CPU per command). With `retry`, a connection error is
    tried once more first: only for calls that can run twice harmlessly (reads); it spares
    clients an `unavailable` when the pool hands out a connection a restarted Redis closed.
    A call refused because its Redis Cluster slot is moving (`slot_moving`: it did not run) is
    tried again for up to SLOT_MOVE_WAIT from that first refusal, reads and writes alike: a
    reshard is a pause.
    """

    def decorate(method: Method[S, P, T]) -> Method[S, P, T]:
        @functools.wraps(method)
        async def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
            async with self._slots:
                moving_until: float | None = None  # the wait for a moving slot, from its first refusal
                while True:
                    try:
                        try:
                            return await method(self, *args, **kwargs)
                        except redis.exceptions.ConnectionError:
                            if not retry:
                                raise
                        return await method(self, *args, **kwargs)  # redis-py dropped the broken connection
                    except REDIS_DOWN as exc:
                        raise BackendUnavailable(f"Redis is unavailable: {exc}") from exc
                    except UNAVAILABLE as exc:
                        if slot_moving(exc):
                            # the clock only here: asyncio.get_running_loop() is a getpid() system
                            # call on Python 3.11, once for every backend call (issue 27)
                            now = asyncio.get_running_loop().time()
                            moving_until = now + SLOT_MOVE_WAIT if moving_until is None else moving_until
                            if now < moving_until:
                                await asyncio.sleep(0.05)
                                continue
                            raise BackendUnavailable(f"a Redis Cluster slot is still moving: {exc}") from exc
                        log.warning("Redis call %s failed: %s: %s", method.__name__, type(exc).__name__, exc)
                        raise BackendUnavailable(f"Redis could not serve this call: {exc}") from exc

        return wrapper

    return decorate


read_call = redis_call(retry=True)
write_call = redis_call(retry=False)
