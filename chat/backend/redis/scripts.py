"""The Lua scripts of the redis backend, read from the package's lua/ directory at start.

Every step that must be atomic runs inside Redis as one script; each .lua file says what it
does, its KEYS and ARGV, and what it returns. Scripts publish from inside: Redis runs one script
at a time and delivers PUBLISH in execution order, so every subscriber sees messages in stream
order. Nothing in them reads the node's clock except where a caller passes it.

A script may start with shared functions (the libraries below), prepended when it is loaded.
On one Redis a script call goes through the node's pipelined connection (pipeline.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import redis.asyncio
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError
from redis.typing import EncodableT, KeyT

from chat.backend.redis.pipeline import PipelinedRedis

# script -> the libraries it needs, in order
SCRIPTS: dict[str, tuple[str, ...]] = {
    "append": ("stream_ids", "append_lib"),
    "send": ("stream_ids", "standing_lib", "take_send_lib", "append_lib"),
    "read": ("stream_ids",),
    "unread": ("stream_ids",),
    "add_translation": (),
    "relabel": ("own_entry_lib",),
    "edit": ("own_entry_lib",),
    "react": (),
    "message": (),
    "delete": ("stream_ids",),
    "add_member": ("presence_lib",),
    "remove_member": ("presence_lib",),
    "members": ("presence_lib",),
    "reap": ("presence_lib",),
    "reap_rooms": ("presence_lib",),
    "open_connection": ("presence_lib",),
    "beat": (),
    "get_mute": (),
    "standing": ("standing_lib",),
    "remember_role": (),
    "take_token": (),
    "slow_mode": (),
    "take_send": ("take_send_lib",),
    "add_report": (),
    "close_reports": (),
    "save_request": (),
    "update_meeting": (),
    "save_profile": (),
    "set_hidden": (),
    "expire_profiles": (),
    "directory": (),
}


def source(name: str) -> str:
    """A script's full Lua text: its libraries, then the script itself."""
    folder = resources.files(__package__).joinpath("lua")
    return "".join(folder.joinpath(f"{part}.lua").read_text(encoding="utf-8") for part in (*SCRIPTS[name], name))


def register_all(
    client: redis.asyncio.Redis | redis.asyncio.RedisCluster,
    sharded: bool = False,
    pipelined: PipelinedRedis | None = None,
) -> dict[str, LeanScript]:
    """Every script, registered on the client (EVALSHA, loaded into Redis on first use), and
    called through `pipelined` when given (the client's Redis, one connection for every call).

    `sharded` (Redis Cluster): the scripts publish with SPUBLISH, to the room's shard channel,
    which shares the slot of the room's keys, instead of PUBLISH, which every shard would relay."""

    def text(name: str) -> str:
        script = source(name)
        return script.replace("redis.call('PUBLISH',", "redis.call('SPUBLISH',") if sharded else script

    return {name: LeanScript(client, text(name), pipelined) for name in SCRIPTS}


@dataclass(frozen=True, slots=True)
class KeysPacked:
    """A script's keys, and with a pipelined connection the same keys packed once (RESP bulk strings,
    no array header), for a caller that names the same keys call after call (LeanScript.call_keyed)."""

    keys: tuple[str, ...]
    packed: bytes | None  # None: no pipelined connection; the keys go the plain way


def _bulk_strings(packed: bytes) -> bytes:
    """A packed command without its array header ("*N\\r\\n"): its arguments' bulk strings alone."""
    return packed[packed.index(b"\r\n") + 2 :]


class LeanScript(AsyncScript):
    """redis-py's script, called on the client it was registered on without the checks a pipeline
    needs: AsyncScript asks `isinstance(client, Pipeline)` and `ClusterPipeline` on every call, and
    those classes are typing Protocols' subclasses, whose isinstance runs Python code in
    typing._ProtocolMeta (two per message sent: issue 27). With a PipelinedRedis (the same Redis
    as the client's) the call goes through it, without the pool (issue 27). A script queued on a
    pipeline (`client=`) goes AsyncScript's way."""

    def __init__(
        self,
        registered_client: redis.asyncio.Redis | redis.asyncio.RedisCluster,
        script: str,
        pipelined: PipelinedRedis | None = None,
    ) -> None:
        super().__init__(registered_client, script)
        self._pipelined = pipelined
        self._sha_bytes = self.sha.encode()

    def pack_keys(self, keys: tuple[str, ...]) -> KeysPacked:
        """`keys` for `call_keyed`: packed once here (hiredis formats each argument with sprintf, ~1.9k
        instructions; a send names 12 keys: issue 27)."""
        return KeysPacked(keys, None if self._pipelined is None else _bulk_strings(self._pipelined.pack(keys)))

    async def call_keyed(self, keys: KeysPacked, more_keys: Sequence[str], args: Sequence[EncodableT]) -> Any:
        """The script with `keys` (packed once by `pack_keys`), then `more_keys`, and `args`: the same
        call as `self(keys=[*keys.keys, *more_keys], args=args)`."""
        if self._pipelined is None or keys.packed is None:
            return await self(keys=[*keys.keys, *more_keys], args=args)
        count = len(keys.keys) + len(more_keys)
        digits = b"%d" % count
        rest = _bulk_strings(self._pipelined.pack((*more_keys, *args))) if more_keys or args else b""
        sha = self._sha_bytes
        command = b"*%d\r\n$7\r\nEVALSHA\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n%s%s" % (
            3 + count + len(args),
            len(sha),
            sha,
            len(digits),
            digits,
            keys.packed,
            rest,
        )
        return await self._evalsha_pipelined(self._pipelined, command)

    async def _evalsha_pipelined(self, pipelined: PipelinedRedis, command: bytes) -> Any:
        """An EVALSHA of this script, packed, through the pipelined connection."""
        try:
            return await pipelined.execute_packed(command)
        except NoScriptError:  # not loaded yet (a new or restarted Redis): load it, try once more
            await pipelined.execute("SCRIPT", "LOAD", self.script)
            return await pipelined.execute_packed(command)

    async def __call__(
        self,
        keys: Sequence[KeyT] | None = None,
        args: Iterable[EncodableT] | None = None,
        client: Any = None,
    ) -> Any:
        if client is not None:
            return await super().__call__(keys, args, client)
        keys = keys or ()
        if self._pipelined is not None:
            command = self._pipelined.pack(("EVALSHA", self.sha, len(keys), *keys, *(args or ())))
            return await self._evalsha_pipelined(self._pipelined, command)
        try:
            return await self.registered_client.evalsha(self.sha, len(keys), *keys, *(args or ()))
        except NoScriptError:  # not loaded yet (a new or restarted Redis): AsyncScript loads it
            return await super().__call__(keys, args)
