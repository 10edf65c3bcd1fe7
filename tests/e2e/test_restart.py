"""The single default node dies under an open page and starts again; the page keeps what it showed.

On sqlite (the default) nothing is lost: the page rejoins with `since`, hears `recovered: true`
and shows every message exactly once. On memory history is lost: the page keeps the messages it
already showed, marks the gap where it is (between those and the newer ones) and says what is lost.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, WebSocket, expect

from tests.backend.support import wait_until
from tests.client import Client
from tests.e2e.pages import enter_room, message_with_text, messages, say, screenshot, sign_in
from tests.nodes import NodeProcess

pytestmark = pytest.mark.browser

ROOM = "plenary"
RECONNECT_MS = 40_000  # the page retries with backoff (0.5 s doubling to 10 s) while the node is down


def watch_frames(page: Page) -> list[dict[str, Any]]:
    """The JSON frames the page receives on its WebSockets, in order."""
    received: list[dict[str, Any]] = []

    def on_socket(ws: WebSocket) -> None:
        ws.on("framereceived", lambda payload: received.append(json.loads(payload)))

    page.on("websocket", on_socket)
    return received


def timeline(page: Page):
    """Messages and system lines of the open room, in screen order."""
    return page.locator("[data-testid=message] [data-testid=message-text], [data-testid=system-line] > span")


async def test_page_keeps_and_recovers_everything_after_kill_9_of_the_default_node(new_page, tmp_path: Path):
    node = NodeProcess("solo", tmp_path, backend="sqlite", env={"BABELROOM_TRANSLATION_ENABLED": "false"})
    await asyncio.to_thread(node.start)
    try:
        bert = await Client.connect(node.ws_url)
        await bert.auth(node.token("Bert", user_id="u-bert"))
        await bert.join(ROOM)
        page = await new_page()
        received = watch_frames(page)
        await sign_in(page, node.url, "Rita", "en")
        await enter_room(page, ROOM)
        await bert.say(ROOM, "Before the crash")
        await say(page, "Rita was here")
        await expect(message_with_text(page, "Before the crash")).to_have_count(1)

        node.kill()
        await expect(page.get_by_test_id("conn-status")).to_have_text("reconnecting…")
        await asyncio.to_thread(node.start)
        await expect(page.get_by_test_id("conn-status")).to_have_text("connected", timeout=RECONNECT_MS)
        # "connected" shows once the socket is authenticated: the room's `joined` comes after it
        await wait_until(lambda: sum(f["type"] == "joined" for f in received) >= 2, timeout=10)
        joined = [f for f in received if f["type"] == "joined"]
        assert len(joined) >= 2 and all(f.get("recovered") is True for f in joined[1:]), joined[1:]

        bert = await Client.connect(node.ws_url)
        await bert.auth(node.token("Bert", user_id="u-bert"))
        await bert.join(ROOM)
        await bert.say(ROOM, "After the restart")
        await expect(message_with_text(page, "After the restart")).to_have_count(1)
        assert await timeline(page).all_inner_texts() == ["Before the crash", "Rita was here", "After the restart"]
        await say(page, "Still here")
        await bert.expect("message", room=ROOM, text="Still here")
        await bert.close()
    finally:
        node.stop()


async def test_page_keeps_what_it_showed_and_marks_the_gap_when_history_is_lost(make_server, new_page):
    server = await make_server()  # memory: a restart loses history
    page = await new_page()
    await sign_in(page, server.url, "Rita", "en")
    await enter_room(page, ROOM)
    await say(page, "Old one")
    await say(page, "Old two")

    port = server.port
    await server.stop()
    await expect(page.get_by_test_id("conn-status")).to_have_text("reconnecting…")
    server = await make_server(port=port)
    await expect(page.get_by_test_id("conn-status")).to_have_text("connected", timeout=RECONNECT_MS)
    gap = page.locator("[data-testid=system-line][data-kind=gap]")
    await expect(gap).to_have_count(1)
    await expect(gap).to_contain_text("could not be recovered: the server no longer has them")

    bert = await server.client("Bert", user_id="u-bert")
    await bert.join(ROOM)
    await bert.say(ROOM, "New one")
    await expect(message_with_text(page, "New one")).to_have_count(1)
    texts = await timeline(page).all_inner_texts()
    assert texts[:2] == ["Old one", "Old two"] and texts[3:] == ["New one"], texts
    assert "could not be recovered" in texts[2]
    await expect(messages(page)).to_have_count(3)
    await screenshot(page, "room-gap-desktop.png")
    await bert.close()
