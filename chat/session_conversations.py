"""The conversation frames of a session — request, accept, decline, read, report — and their answers.

Kept apart from session.py: the session decodes and dispatches, this turns each frame into a call
on the node's Conversations and its refusals into protocol errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from chat.frames import Ack, ServerFrame
from chat.protocol import Accept, Conversational, Decline, FrameError, Read, ReportMessage, RequestContact
from chat.tokens import Identity
from rooms import Refused, Room
from rooms.conversations import read_refusal

if TYPE_CHECKING:
    from chat.node import Node


class SessionForConversations(Protocol):
    """What these frames need of a session (chat.session.Session is one)."""

    node: Node
    identity: Identity | None

    async def visible_room(self, room_id: str) -> Room: ...

    @property
    def rooms(self) -> Mapping[str, object]: ...  # the rooms this connection is in

    def push_frame(self, frame: ServerFrame) -> None: ...


CODES = {"bad_request": "bad_frame"}  # the HTTP API's word for the same mistake


async def handle_conversation_frame(session: SessionForConversations, frame: Conversational) -> None:
    assert session.identity is not None
    try:
        await _handle(session, frame)
    except Refused as exc:
        raise FrameError(CODES.get(exc.code, exc.code), exc.message, retry_after=exc.retry_after) from None


async def _handle(session: SessionForConversations, frame: Conversational) -> None:
    node, identity = session.node, session.identity
    assert identity is not None
    conversations = node.conversations
    if isinstance(frame, RequestContact):
        request = await conversations.request(identity, frame.to, frame.text)
        session.push_frame(Ack(ref=frame.ref, id=request.id))
    elif isinstance(frame, Accept):
        summary = await conversations.accept(identity, frame.request)
        session.push_frame(Ack(ref=frame.ref, room=summary["id"]))
    elif isinstance(frame, Decline):
        await conversations.decline(identity, frame.request)
        session.push_frame(Ack(ref=frame.ref))
    elif isinstance(frame, Read):
        room = await session.visible_room(frame.room)
        refusal = read_refusal(room, joined=room.id in session.rooms)
        if refusal:
            raise Refused(*refusal)
        await conversations.mark_read(room, identity.id, frame.id)
        session.push_frame(Ack(ref=frame.ref))
    elif isinstance(frame, ReportMessage):
        room = await session.visible_room(frame.room)
        report = await node.reports.file(identity, room, frame.id, frame.reason)
        session.push_frame(Ack(ref=frame.ref, id=report["id"]))
