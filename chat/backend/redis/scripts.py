"""The Lua scripts of the redis backend, read from the package's lua/ directory at start.

Every step that must be atomic runs inside Redis as one script; each .lua file says what it
does, its KEYS and ARGV, and what it returns. Scripts publish from inside: Redis runs one script
at a time and delivers PUBLISH in execution order, so every subscriber sees messages in stream
order. Nothing in them reads the node's clock except where a caller passes it.

A script may start with shared functions (the libraries below), prepended when it is loaded.
"""

from __future__ import annotations

from importlib import resources

import redis.asyncio
from redis.commands.core import AsyncScript

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
    client: redis.asyncio.Redis | redis.asyncio.RedisCluster, sharded: bool = False
) -> dict[str, AsyncScript]:
    """Every script, registered on the client (EVALSHA, loaded into Redis on first use).

    `sharded` (Redis Cluster): the scripts publish with SPUBLISH, to the room's shard channel,
    which shares the slot of the room's keys, instead of PUBLISH, which every shard would relay."""

    def text(name: str) -> str:
        script = source(name)
        return script.replace("redis.call('PUBLISH',", "redis.call('SPUBLISH',") if sharded else script

    return {name: client.register_script(text(name)) for name in SCRIPTS}
