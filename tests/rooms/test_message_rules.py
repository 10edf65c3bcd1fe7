"""What a member may do to a message (rooms/messages.py): who reacted, and quotes as the quoted message is now."""

from __future__ import annotations

import msgspec

from rooms.messages import QUOTES_READ, REACTORS_SHOWN, MessageRules
from tests.rooms.conftest import DEE, EVE, ROOM


def rules(core) -> MessageRules:
    stores = core.stores
    return MessageRules(core.access, stores.broker, stores.presence, stores.conversations, edit_window=900)


async def say(core, text: str, reply_to: str | None = None):
    quote = None if reply_to is None else await rules(core).quote(ROOM, reply_to)
    return (
        await core.stores.broker.append_message(
            ROOM, user={"id": DEE.id, "name": DEE.name}, text=text, lang="en", cid=None, reply_to=quote
        )
    ).message


async def test_reactors_are_capped_per_emoji_by_name(core):
    sent = await say(core, "Vote")
    for i in range(REACTORS_SHOWN + 5):
        await core.stores.broker.toggle_reaction(ROOM, sent.id, "👏", f"u_{i:03}")
    people = await rules(core).reactors(EVE, ROOM, sent.id)
    assert len(people["👏"]) == REACTORS_SHOWN  # the message's count (55) says how many in all
    assert [author.id for author in people["👏"]][:2] == ["u_000", "u_001"]  # no profile: shown by id, sorted


async def test_quotes_show_the_quoted_message_now_reading_at_most_quotes_read_beyond_the_page(core):
    originals = [await say(core, f"question {i}") for i in range(QUOTES_READ + 2)]
    replies = [await say(core, f"answer {i}", reply_to=original.id) for i, original in enumerate(originals)]
    for original in originals:
        await core.stores.broker.edit_message(ROOM, original.id, original.text + "?", "en", author=DEE.id)
    shown = await rules(core).current_quotes(ROOM, replies)  # no quoted message in the page
    quotes = [m.reply_to.text if m.reply_to else None for m in shown]
    assert quotes[2:] == [f"question {i}?" for i in range(2, QUOTES_READ + 2)]
    assert quotes[:2] == ["question 0", "question 1"]  # the oldest keep theirs
    await core.stores.broker.delete_message(ROOM, originals[-1].id)
    page = [msgspec.structs.replace(originals[-1], deleted=True, text=""), replies[-1]]
    gone = (await rules(core).current_quotes(ROOM, page))[-1].reply_to
    assert gone is not None and (gone.text, gone.deleted, gone.tr) == ("", True, {})
    assert await rules(core).current_quotes(ROOM, originals[:3]) == originals[:3]  # no reply: nothing read
