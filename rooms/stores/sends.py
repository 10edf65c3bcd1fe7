"""The send store: a plain message's checks, census and append in one step (issue 27).

A message is most often sent by someone no moderation touches: not appointed, banned or muted
(a *clear* standing). For them the core decides everything but the store's own state before it
asks (room state, the role a clear standing gives), and the store does the rest as one step:
read the standing, spend the send limits, read the room's language census, store and publish
the message with the `translating` the census gives. On one Redis that is one script, one round
trip; elsewhere the same calls in a row (chat/backend/base.py).

Guarantees (tests/backend/test_sends.py):
- A standing that is not clear stops the step before anything is spent or stored: the answer
  carries it, and the core applies the rules the long way (rooms/messages.py `MessageRules.send`).
- Limits as `LimitStore.take_send` (one allowance cluster-wide, both or neither, nothing spent
  when refused); a refusal stores nothing.
- The append as `Broker.append_message` (atomic, idempotent on user + cid, the ack after the
  store); `translating` is `translation_targets` of the census read in the same step.
- Without a gate (the long way, checks already made) the step is the census and the append.
"""

from __future__ import annotations

import abc
from collections.abc import Collection
from dataclasses import dataclass, field

from rooms.stores.broker import Appended
from rooms.stores.limits import SendWait
from rooms.stores.messages import Author
from rooms.stores.moderation_store import Standing


def translation_targets(census: dict[str, int], candidates: Collection[str], sender_lang: str) -> list[str]:
    """The reading languages a message is translated into: those of the room's census (users per
    reading language) it has a route into (`candidates`, never its own language), except one only
    the sender reads (nobody gets their own message translated back). lua/send.lua does the same."""
    return sorted(
        lang
        for lang, count in census.items()
        if count > 0 and lang in candidates and not (lang == sender_lang and count <= 1)
    )


def clear(standing: Standing) -> bool:
    """No appointment, ban or mute in the room or event-wide: the rules see the token role only."""
    return not (standing.appointed or standing.banned or standing.banned_event or standing.mute or standing.mute_event)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A plain message to store (no reply, no mentions), and what its `translating` is made from."""

    user: Author
    text: str
    lang: str  # its detected language
    cid: str | None
    candidates: frozenset[str]  # reading languages with a route from `lang`
    sender_lang: str  # the sender's reading language


@dataclass(frozen=True, slots=True)
class SendGate:
    """The checks the store makes in the same step: the sender's standing must be clear, and the
    send limits (LimitStore.take_send) must allow it."""

    user: str
    rate: float
    burst: int
    slow_seconds: int  # the room's slow mode as it binds this sender (0: none)


@dataclass(frozen=True, slots=True)
class Sent:
    """What `send` did: exactly one of `standing` (not clear: nothing done), `wait` (limits
    refused: nothing spent or stored) and `appended` is set. `members` is the rules' (stores leave
    it None): a private room's members as `MessageRules.send` read them to let the sender in, so
    the members' unread counts that follow a send do not read them again (issue 27)."""

    appended: Appended | None = None
    translating: list[str] = field(default_factory=list)
    standing: Standing | None = None
    wait: SendWait | None = None
    members: frozenset[str] | None = None


class SendStore(abc.ABC):
    @abc.abstractmethod
    async def send(self, room: str, message: Outgoing, gate: SendGate | None) -> Sent:
        """Check (with a gate), read the census and append `message` in one step (see above)."""
