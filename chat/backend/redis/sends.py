"""A plain message's send in one Redis script (SendStore.send, lua/send.lua): one round trip for
the sender's standing, the send limits, the room's census and the append (issue 27).

Only on one Redis: on Redis Cluster the room's keys, the user's limits and the event-wide
sanctions live in three slots, and the backend makes the calls in a row (chat/backend/sends.py `SendsInARow`).
"""

from __future__ import annotations

import functools

from chat.backend.ids import new_epoch
from chat.backend.redis.calls import RedisParts, write_call
from chat.backend.redis.history import appended
from chat.backend.redis.keys import EVENT_WIDE_ROOM, Keys
from chat.backend.redis.scripts import KeysPacked, LeanScript
from chat.backend.redis.state import standing_of
from chat.frames import encode
from rooms.stores import Outgoing, SendGate, SendWait, Sent, now_ms
from rooms.stores.events import NewMessage, encode_event

# Where send.lua puts the id and ts, and `translating`, in the encoding of a NewMessage built without them.
_ID_TS = b'"id":"","ts":0'
_TRANSLATING = b',"translating":["~"]'


@functools.lru_cache(maxsize=4096)
def send_keys(script: LeanScript, keys: Keys, room: str, sender: str) -> KeysPacked:
    """send.lua's keys 1-12 for a sender in a room, packed for `script`'s connection: the same for each
    of their messages, made once (25 key-building calls per message were ~2 % of what a message costs
    its node, and packing the 12 keys ~28k instructions: issue 27). Keys is frozen and the script one
    per backend, so a backend's prefix is part of the cache key; 4,096 pairs hold ~4 MB at most."""
    return script.pack_keys(
        (
            keys.room(room, "moderators"),
            keys.room(room, "bans"),
            keys.room(EVENT_WIDE_ROOM, "bans"),
            keys.room(room, "mutes"),
            keys.room(EVENT_WIDE_ROOM, "mutes"),
            keys.limit_bucket(sender),
            keys.limit_slow(room, sender),
            keys.room(room, "census"),
            *keys.history(room),
        )
    )


class RedisSends(RedisParts):
    @write_call
    async def _send_in_one(self, room: str, message: Outgoing, gate: SendGate | None) -> Sent:
        author = message.user
        sender = gate.user if gate else author.id  # whose standing and limits are checked
        script = self._scripts["send"]
        cid_key = (self._keys.idempotency(room, author.id, message.cid),) if message.cid else ()
        head, _, rest = encode_event(
            NewMessage(room=room, id="", ts=0, user=author, lang=message.lang, text=message.text, translating=["~"])
        ).partition(_ID_TS)
        middle, _, tail = rest.partition(_TRANSLATING)
        reply = await script.call_keyed(
            send_keys(script, self._keys, room, sender),
            cid_key,
            [
                "1" if gate else "0",
                sender,
                now_ms(),
                gate.rate if gate else 0,
                gate.burst if gate else 0,
                int(gate.slow_seconds * 1000) if gate else 0,
                f" {' '.join(message.candidates)} ",
                message.sender_lang,
                self._keys.channel(room),
                self._settings.history_max,
                new_epoch(),
                encode(author),
                message.lang,
                message.text,
                self._settings.idempotency_ttl,
                head,
                middle,
                tail,
            ],
        )
        kind = reply[0]
        if kind == "standing":
            return Sent(standing=standing_of(reply[1:]))
        if kind == "wait":
            wait = float(reply[1])
            return Sent(wait=SendWait(float("inf") if wait < 0 else wait, int(reply[2]) / 1000))
        translating = reply[1].split()  # the languages between spaces: a flat answer is cheaper for Redis
        return Sent(appended=appended(reply[2:], room, author, message.lang, message.text), translating=translating)
