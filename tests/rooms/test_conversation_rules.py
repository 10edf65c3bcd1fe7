"""The pure rules of private conversations (rooms/conversations.py)."""

from __future__ import annotations

import pytest

from rooms.conversations import (
    REQUEST_TEXT_MAX,
    ContactRequest,
    DirectoryQuery,
    Policy,
    Profile,
    Refusal,
    answer_refusal,
    block_refusal,
    checks_name,
    decode_cursor,
    directory_key,
    directory_page,
    impersonated,
    impersonation_refusal,
    invitations_needed,
    leave_refusal,
    members_refusal,
    pair_key,
    profile_complaint,
    read_refusal,
    request_refusal,
    request_text_refusal,
    separated_refusal,
    start_refusal,
    state_after_block,
)
from rooms.models import Role, Room, RoomKind, RoomState


def code(refusal: Refusal | None) -> str | None:
    return refusal[0] if refusal else None


FACTS = dict(
    sender="u_a",
    target="u_b",
    blocked=False,
    contact=False,
    pending=0,
    max_pending=2,
    already_pending=False,
    cooldown_until=None,
    now=1_000_000,
)


def refusal(**changes: object) -> str | None:
    found = request_refusal(Policy(changes.pop("policy", "request")), **{**FACTS, **changes})  # type: ignore[arg-type]
    return found[0] if found else None


def test_a_request_is_refused_for_each_reason_in_turn():
    assert refusal() is None
    assert refusal(policy="open") is None
    assert refusal(policy="off") == "forbidden"
    assert refusal(target="u_a") == "bad_request"
    assert refusal(blocked=True) == "forbidden"
    assert refusal(contact=True) == "forbidden"
    assert refusal(already_pending=True) == "forbidden"
    assert refusal(cooldown_until=1_000_500) == "rate_limited"
    assert refusal(cooldown_until=1_000_000) is None  # the cooldown is over
    assert refusal(pending=2) == "rate_limited"
    assert refusal(blocking=True) == "forbidden"  # the sender blocks the target: unblock first


def test_the_incoming_cap_counts_only_people_who_have_not_talked():
    assert refusal(incoming=19, max_incoming=20) is None
    assert refusal(incoming=20, max_incoming=20) == "inbox_full"
    assert refusal(incoming=500) is None  # no cap given
    assert refusal(group=True, contact=True, incoming=20, max_incoming=20) is None  # a contact's invitation


def test_a_group_invitation_is_a_request_like_any_other():
    assert refusal(group=True, contact=True) is None  # contacts are invited too, not told to start a 1:1
    assert refusal(group=True, blocked=True) == "forbidden"
    assert refusal(group=True, cooldown_until=1_000_500) == "rate_limited"
    assert refusal(group=True, pending=2) == "rate_limited"
    assert invitations_needed(Policy.REQUEST, 2) and not invitations_needed(Policy.REQUEST, 1)
    assert not invitations_needed(Policy.OPEN, 7)


def test_request_text_is_500_characters_at_most():
    assert request_text_refusal("x" * REQUEST_TEXT_MAX) is None
    assert code(request_text_refusal("x" * (REQUEST_TEXT_MAX + 1))) == "too_large"
    assert code(request_text_refusal(" \n ")) == "bad_request"


def test_nobody_is_put_together_with_someone_they_block_or_who_blocks_them():
    blocks = {"a": {"b"}, "c": set()}
    assert code(separated_refusal(blocks, ["a", "b", "c"])) == "forbidden"
    assert code(separated_refusal(blocks, ["c", "b", "a"])) == "forbidden"  # whoever starts it
    assert separated_refusal(blocks, ["a", "c"]) is None
    assert code(separated_refusal(blocks, ["a", "c", "b"], joining="b")) == "forbidden"  # b blocked by a
    assert separated_refusal({"a": {"x"}}, ["a", "c", "d"], joining="d") is None
    assert code(separated_refusal({"d": {"a"}}, ["a", "c", "d"], joining="d")) == "forbidden"


def test_blocks_and_answers():
    assert code(block_refusal("a", "a")) == "bad_request" and block_refusal("a", "b") is None
    request = ContactRequest("rq-1", {"id": "a", "name": "A"}, "b", "hi", ts=0, expires=1000)
    assert answer_refusal(request, "b", "rq-1", now=999) is None
    assert code(answer_refusal(request, "a", "rq-1", now=0)) == "not_found"  # only the addressee answers
    assert code(answer_refusal(request, "b", "rq-1", now=1000)) == "not_found"  # expired
    assert code(answer_refusal(None, "b", "rq-1", now=0)) == "not_found"
    assert code(leave_refusal({"a", "b"}, "c", "c-1")) == "not_found" and leave_refusal({"a"}, "a", "c-1") is None


def test_a_cooldown_says_in_how_many_seconds_it_ends():
    """The number goes with the refusal (`retry_after`), so clients word it: "in 23 hours"."""
    found = request_refusal(Policy.REQUEST, **{**FACTS, "cooldown_until": 1_000_000 + 23 * 3600 * 1000 - 1})  # type: ignore[arg-type]
    assert found is not None and found[0] == "rate_limited"
    assert found[2:] == (23 * 3600,)


def test_starting_depends_on_policy_blocks_and_contacts():
    assert start_refusal(Policy.OPEN, blocked=False, contact=False) is None
    assert start_refusal(Policy.REQUEST, blocked=False, contact=True) is None
    assert code(start_refusal(Policy.REQUEST, blocked=False, contact=False)) == "forbidden"
    assert code(start_refusal(Policy.OPEN, blocked=True, contact=True)) == "forbidden"
    assert code(start_refusal(Policy.OFF, blocked=False, contact=True)) == "forbidden"
    assert code(start_refusal(Policy.OPEN, blocked=False, contact=True, blocking=True)) == "forbidden"


def test_a_blocks_list_shows_what_the_person_chose_to_show():
    shown = Profile("u_a", "Ada", organization="Acme", bio="Solar", country="FI")
    assert shown.listed() == {
        "id": "u_a",
        "name": "Ada",
        "lang": "en",
        "organization": "Acme",
        "country": "FI",
        "bio": "Solar",
    }
    assert shown.updated(hidden=True).listed() == {"id": "u_a", "name": "Ada"}


def test_two_to_eight_distinct_people():
    assert members_refusal("a", ["a"]) is not None
    assert members_refusal("a", ["b", "b"]) is None
    assert members_refusal("a", [f"u{i}" for i in range(7)]) is None
    assert members_refusal("a", [f"u{i}" for i in range(8)]) is not None
    assert pair_key("a", "b") == pair_key("b", "a") != pair_key("a", "c")


def complaint_text(**fields) -> str:
    complaint = profile_complaint(**fields)
    return str(complaint) if complaint else ""


def test_profiles_are_checked():
    assert profile_complaint("Sauna Oy", "FI", "Saunas") is None
    assert "ISO" in complaint_text(country="fi")
    assert "ISO" in complaint_text(country="XX")
    assert "280" in complaint_text(bio="x" * 281)
    assert "control" in complaint_text(organization="a\x07b")
    assert profile_complaint(bio="two\nlines") is None  # a bio may hold newlines, an organisation may not
    assert "control" in complaint_text(organization="two\nlines")


@pytest.mark.parametrize(
    "field, value, says",
    [
        ("name", "\u3164", "U+3164"),  # Hangul filler: renders blank
        ("name", "\u2800\u2800", "U+2800"),  # blank braille pattern
        ("name", "\uffa0", "U+FFA0"),  # halfwidth Hangul filler
        ("name", "\u0301\u0302", "blank"),  # combining marks with nothing to sit on
        ("name", "\u0301Ada", "combining mark"),
        ("name", "Ada\u200b", "U+200B"),  # zero-width space
        ("name", "Ada\u202eLovelace", "U+202E"),  # right-to-left override
        ("name", "Ada\x00", "control"),
        ("name", "Ada\nLovelace", "control"),
        ("name", "Ada\ud800", "surrogate"),
        ("name", "   ", "non-empty"),
        ("organization", "Sauna\u202eOy", "U+202E"),
        ("organization", "Sauna\u200dOy", "U+200D"),
        ("organization", "\u3164", "U+3164"),
        ("organization", "Sauna\udfff", "surrogate"),
        ("bio", "hi\u2066there", "U+2066"),
        ("bio", "hi\ufeff", "U+FEFF"),
        ("bio", "\ud83d", "surrogate"),
    ],
)
def test_names_organisations_and_bios_show_what_they_say(field, value, says):
    complaint = profile_complaint(**({"name": value} if field == "name" else {field: value}))
    assert complaint is not None and complaint.field == field and says in complaint.fault


@pytest.mark.parametrize("name", ["Ada Lovelace", "José", "李伟", "नमस्ते", "Ngozi ❤\ufe0f", "Zoë", "Åsa\u3000Berg"])
def test_real_names_pass(name):
    assert profile_complaint(name=name) is None


def test_delegates_may_not_take_a_hosts_name_or_a_look_alike():
    staff = [
        Profile("h1", "Host", role="host"),
        Profile("m1", "Mira Chen", role="moderator"),
        Profile("d1", "Delegate Dan"),
    ]
    fullwidth, bold = "\uff28\uff4f\uff53\uff54", "\U0001d407\U0001d428\U0001d42c\U0001d42d"
    for copy in [
        "Host",
        "host",
        "HOST",
        "\u0397ost",
        fullwidth,
        bold,
        "H\u043est",
        "H0st",
        "Mira  Chen",
        "M\u0456ra Chen",
    ]:
        twin = impersonated(copy, "d2", staff)
        assert twin is not None and twin.role != "delegate", copy
    assert impersonated("Hostess", "d2", staff) is None
    assert impersonated("Delegate Dan", "d2", staff) is None  # delegates' names are not protected
    assert impersonated("Host", "h1", staff) is None  # the host themself
    assert impersonation_refusal("H0st", "d2", staff) == (
        "name_reserved",
        "looks like the name of a host of this event ('Host'); choose another name",
    )
    assert impersonation_refusal("Hostess", "d2", staff) is None
    assert [role for role in Role if checks_name(role)] == [Role.DELEGATE]  # staff names are theirs to choose


def test_a_block_leaves_the_blockers_one_to_one_read_only_and_a_group_as_it_was():
    assert state_after_block(RoomState.OPEN, {"u_a", "u_b"}, "u_a", "u_b") is RoomState.READ_ONLY
    assert state_after_block(RoomState.OPEN, {"u_a", "u_b", "u_c"}, "u_a", "u_b") is RoomState.OPEN
    assert state_after_block(RoomState.CLOSED, {"u_a", "u_b"}, "u_a", "u_b") is RoomState.CLOSED


def test_read_marks_in_a_public_room_need_a_join_in_a_conversation_none():
    forum, private = Room("r", "R"), Room("c-1", "C", kind=RoomKind.PRIVATE)
    assert code(read_refusal(forum, joined=False)) == "not_joined"
    assert read_refusal(forum, joined=True) is None
    assert read_refusal(private, joined=False) is None  # it is visible only to its members already


def test_the_directory_query_filters():
    people = [
        Profile("1", "Mika", lang="fi", organization="Helsinki Tech", country="FI"),
        Profile("2", "aino", lang="fi", organization="Sauna Oy", country="FI"),
        Profile("3", "Li", lang="zh", organization="Shenzhen Solar", country="CN"),
        Profile("4", "Hidden", hidden=True),
        Profile("5", "Me"),
    ]
    everyone = sorted(people, key=directory_key)
    assert [p.name for p in everyone if DirectoryQuery(viewer="5").matches(p)] == ["aino", "Li", "Mika"]
    assert [p.name for p in people if DirectoryQuery(viewer="5", q="SOLAR").matches(p)] == ["Li"]
    query = DirectoryQuery(viewer="5", lang="fi", country="FI", q="tech")
    assert [p.name for p in people if query.matches(p)] == ["Mika"]
    listed = [p for p in everyone if DirectoryQuery(viewer="5").matches(p)]
    page, cursor = directory_page(listed, 2)
    assert [p.name for p in page] == ["aino", "Li"] and decode_cursor(cursor or "") == directory_key(page[-1])
    assert directory_page(listed[:2], 2)[1] is None
    assert decode_cursor("not-a-cursor") is None
