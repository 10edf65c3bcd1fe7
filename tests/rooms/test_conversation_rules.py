"""The pure rules of private conversations (rooms/conversations.py)."""
from __future__ import annotations

from rooms.conversations import (
    REQUEST_TEXT_MAX,
    ContactRequest,
    Policy,
    Profile,
    Refusal,
    answer_refusal,
    block_refusal,
    decode_cursor,
    directory_page,
    invitations_needed,
    leave_refusal,
    members_refusal,
    pair_key,
    profile_complaint,
    request_refusal,
    request_text_refusal,
    separated_refusal,
    start_refusal,
)


def code(refusal: Refusal | None) -> str | None:
    return refusal[0] if refusal else None


FACTS = dict(sender="u_a", target="u_b", blocked=False, contact=False, pending=0, max_pending=2,
             already_pending=False, cooldown_until=None, now=1_000_000)


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
    assert shown.listed() == {"id": "u_a", "name": "Ada", "lang": "en", "organization": "Acme", "country": "FI",
                              "bio": "Solar"}
    assert shown.updated(hidden=True).listed() == {"id": "u_a", "name": "Ada"}


def test_two_to_eight_distinct_people():
    assert members_refusal("a", ["a"]) is not None
    assert members_refusal("a", ["b", "b"]) is None
    assert members_refusal("a", [f"u{i}" for i in range(7)]) is None
    assert members_refusal("a", [f"u{i}" for i in range(8)]) is not None
    assert pair_key("a", "b") == pair_key("b", "a") != pair_key("a", "c")


def test_profiles_are_checked():
    assert profile_complaint("Sauna Oy", "FI", "Saunas") is None
    assert "ISO" in (profile_complaint(country="fi") or "")
    assert "ISO" in (profile_complaint(country="XX") or "")
    assert "280" in (profile_complaint(bio="x" * 281) or "")
    assert "control" in (profile_complaint(organization="a\x07b") or "")


def test_the_directory_pages_by_name_and_filters():
    people = [Profile("1", "Mika", lang="fi", organization="Helsinki Tech", country="FI"),
              Profile("2", "aino", lang="fi", organization="Sauna Oy", country="FI"),
              Profile("3", "Li", lang="zh", organization="Shenzhen Solar", country="CN"),
              Profile("4", "Hidden", hidden=True),
              Profile("5", "Me")]
    page, cursor = directory_page(people, viewer="5", limit=2)
    assert [p.name for p in page] == ["aino", "Li"] and cursor is not None
    rest, end = directory_page(people, viewer="5", after=decode_cursor(cursor), limit=2)
    assert [p.name for p in rest] == ["Mika"] and end is None
    assert [p.name for p in directory_page(people, viewer="5", q="SOLAR")[0]] == ["Li"]
    assert [p.name for p in directory_page(people, viewer="5", lang="fi", country="FI", q="tech")[0]] == ["Mika"]
    assert decode_cursor("not-a-cursor") is None
