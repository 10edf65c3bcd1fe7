"""The standing rule (a moderator never acts on a host or moderator, present or not, seen anywhere),
event-wide sanctions (rooms/sanctions.py) and who may delete which message (rooms/moderation.py)."""

from __future__ import annotations

import pytest

from rooms import Refused, Role, Room, RoomKind
from rooms.conversations import EVENT_WIDE, Profile
from rooms.moderation import Action
from rooms.stores.events import Deleted
from tests.rooms.conftest import DEE, EVE, HOST, MOD, ROOM, User

RITA = User("u_rita", "Rita", Role.MODERATOR, rooms=(ROOM,))  # a moderator of ROOM only
MIA = User("u_mia", "Mia", Role.MODERATOR)  # another moderator of the whole event


async def refused(coroutine) -> Refused:
    with pytest.raises(Refused) as caught:
        await coroutine
    return caught.value


@pytest.fixture
def published(core) -> list[object]:
    """What the actions publish in rooms and node-wide from now on (the hubs' input in production)."""
    core.events.clear()
    return core.events


async def nothing_stored(core, room: str, user: str) -> bool:
    store = core.stores.moderation
    return (
        await store.get_mute(room, user) is None
        and not await store.is_banned(room, user)
        and await store.moderation_log(room) == []
    )


# the standing rule ---------------------------------------------------------------------------------
async def test_the_token_role_is_remembered_event_wide_and_the_highest_kept(core):
    assert await core.roles.target_role(EVENT_WIDE, MIA.id) is None
    await core.sign_in(MIA)
    await core.sign_in(User(MIA.id, MIA.name))  # later with a delegate token: still known as a moderator
    assert await core.roles.target_role(EVENT_WIDE, MIA.id) is Role.MODERATOR
    assert await core.roles.target_role(ROOM, MIA.id) is Role.MODERATOR  # in a room they never joined, too
    await core.sign_in(RITA)
    assert await core.roles.target_role("other", RITA.id) is Role.MODERATOR  # outside the token's rooms, too


async def test_a_scoped_moderator_cannot_ban_a_global_moderator_who_never_joined_the_room(core, published):
    await core.stores.broker.subscribe(ROOM)
    await core.sign_in(MOD)
    for kind in ("ban", "mute", "kick"):
        error = await refused(core.moderation.apply(RITA, Action(kind, ROOM, user=MOD.id)))
        assert error.code == "forbidden" and "moderator" in error.message
    assert published == [] and await nothing_stored(core, ROOM, MOD.id)


async def test_a_global_moderator_cannot_ban_event_wide_a_moderator_not_seen_yet_nor_one_seen(core, published):
    error = await refused(core.moderation.apply(MOD, Action("ban", EVENT_WIDE, user=MIA.id)))
    assert error.code == "not_found"  # never authenticated: nobody to act on
    await core.sign_in(MIA)
    error = await refused(core.moderation.apply(MOD, Action("ban", EVENT_WIDE, user=MIA.id)))
    assert error.code == "forbidden"
    assert published == [] and await nothing_stored(core, EVENT_WIDE, MIA.id)
    await core.moderation.apply(HOST, Action("ban", EVENT_WIDE, user=MIA.id))  # a host may
    assert await core.stores.moderation.is_banned(EVENT_WIDE, MIA.id)


@pytest.mark.parametrize("kind", ["mute", "kick", "ban", "unmute", "unban"])
async def test_a_moderator_acts_on_no_host_outside_the_room_and_nothing_is_announced(core, published, kind):
    await core.stores.broker.subscribe(ROOM)
    await core.sign_in(HOST)  # connected somewhere, never in ROOM
    error = await refused(core.moderation.apply(MOD, Action(kind, ROOM, user=HOST.id)))
    assert error.code == "forbidden"
    assert published == [] and await nothing_stored(core, ROOM, HOST.id)


@pytest.mark.parametrize("room", [ROOM, EVENT_WIDE])
@pytest.mark.parametrize("kind", ["mute", "ban"])
async def test_acting_on_a_user_the_event_never_saw_is_not_found_and_silent(core, published, room, kind):
    await core.stores.broker.subscribe(ROOM)
    error = await refused(core.moderation.apply(HOST, Action(kind, room, user="u_nobody")))
    assert error.code == "not_found" and "never seen" in error.message
    assert published == [] and await nothing_stored(core, room, "u_nobody")


async def test_a_kick_of_someone_not_in_the_room_is_not_found_and_silent(core, published):
    await core.stores.broker.subscribe(ROOM)
    await core.sign_in(DEE)
    assert (await refused(core.moderation.apply(MOD, Action("kick", ROOM, user=DEE.id)))).code == "not_found"
    assert published == []
    await core.stores.presence.add_member(ROOM, DEE.member("d1"))
    await core.moderation.apply(MOD, Action("kick", ROOM, user=DEE.id))
    assert [event.action for event in published if hasattr(event, "action")] == ["kick"]


async def test_a_host_acts_on_a_moderator_a_moderator_on_a_delegate(core):
    await core.sign_in(MIA, DEE)
    await core.moderation.apply(HOST, Action("mute", ROOM, user=MIA.id))
    await core.moderation.apply(RITA, Action("mute", ROOM, user=DEE.id))
    store = core.stores.moderation
    assert await store.get_mute(ROOM, MIA.id) is not None and await store.get_mute(ROOM, DEE.id)


# event-wide sanctions --------------------------------------------------------------------------------
async def test_an_event_wide_mute_refuses_room_sends_and_reaching_people_but_not_connecting(core):
    await core.sign_in(DEE)
    await core.moderation.apply(MOD, Action("mute", EVENT_WIDE, user=DEE.id))
    await core.sanctions.check_connect(DEE)
    error = await refused(core.sanctions.check_reach(DEE))
    assert error.code == "muted" and "at this event" in error.message
    assert (await refused(core.access.check_send(DEE, ROOM))).code == "muted"
    mute = await core.access.binding_mute(DEE, ROOM, Role.DELEGATE)  # what `joined.you` shows in every room
    assert mute is not None and mute.until is None
    await core.sanctions.check_reach(EVE)  # others are not bound


async def test_an_event_wide_ban_refuses_connecting_joining_sending_and_reaching_people(core):
    await core.sign_in(DEE)
    await core.moderation.apply(MOD, Action("ban", EVENT_WIDE, user=DEE.id))
    for check in (
        core.sanctions.check_connect(DEE),
        core.sanctions.check_reach(DEE),
        core.access.join(DEE, ROOM),
        core.access.check_send(DEE, ROOM),
    ):
        error = await refused(check)
        assert error.code == "banned"
    await core.moderation.apply(MOD, Action("unban", EVENT_WIDE, user=DEE.id))
    await core.sanctions.check_connect(DEE)
    await core.sanctions.check_reach(DEE)


async def test_an_event_wide_ban_or_mute_on_record_against_a_host_binds_nothing(core):
    await core.stores.moderation.set_ban(EVENT_WIDE, HOST.id, True)
    await core.stores.moderation.set_mute(EVENT_WIDE, HOST.id, None)
    await core.sanctions.check_connect(HOST)
    await core.sanctions.check_reach(HOST)
    assert await core.access.check_send(HOST, ROOM) is Role.HOST


async def test_an_event_wide_mute_binds_in_a_private_conversation(core):
    await core.stores.rooms.save_room(Room("c-1", "Dee, Eve", kind=RoomKind.PRIVATE))
    await core.stores.conversations.add_conversation_members("c-1", [DEE.id, EVE.id])
    await core.access.check_send(DEE, "c-1")
    await core.sign_in(DEE)
    await core.moderation.apply(HOST, Action("mute", EVENT_WIDE, user=DEE.id))
    assert (await refused(core.access.check_send(DEE, "c-1"))).code == "muted"


# delete --------------------------------------------------------------------------------------------
async def say(core, user: User, text: str, room: str = ROOM) -> str:
    appended = await core.stores.broker.append_message(
        room, user={"id": user.id, "name": user.name}, text=text, lang="en", cid=None
    )
    return appended.message.id


async def test_a_delegate_deletes_their_own_message_and_no_one_elses(core, published):
    await core.stores.broker.subscribe(ROOM)
    own, other = await say(core, DEE, "typo"), await say(core, EVE, "hello")
    await core.moderation.apply(DEE, Action("delete", ROOM, message_id=own))
    assert published[-1] == Deleted(room=ROOM, id=own, by={"id": DEE.id, "name": DEE.name})
    published.clear()
    for message_id in (other, own, f"{own.partition('.')[0]}.999"):  # another's, deleted already, none
        error = await refused(core.moderation.apply(DEE, Action("delete", ROOM, message_id=message_id)))
        assert error.code == "forbidden" and "your own" in error.message
    assert published == []
    [_, kept] = await core.stores.broker.history(ROOM, before=None, limit=10)
    assert kept.text == "hello"


async def test_a_moderator_deletes_no_hosts_or_moderators_message_a_host_deletes_any(core):
    await core.sign_in(HOST, MIA)
    hosts, mias, dees = await say(core, HOST, "agenda"), await say(core, MIA, "rules"), await say(core, DEE, "x")
    for message_id in (hosts, mias):
        error = await refused(core.moderation.apply(MOD, Action("delete", ROOM, message_id=message_id)))
        assert error.code == "forbidden"
    await core.moderation.apply(MOD, Action("delete", ROOM, message_id=dees))
    other_host = User("u_host2", "Hugo", Role.HOST)
    for message_id in (hosts, mias):
        await core.moderation.apply(other_host, Action("delete", ROOM, message_id=message_id))
    assert all(message.deleted for message in await core.stores.broker.history(ROOM, before=None, limit=10))
    error = await refused(core.moderation.apply(MOD, Action("delete", ROOM, message_id=dees)))
    assert error.code == "not_found"  # a moderator hears that it is gone


async def test_in_a_private_conversation_each_deletes_only_their_own(core):
    await core.stores.rooms.save_room(Room("c-2", "Dee, Eve", kind=RoomKind.PRIVATE))
    await core.stores.conversations.add_conversation_members("c-2", [DEE.id, EVE.id])
    own, other = await say(core, DEE, "mine", "c-2"), await say(core, EVE, "theirs", "c-2")
    await core.moderation.apply(DEE, Action("delete", "c-2", message_id=own))
    assert (await refused(core.moderation.apply(DEE, Action("delete", "c-2", message_id=other)))).code == "forbidden"
    assert (
        await refused(core.moderation.apply(HOST, Action("delete", "c-2", message_id=other)))
    ).code == "not_found"  # not a member: the conversation is not there for them


async def test_a_directory_profile_counts_as_seen(core):
    """Profiles stored before the event remembered token roles (or by the HTTP API alone) are people too."""
    await core.stores.conversations.save_profile(Profile(id="u_old", name="Olga", role=Role.MODERATOR.value))
    await core.stores.conversations.save_profile(Profile(id="u_del", name="Del"))
    assert (await refused(core.moderation.apply(MOD, Action("ban", EVENT_WIDE, user="u_old")))).code == "forbidden"
    await core.moderation.apply(MOD, Action("ban", EVENT_WIDE, user="u_del"))
