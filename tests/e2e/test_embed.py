"""Another site's pages: the embeddable room inside an iframe, and the ES module client.

The other site is a second local HTTP server on another port (another origin). Its pages
are plain HTML with inline script, as a conference website's would be.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator

import pytest
import uvicorn
from playwright.async_api import expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from tests.conftest import PromptServer, listening_socket

pytestmark = pytest.mark.browser

EMBEDDING_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Summit 2026</title></head>
<body><h1>Summit 2026 — live chat</h1>
<iframe id="chat" src="%(server)s/embed/plenary" width="420" height="520"></iframe>
<script>
  // The website's own backend minted this token; it hands it to the frame when asked.
  const TOKEN = %(token)s;
  window.frameMessages = [];
  window.addEventListener('message', (event) => {
    if (event.origin !== %(server_origin)s) return;
    window.frameMessages.push(event.data);
    if (event.data && (event.data.type === 'babelroom:ready' || event.data.type === 'babelroom:token-needed')) {
      event.source.postMessage({ type: 'babelroom:token', token: TOKEN, lang: 'en' }, event.origin);
    }
  });
</script></body></html>"""

CLIENT_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>client test</title></head>
<body><script type="module">
  import { BabelroomClient } from '%(server)s/static/client.js';
  const client = new BabelroomClient({ token: %(token)s, lang: 'en' });
  window.seen = [];
  window.statuses = [];
  client.on('*', (frame) => window.seen.push(frame));
  client.on('status', (status) => window.statuses.push(status));
  window.client = client;
  window.started = (async () => {
    const ready = await client.connect();
    const joined = await client.join('plenary');
    return { user: ready.user, room: joined.room.id };
  })();
</script></body></html>"""


class OtherSite:
    """A second web server, on its own port: pages of another origin."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.socket = listening_socket()  # bound now: no other process can take the port before it serves
        self.port = self.socket.getsockname()[1]
        self.origin = f"http://127.0.0.1:{self.port}"

        async def page(request: Request) -> Response:
            name = request.path_params["name"]
            return HTMLResponse(self.pages[name]) if name in self.pages else Response(status_code=404)

        app = Starlette(routes=[Route("/{name}", page)])
        self.server = PromptServer(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        )
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> OtherSite:
        self.task = asyncio.create_task(self.server.serve(sockets=[self.socket]))
        while not self.server.started:
            if self.task.done():
                self.task.result()
            await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        self.server.request_exit()
        if self.task:
            await asyncio.wait_for(self.task, 15)


@pytest.fixture
async def other_sites() -> AsyncIterator[list[OtherSite]]:
    """Two other origins: the conference website (to be allowed) and a stranger's."""
    sites = [await OtherSite().start(), await OtherSite().start()]
    yield sites
    for site in sites:
        await site.stop()


def embedding_page(server, token: str) -> str:
    return EMBEDDING_PAGE % {"server": server.url, "server_origin": json.dumps(server.url), "token": json.dumps(token)}


async def test_the_embedded_room_works_inside_a_listed_site_and_is_refused_by_another(
    make_server, new_page, other_sites
):
    website, stranger = other_sites
    server = await make_server(server={"embed_origins": (website.origin,)})
    website.pages["summit"] = embedding_page(server, server.token("Wanjiru", lang="en", user_id="site-7"))
    stranger.pages["copy"] = embedding_page(server, server.token("Mallory", lang="en"))

    page = await new_page(viewport={"width": 900, "height": 700})
    await page.goto(f"{website.origin}/summit")
    frame = page.frame_locator("#chat")
    await expect(frame.get_by_test_id("embed-composer")).to_be_visible()
    await expect(frame.get_by_test_id("embed-room")).to_have_text("Plenary")

    # what the frame sends reaches the room; what the room says shows in the frame
    ngozi = await server.client("Ngozi", lang="en")
    await ngozi.join("plenary")
    await frame.get_by_test_id("embed-text").fill("Hello from the summit website")
    await frame.get_by_test_id("embed-send").click()
    message = await ngozi.expect("message", text="Hello from the summit website")
    assert message["user"] == {"id": "site-7", "name": "Wanjiru"}
    await ngozi.say("plenary", "Welcome, Wanjiru!")
    await expect(frame.get_by_test_id("embed-messages")).to_contain_text("Hello from the summit website")
    await expect(frame.get_by_test_id("embed-messages")).to_contain_text("Welcome, Wanjiru!")
    assert [m["type"] for m in await page.evaluate("window.frameMessages")] == ["babelroom:ready"]

    # the stranger's page: the browser refuses to render the frame (frame-ancestors)
    refused = await new_page()
    async with refused.expect_console_message(lambda m: "frame-ancestors" in m.text) as blocked:
        await refused.goto(f"{stranger.origin}/copy")
    assert website.origin in (await blocked.value).text
    assert await refused.evaluate("window.frameMessages") == []
    embed_frame = next(f for f in refused.frames if f != refused.main_frame)
    assert await embed_frame.locator("[data-testid=embed-composer]").count() == 0


async def test_the_embed_takes_a_token_from_its_address_and_is_not_framable_by_default(server, new_page):
    token = server.token("Ada", lang="en")
    page = await new_page()
    response = await page.goto(f"{server.url}/embed/plenary#token={token}")
    headers = await response.all_headers()
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    await expect(page.get_by_test_id("embed-composer")).to_be_visible()
    # taken out of the address (page.url follows the page's history.replaceState by an event: wait for it)
    await expect(page).not_to_have_url(re.compile("token"))
    await page.get_by_test_id("embed-text").fill("straight in")
    await page.get_by_test_id("embed-text").press("Enter")
    await expect(page.get_by_test_id("embed-messages")).to_contain_text("straight in")
    async with server.http() as http:
        lobby = await http.get("/")
    assert (
        lobby.headers["x-frame-options"] == "DENY"
        and "frame-ancestors 'none'" in lobby.headers["content-security-policy"]
    )


async def test_the_module_client_connects_joins_sends_and_recovers_after_a_drop(make_server, new_page, other_sites):
    website = other_sites[0]
    server = await make_server(server={"allowed_origins": (website.origin,)})
    website.pages["client"] = CLIENT_PAGE % {
        "server": server.url,
        "token": json.dumps(server.token("Kofi", user_id="kofi")),
    }
    ngozi = await server.client("Ngozi", lang="en")
    await ngozi.join("plenary")

    page = await new_page()
    await page.goto(f"{website.origin}/client")
    started = await page.evaluate("window.started")
    assert started == {"user": {"id": "kofi", "name": "Kofi", "role": "delegate"}, "room": "plenary"}

    ack = await page.evaluate("client.send('plenary', 'hello from a module').then((ack) => ack)")
    assert (await ngozi.expect("message", text="hello from a module"))["id"] == ack["id"]
    await ngozi.say("plenary", "seen live")
    await page.wait_for_function("window.seen.some((f) => f.type === 'message' && f.text === 'seen live')")

    # the network drops: a message sent meanwhile is not lost, and the client's own send is
    # resent with the same cid after it reconnects (stored once)
    await page.evaluate(
        "client.ws.close(); window.retried = client.send('plenary', 'sent while away', {cid: 'away-1'}); undefined"
    )
    await ngozi.say("plenary", "said while you were away")
    retried = await page.evaluate("window.retried")
    assert retried["cid"] == "away-1"
    await page.wait_for_function(
        "window.seen.some((f) => f.type === 'joined' && f.recovered === true"
        " && f.messages.some((m) => m.text === 'said while you were away'))"
    )
    assert (await ngozi.expect("message", text="sent while away"))["id"] == retried["id"]
    statuses = await page.evaluate("window.statuses")
    assert statuses[-2:] == ["reconnecting", "connected"]
    ngozi.inbox.clear()
    again = await page.evaluate("client.send('plenary', 'sent while away again', {cid: 'away-1'})")
    assert again["id"] == retried["id"]  # the same cid: acked with the stored message's id
    await ngozi.silent("message", within=0.5)


async def test_the_module_client_pages_a_replay_longer_than_joined_carries(make_server, new_page, other_sites):
    """13 messages missed, `joined` carries 5 (`history_max`): client.js asks for the rest with
    `history` `after` and emits it as `message` events, every missed message once, in order."""
    website = other_sites[0]
    server = await make_server(
        server={"allowed_origins": (website.origin,)}, limits={"history_max": 5, "history_default": 5}
    )
    website.pages["client"] = CLIENT_PAGE % {
        "server": server.url,
        "token": json.dumps(server.token("Kofi", user_id="kofi")),
    }
    page = await new_page()
    await page.goto(f"{website.origin}/client")
    await page.evaluate("window.started")
    await server.node.stores.broker.append_message(
        "plenary", user={"id": "u-ngozi", "name": "Ngozi"}, text="before", lang="en", cid=None
    )
    await page.wait_for_function("window.seen.some((f) => f.type === 'message' && f.text === 'before')")
    await page.evaluate("client.ws.close(); undefined")  # the network drops
    missed = [f"away {n}" for n in range(13)]
    for text in missed:
        await server.node.stores.broker.append_message(
            "plenary", user={"id": "u-ngozi", "name": "Ngozi"}, text=text, lang="en", cid=None
        )
    await page.wait_for_function("window.seen.some((f) => f.type === 'message' && f.text === 'away 12')")
    await page.wait_for_function("window.statuses[window.statuses.length - 1] === 'connected'")
    seen = await page.evaluate("window.seen")
    rejoined = max(i for i, f in enumerate(seen) if f["type"] == "joined")
    assert seen[rejoined]["more"] is True and len(seen[rejoined]["messages"]) == 5
    replayed = [m["text"] for m in seen[rejoined]["messages"]]
    replayed += [f["text"] for f in seen[rejoined + 1 :] if f["type"] == "message"]
    assert replayed == missed
