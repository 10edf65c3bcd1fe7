"""The organisers' delegate list (issue 23): `babelroom delegates import|links|revoke` against
running servers (two redis nodes, and one sqlite node whose file the server holds)."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from rooms import Role
from tests.client import Client, http_client
from tests.nodes import REPO, NodeProcess, RedisServer, start_together

HEADER = "Name,Organisation,Country,Reading language,E-mail,Role\n"
GOOD = "李伟,Shenzhen Solar,cn,zh,li.wei@example.cn,\nAino Virtanen,Sauna Oy,FI,fi,aino@example.fi,moderator\n"
BAD = (
    "Nobody,,,en,,\n"  # no e-mail nor external id
    "Klingon,,,tlh,k@example.org,\n"  # a language the server does not offer
    "Dup Li,,,en,LI.WEI@example.cn,\n"
)  # the same person twice


@dataclass
class PrintedPage:
    text: str
    qr_codes: list[str]


def pdf_page(data: bytes, page: int = 0) -> PrintedPage:
    """A PDF page as printed: its text, and the QR codes a decoder (zxing-cpp) reads off the page
    rasterised at 300 dpi (pdfium)."""
    import pypdfium2
    import zxingcpp

    document = pypdfium2.PdfDocument(data)
    image = document[page].render(scale=300 / 72).to_pil()
    text = document[page].get_textpage().get_text_range()
    return PrintedPage(
        text, [found.text for found in zxingcpp.read_barcodes(image) if found.format == zxingcpp.BarcodeFormat.QRCode]
    )


def cli(node: NodeProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **node.env}
    return subprocess.run(
        [sys.executable, "-m", "chat.cli", "delegates", "--url", node.url, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(params=["two-redis-nodes", "one-sqlite-node"])
async def nodes(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[NodeProcess, NodeProcess]]:
    redis_server = None
    if request.param == "two-redis-nodes":
        request.applymarker(pytest.mark.redis)
        redis_server = RedisServer(tmp_path / "redis")
        redis_server.start()
        started = [NodeProcess(name, tmp_path, redis_url=redis_server.url) for name in ("a", "b")]
    else:
        started = [NodeProcess("solo", tmp_path, backend="sqlite")]
    try:
        await asyncio.to_thread(start_together, *started, timeout=60)
        yield started[0], started[-1]
    finally:
        for node in started:
            node.stop()
        if redis_server is not None:
            redis_server.stop()


async def test_import_links_and_revoke_through_the_running_servers(nodes, tmp_path):
    a, b = nodes
    listing = tmp_path / "delegates.csv"
    listing.write_text(HEADER + GOOD + BAD, encoding="utf-8")
    refused = await asyncio.to_thread(cli, a, "import", str(listing))
    assert refused.returncode == 1
    # rows counted from the first after the header
    assert "row 3: an e-mail or an external id is needed" in refused.stderr
    assert "row 4: reading language 'tlh'" in refused.stderr and "row 5: the same person as row 1" in refused.stderr
    assert "nothing was imported" in refused.stderr

    listing.write_text(HEADER + GOOD, encoding="utf-8")
    first = await asyncio.to_thread(cli, a, "import", str(listing))
    assert first.returncode == 0 and first.stdout.strip() == "2 created, 0 updated, 0 unchanged", first.stderr
    again = await asyncio.to_thread(cli, b, "import", str(listing))
    assert again.stdout.strip() == "0 created, 0 updated, 2 unchanged"
    listing.write_text(HEADER + GOOD.replace("Sauna Oy", "Sauna Works"), encoding="utf-8")
    changed = await asyncio.to_thread(cli, a, "import", str(listing))
    assert changed.stdout.strip() == "0 created, 1 updated, 1 unchanged"

    badges, pdf = tmp_path / "badges.html", tmp_path / "badges.pdf"
    made = await asyncio.to_thread(
        cli, a, "links", "--base-url", "https://chat.example.org/", "--badges", str(badges), "--pdf", str(pdf)
    )
    assert made.returncode == 0, made.stderr
    links = {row["key"]: row for row in csv.DictReader(io.StringIO(made.stdout))}
    assert set(links) == {"li.wei@example.cn", "aino@example.fi"}
    assert links["aino@example.fi"]["url"] == f"https://chat.example.org/#code={links['aino@example.fi']['code']}"
    sheet = badges.read_text(encoding="utf-8")  # a printable badge each: the name in its own script, a QR code
    assert sheet.count('class="badge"') == 2 and "李伟" in sheet and "Sauna Works" in sheet
    assert sheet.count("<svg") == 2 and links["li.wei@example.cn"]["code"] in sheet
    # the PDF's page, rasterised, read by a QR decoder as a phone's camera would: each delegate's link
    printed = pdf_page(pdf.read_bytes())
    assert "李伟" in printed.text and "Aino Virtanen" in printed.text and "Sauna Works" in printed.text
    assert sorted(printed.qr_codes) == sorted(link["url"] for link in links.values())
    scanned = next(url for url in printed.qr_codes if url.endswith(links["aino@example.fi"]["code"]))

    # Aino's badge, scanned, signs her in on node b as the person of the list, with her role and organisation
    async with http_client(b.url) as http:
        signed = await http.post("/api/session", json={"code": scanned.partition("#code=")[2]})
        assert signed.status_code == 200, signed.text
        body = signed.json()
        assert body["user"] == {"id": links["aino@example.fi"]["id"], "name": "Aino Virtanen", "role": "moderator"}
        assert body["lang"] == "fi" and body["profile"] == {"organization": "Sauna Works", "country": "FI"}
    socket = await Client.connect(b.ws_url)
    await socket.auth(body["token"])
    spare = await asyncio.to_thread(cli, a, "links")  # a second badge printed before she is revoked
    spare_code = next(
        row["code"] for row in csv.DictReader(io.StringIO(spare.stdout)) if row["key"] == "aino@example.fi"
    )

    revoked = await asyncio.to_thread(cli, a, "revoke", "AINO@example.fi")
    assert revoked.returncode == 0 and "1 sign-ins ended" in revoked.stdout, revoked.stderr
    assert await socket.closed() == 4401  # at once, on the other node
    async with http_client(b.url) as http:
        li_link = links["li.wei@example.cn"]["code"]
        assert (await http.post("/api/session", json={"code": li_link})).status_code == 200  # Li is still in
        refreshed = await asyncio.to_thread(cli, a, "links")
        assert "aino@example.fi" not in refreshed.stdout  # a revoked delegate gets no new link
        withdrawn = await http.post("/api/session", json={"code": spare_code})  # nor does an old one work
        assert withdrawn.status_code == 401 and "withdrawn" in withdrawn.json()["message"]
    unknown = await asyncio.to_thread(cli, a, "revoke", "nobody@example.org")
    assert unknown.returncode == 1 and "no delegate" in unknown.stderr


# same person everywhere (memory, sqlite, redis) ---------------------------------------------------
def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_the_list_the_website_and_the_personal_link_make_one_person(make_server):
    server = await make_server(conversations={"policy": "open"})
    host = server.token("Organiser", role=Role.HOST, user_id="host-1")
    rows = [
        {
            "Name": "李伟",
            "Organisation": "Shenzhen Solar",
            "Country": "CN",
            "Reading language": "zh",
            "E-mail": "li.wei@example.cn",
            "External id": "REG-0042",
        },
        {
            "Name": "Aino Virtanen",
            "Organisation": "Sauna Oy",
            "Country": "FI",
            "Reading language": "fi",
            "E-mail": "",
            "External id": "REG-0043",
        },
    ]
    async with server.http() as http:
        imported = await http.post("/api/delegates", json={"delegates": rows}, headers=bearer(host))
        assert imported.json()["created"] == 2, imported.text
        listed = {d["key"]: d for d in (await http.get("/api/delegates", headers=bearer(host))).json()["delegates"]}
        li = listed["li.wei@example.cn"]
        assert (li["email"], li["external_id"]) == ("li.wei@example.cn", "REG-0042")
        links = {
            link["key"]: link
            for link in (await http.post("/api/delegates/links", json={}, headers=bearer(host))).json()["links"]
        }
        by_link = (await http.post("/api/session", json={"code": links["li.wei@example.cn"]["code"]})).json()
        # the website's tokens: `sub` its registration id, or its own user id with the e-mail beside it
        by_sub = server.token("Li Wei", lang="zh", user_id="REG-0042")
        by_email = server.token("Wei Li", lang="en", user_id="site-user-981", email="LI.WEI@example.cn")
        stranger = server.token("Passer-by", user_id="site-user-982", email="someone@example.org")
    sockets = []
    for token in (by_link["token"], by_sub, by_email, stranger):
        client = await Client.connect(server.ws_url)
        sockets.append((await client.auth(token))["user"]["id"])
    assert sockets == [li["id"]] * 3 + ["site-user-982"]
    async with server.http() as http:
        me = [(await http.get("/api/me", headers=bearer(token))).json() for token in (by_link["token"], by_sub)]
        assert [m["id"] for m in me] == [li["id"]] * 2
        # the person as the list has them, whatever name the website's token carries
        assert [(m["name"], m["organization"]) for m in me] == [("李伟", "Shenzhen Solar")] * 2
    # a conversation started on the website's token is there for the link's sign-in: one person
    aino = server.token("Aino", lang="fi", user_id="REG-0043")
    async with server.http() as http:
        started = await http.post("/api/conversations", json={"with": [li["id"]]}, headers=bearer(aino))
        assert started.status_code in (200, 201), started.text
        mine = (await http.get("/api/conversations", headers=bearer(by_link["token"]))).json()
        theirs = await http.get("/api/conversations", headers=bearer(by_sub))
        assert theirs.json() == mine and mine["conversations"], mine
        viewer = server.token("Viewer", user_id="site-viewer")
        people = (await http.get("/api/people", params={"q": "李伟"}, headers=bearer(viewer))).json()["people"]
        assert [p["id"] for p in people] == [li["id"]]  # the directory shows the person once
        everyone = (await http.get("/api/people", params={"limit": "50"}, headers=bearer(viewer))).json()["people"]
        assert [p["id"] for p in everyone].count(li["id"]) == 1
        assert "REG-0042" not in [p["id"] for p in everyone] and "site-user-981" not in [p["id"] for p in everyone]

        # revoked: the website's tokens for the person are refused too, on the API and the socket
        assert (
            await http.post("/api/delegates/revoke", json={"delegate": "REG-0042"}, headers=bearer(host))
        ).status_code == 200
        refused = await http.get("/api/me", headers=bearer(by_email))
        assert refused.status_code == 401 and "withdrew" in refused.json()["message"]
    late = await Client.connect(server.ws_url)
    await late.send({"type": "auth", "token": by_sub})
    assert "withdrew" in (await late.expect_error("unauthorized"))["message"]


async def user_of(server, token: str) -> str:
    client = await Client.connect(server.ws_url)
    ready = await client.auth(token)
    return str(ready["user"]["id"])


async def test_a_changed_e_mail_with_the_same_registration_id_updates_the_same_person(server):
    host = server.token("Organiser", role=Role.HOST, user_id="host-1")
    row = {"Name": "Aino Virtanen", "Reading language": "fi", "E-mail": "aino@example.fi", "External id": "R-7"}
    async with server.http() as http:
        first = await http.post("/api/delegates", json={"delegates": [row]}, headers=bearer(host))
        assert first.json()["created"] == 1
        moved = await http.post(
            "/api/delegates", json={"delegates": [{**row, "E-mail": "aino@sauna.fi"}]}, headers=bearer(host)
        )
        assert moved.json()["updated"] == 1 and moved.json()["created"] == 0, moved.text
        [aino] = (await http.get("/api/delegates", headers=bearer(host))).json()["delegates"]
        assert aino["email"] == "aino@sauna.fi"
        old_mail = server.token("Aino", lang="fi", user_id="site-5", email="aino@example.fi")
        new_mail = server.token("Aino", lang="fi", user_id="site-5", email="aino@sauna.fi")
        assert [await user_of(server, token) for token in (new_mail, old_mail)] == [aino["id"], "site-5"]
        # a row whose e-mail is one person's and whose registration id another's is refused
        other = {"Name": "Bo", "Reading language": "en", "E-mail": "bo@example.se", "External id": "R-8"}
        assert (await http.post("/api/delegates", json={"delegates": [other]}, headers=bearer(host))).json()[
            "created"
        ] == 1
        mixed = await http.post(
            "/api/delegates", json={"delegates": [{**other, "External id": "R-7"}]}, headers=bearer(host)
        )
        assert mixed.json()["imported"] is False
        assert "two people on the list" in mixed.json()["refused"][0]["reason"]
