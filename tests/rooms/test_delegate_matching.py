"""rooms/delegates.py `person` on the memory stores: which delegate a website's token speaks for
(issue 23, same person everywhere)."""

from __future__ import annotations

import pytest

from chat.backend import MemoryBackend
from rooms import Refused
from rooms.delegates import Delegates
from rooms.sign_ins import SignIns

ROWS = [
    {"Name": "李伟", "Reading language": "zh", "E-mail": "Li.Wei@Example.cn", "External id": "REG-42"},
    {"Name": "Aino", "Reading language": "fi", "External id": "reg-43"},
]


@pytest.fixture
async def delegates():
    backend = MemoryBackend(node_id="n")
    await backend.start(lambda room, event: None)
    stores = backend.stores
    sign_ins = SignIns(stores.sessions, stores.broker, stores.limits, check_ttl=5, code_ttl=600, codes_per_hour=10)
    listed = Delegates(stores.sessions, sign_ins, invite_ttl=600)
    report = await listed.import_rows(ROWS, ["zh", "fi", "en"])
    assert len(report.created) == 2
    yield listed
    await backend.close()


async def test_sub_or_email_finds_the_delegate_and_nothing_else_does(delegates):
    li = await delegates.person("REG-42")
    assert li is not None and li.name == "李伟" and li.email == "li.wei@example.cn"
    assert await delegates.person("site-7", "LI.WEI@example.cn") == li  # the e-mail claim, in any case
    assert await delegates.person("li.wei@EXAMPLE.cn") == li  # an e-mail as the sub
    assert await delegates.person(li.id) == li  # a token minted with the delegate's user id
    assert await delegates.person("REG-43") is None  # an external id is matched as written
    aino = await delegates.person("reg-43")
    assert aino is not None and aino.name == "Aino"
    assert await delegates.person("site-7", "someone@example.org") is None
    assert await delegates.person("d_0000000000000000") is None


async def test_a_revoked_delegate_is_refused_and_a_row_naming_two_people_is_too(delegates):
    await delegates.revoke("reg-43")
    with pytest.raises(Refused, match="withdrew"):
        await delegates.person("reg-43")
    mixed = await delegates.import_rows([{**ROWS[0], "External id": "reg-43"}], ["zh", "fi"])
    assert [row for row, _ in mixed.refused] == [1] and "two people" in mixed.refused[0][1]
    twice = await delegates.import_rows([ROWS[1], {**ROWS[1], "E-mail": "aino@example.fi"}], ["fi"])
    assert twice.refused == [(2, "the same person as row 1 (reg-43)")]
