"""The pure rules of private conversations (rooms/conversations.py)."""
from __future__ import annotations

import pytest

from rooms.conversations import (
    DirectoryQuery,
    Policy,
    Profile,
    decode_cursor,
    directory_key,
    directory_page,
    impersonated,
    members_refusal,
    pair_key,
    profile_complaint,
    request_refusal,
    start_refusal,
)


def code(refusal: tuple[str, str] | None) -> str | None:
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


@pytest.mark.parametrize("field, value, says", [
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
])
def test_names_organisations_and_bios_show_what_they_say(field, value, says):
    complaint = profile_complaint(**({"name": value} if field == "name" else {field: value}))
    assert complaint is not None and complaint.field == field and says in complaint.fault


@pytest.mark.parametrize("name", ["Ada Lovelace", "José", "李伟", "नमस्ते", "Ngozi ❤\ufe0f", "Zoë", "Åsa\u3000Berg"])
def test_real_names_pass(name):
    assert profile_complaint(name=name) is None


def test_delegates_may_not_take_a_hosts_name_or_a_look_alike():
    staff = [Profile("h1", "Host", role="host"), Profile("m1", "Mira Chen", role="moderator"),
             Profile("d1", "Delegate Dan")]
    fullwidth, bold = "\uff28\uff4f\uff53\uff54", "\U0001d407\U0001d428\U0001d42c\U0001d42d"
    for copy in ["Host", "host", "HOST", "\u0397ost", fullwidth, bold, "H\u043est", "H0st",
                 "Mira  Chen", "M\u0456ra Chen"]:
        twin = impersonated(copy, "d2", staff)
        assert twin is not None and twin.role != "delegate", copy
    assert impersonated("Hostess", "d2", staff) is None
    assert impersonated("Delegate Dan", "d2", staff) is None  # delegates' names are not protected
    assert impersonated("Host", "h1", staff) is None  # the host themself


def test_the_directory_query_filters():
    people = [Profile("1", "Mika", lang="fi", organization="Helsinki Tech", country="FI"),
              Profile("2", "aino", lang="fi", organization="Sauna Oy", country="FI"),
              Profile("3", "Li", lang="zh", organization="Shenzhen Solar", country="CN"),
              Profile("4", "Hidden", hidden=True),
              Profile("5", "Me")]
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
