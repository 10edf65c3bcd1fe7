"""The moderation actions and who may take them on whom (rooms/moderation.py)."""

from __future__ import annotations

import pytest

from rooms import Refused
from rooms.moderation import Action
from rooms.stores.events import Moderated
from tests.rooms.conftest import DEE, ELSEWHERE_MOD, EVE, HOST, MOD, ROOM


async def refused(coroutine) -> Refused:
    with pytest.raises(Refused) as caught:
        await coroutine
    return caught.value


async def test_a_moderator_mutes_a_delegate_and_it_is_published_and_logged(core):
    events = core.events
    await core.stores.broker.subscribe(ROOM)
    await core.sign_in(DEE)
    await core.moderation.apply(MOD, Action("mute", ROOM, user=DEE.id, seconds=60, reason="calm down"))
    mute = await core.stores.moderation.get_mute(ROOM, DEE.id)
    assert mute is not None and mute.until is not None
    assert events == [
        Moderated(
            room=ROOM,
            action="mute",
            user=DEE.id,
            by={"id": MOD.id, "name": MOD.name},
            until=mute.until,
            reason="calm down",
        )
    ]
    [entry] = await core.stores.moderation.moderation_log(ROOM)
    assert entry["action"] == "mute" and entry["user"] == DEE.id


async def test_a_moderator_cannot_act_on_a_host_who_is_present(core):
    await core.access.join(HOST, ROOM)
    await core.stores.presence.add_member(ROOM, HOST.member("h1"))
    assert (await refused(core.moderation.apply(MOD, Action("mute", ROOM, user=HOST.id)))).code == "forbidden"


@pytest.mark.parametrize("kind", ["mute", "ban", "kick"])
async def test_a_moderator_cannot_act_on_a_host_who_left_the_room(core, kind):
    await core.access.join(HOST, ROOM)  # the host was here, and is not any more (no presence record)
    assert await core.stores.presence.members(ROOM) == []
    error = await refused(core.moderation.apply(MOD, Action(kind, ROOM, user=HOST.id)))
    assert error.code == "forbidden" and "moderator cannot" in error.message
    store = core.stores.moderation
    assert await store.get_mute(ROOM, HOST.id) is None and not await store.is_banned(ROOM, HOST.id)


async def test_a_moderator_cannot_act_on_another_moderator_who_left(core):
    other = type(MOD)("u_mod2", "Mia", MOD.role)
    await core.access.join(other, ROOM)
    assert (await refused(core.moderation.apply(MOD, Action("ban", ROOM, user=other.id)))).code == "forbidden"
    await core.moderation.apply(HOST, Action("ban", ROOM, user=other.id))  # a host may


async def test_refusals(core):
    await core.sign_in(EVE)
    assert (await refused(core.moderation.apply(DEE, Action("mute", ROOM, user=EVE.id)))).code == "forbidden"
    assert (await refused(core.moderation.apply(MOD, Action("mute", ROOM, user=MOD.id)))).code == "forbidden"
    assert (await refused(core.moderation.apply(MOD, Action("mute", "nowhere", user=EVE.id)))).code == "not_found"
    assert (await refused(core.moderation.apply(MOD, Action("unmute", ROOM, user=EVE.id)))).code == "not_found"
    await core.moderation.apply(MOD, Action("ban", ROOM, user=EVE.id))
    assert (await refused(core.moderation.apply(MOD, Action("ban", ROOM, user=EVE.id)))).code == "not_found"
    await core.moderation.apply(MOD, Action("unban", ROOM, user=EVE.id))
    assert not await core.stores.moderation.is_banned(ROOM, EVE.id)


async def test_the_moderation_log_is_for_the_rooms_hosts_and_moderators(core):
    await core.sign_in(EVE)
    await core.moderation.apply(MOD, Action("mute", ROOM, user=EVE.id))
    room = await core.access.visible_room(ROOM)
    for reader in (HOST, MOD):
        assert [entry["action"] for entry in await core.moderation.log(reader, room)] == ["mute"]
    for stranger in (DEE, ELSEWHERE_MOD):  # a moderator of other rooms reads no log here
        assert (await refused(core.moderation.log(stranger, room))).code == "forbidden"


async def test_delete_blanks_the_message_and_says_so(core):
    message = (
        await core.stores.broker.append_message(
            ROOM, user={"id": DEE.id, "name": DEE.name}, text="oops", lang="en", cid=None
        )
    ).message
    await core.moderation.apply(MOD, Action("delete", ROOM, message_id=message.id))
    [kept] = await core.stores.broker.history(ROOM, before=None, limit=10)
    assert kept.deleted is True and kept.text == ""
    error = await refused(core.moderation.apply(MOD, Action("delete", ROOM, message_id=message.id)))
    assert error.code == "not_found"
