"""The pure rules of private conversations (rooms/conversations.py)."""
from __future__ import annotations

from rooms.conversations import (
    Policy,
    Profile,
    Refusal,
    decode_cursor,
    directory_page,
    members_refusal,
    pair_key,
    profile_complaint,
    request_refusal,
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
    assert refusal(target="u_a") == "bad_frame"
    assert refusal(blocked=True) == "forbidden"
    assert refusal(contact=True) == "forbidden"
    assert refusal(already_pending=True) == "forbidden"
    assert refusal(cooldown_until=1_000_500) == "rate_limited"
    assert refusal(cooldown_until=1_000_000) is None  # the cooldown is over
    assert refusal(pending=2) == "rate_limited"


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
