"""The glossary in the host panel: it shows the terms in use, a host edits them one per line and
saves, the server keeps them (GET /api/glossary), a refused list is worded from the field the server
names, and the panel stays clean for axe-core throughout."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import expect

from rooms import Role
from tests.conftest import RunningServer, ServerFactory
from tests.e2e.conftest import PageFactory
from tests.e2e.pages import axe_violations, sign_in_with_token, ui

pytestmark = pytest.mark.browser


async def glossary_of(server: RunningServer) -> Any:
    async with server.http() as http:
        answer = await http.get("/api/glossary", headers={"Authorization": f"Bearer {server.token('H', Role.HOST)}"})
        assert answer.status_code == 200
        return answer.json()["terms"]


async def test_a_host_edits_the_glossary_in_the_panel(make_server: ServerFactory, new_page: PageFactory) -> None:
    server = await make_server(translation={"glossary": ("BMH Technologies",)})
    token = server.token("Hanna", Role.HOST, "en", user_id="u-hanna")
    host = await new_page()
    await sign_in_with_token(host, server.url, token, "Hanna")
    field = host.get_by_test_id("host-glossary")
    status = host.get_by_test_id("host-glossary-status")
    await expect(field).to_have_value("BMH Technologies")  # loaded: the configured list is in use

    await field.fill("Cargotec\n  Green Steel  \n\ncargotec\nBMH Technologies")
    await host.get_by_test_id("host-glossary-save").click()
    await expect(status).to_have_text(ui("en", "host.glossarySaved"))
    await expect(field).to_have_value("Cargotec\nGreen Steel\nBMH Technologies")  # as the server keeps them
    assert await glossary_of(server) == ["Cargotec", "Green Steel", "BMH Technologies"]

    await field.fill("Kalmar\n" + "x" * 101)  # one term too long: refused, nothing changes
    await host.get_by_test_id("host-glossary-save").click()
    await expect(status).to_have_text(ui("en", "hostError.terms"))
    await expect(status).to_have_class(re.compile(r"\berror-text\b"))
    assert await glossary_of(server) == ["Cargotec", "Green Steel", "BMH Technologies"]
    found = await axe_violations(host)
    assert not found, "axe-core on the host panel with a glossary error:\n" + "\n".join(found)

    again = await new_page()  # another visit shows the saved list, not the configured one
    await sign_in_with_token(again, server.url, token, "Hanna")
    await expect(again.get_by_test_id("host-glossary")).to_have_value("Cargotec\nGreen Steel\nBMH Technologies")
