"""The server restarts under an open page, which recovers the messages it missed, exactly once.

Two nodes on the redis backend share the room: the page is on node A, node A stops, a
member on node B keeps talking, node A starts again on the same port, and the page
reconnects by itself and joins with `since` its last message id. (On a single memory
node the messages said while it is down do not exist, so there would be nothing to recover.)
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.async_api import Page, WebSocket, expect

from tests.e2e.pages import enter_room, message_with_text, messages, say, sign_in, sign_in_with_token
from tests.e2e.test_chat_expectations import read_position

pytestmark = [pytest.mark.browser, pytest.mark.redis]

ROOM = "plenary"
RECONNECT_MS = 40_000  # the page retries with backoff (0.5 s doubling to 10 s) while node A is down


def watch_frames(page: Page) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The JSON frames the page sends and receives on its WebSockets, in order."""
    sent: list[dict[str, Any]] = []
    received: list[dict[str, Any]] = []

    def on_socket(ws: WebSocket) -> None:
        ws.on("framesent", lambda payload: sent.append(json.loads(payload)))
        ws.on("framereceived", lambda payload: received.append(json.loads(payload)))

    page.on("websocket", on_socket)
    return sent, received


@pytest.mark.parametrize("backend_kind", ["redis"])
async def test_page_recovers_messages_missed_while_its_node_restarted(make_server, new_page, backend_kind):
    node_a = await make_server()
    node_b = await make_server()
    bert = await node_b.client("Bert", user_id="u-bert")
    await bert.join(ROOM)

    page = await new_page()
    sent, received = watch_frames(page)
    await sign_in(page, node_a.url, "Rita", "en")
    await enter_room(page, ROOM)
    await bert.say(ROOM, "Before the restart")
    await expect(message_with_text(page, "Before the restart")).to_have_count(1)
    await say(page, "Rita was here")
    await bert.expect("message", room=ROOM, text="Rita was here")
    last_id = await message_with_text(page, "Rita was here").get_attribute("data-id")

    await node_a.stop()
    status = page.get_by_test_id("conn-status")
    await expect(status).to_have_text("reconnecting…")

    missed = ["Missed one", "Missed two", "Missed three"]
    for text in missed:
        await bert.say(ROOM, text)

    node_a = await make_server(port=node_a.port)
    await expect(status).to_have_text("connected", timeout=RECONNECT_MS)
    for text in missed:
        await expect(message_with_text(page, text)).to_have_count(1)
    texts = await messages(page).get_by_test_id("message-text").all_inner_texts()
    assert texts == ["Before the restart", "Rita was here", *missed], texts
    await expect(page.locator("[data-testid=system-line][data-kind=gap]")).to_have_count(0)
    # it rejoined from where it was (`since`), and the server replayed all it missed
    joins = [f.get("since") for f in sent if f["type"] == "join"]
    assert joins[0] is None and joins[1:] and set(joins[1:]) == {last_id}, joins
    joined = [f for f in received if f["type"] == "joined"]
    assert joined[-1].get("recovered") is True, joined[-1]
    assert [m["text"] for m in joined[-1]["messages"]] == missed

    # and the page is live again, both ways
    await say(page, "Back again")
    await bert.expect("message", room=ROOM, text="Back again")
    await bert.say(ROOM, "Welcome back")
    await expect(message_with_text(page, "Welcome back")).to_have_count(1)
    await expect(messages(page)).to_have_count(len(missed) + 4)
    await bert.close()


@pytest.mark.parametrize("backend_kind", ["redis"])
async def test_page_recovers_more_than_one_replay_page_in_order_once(make_server, new_page, backend_kind):
    """More was missed than `joined` may carry (`[limits] history_max`, 5 here): the page asks for
    the rest with `history` `after`, page by page, and shows every message once, in order."""
    limits = {"history_max": 5, "history_default": 5}
    node_a = await make_server(limits=limits)
    node_b = await make_server(limits=limits)
    page = await new_page()
    sent, received = watch_frames(page)
    await sign_in(page, node_a.url, "Rita", "en")
    await enter_room(page, ROOM)
    await say(page, "Rita was here")

    await node_a.stop()
    status = page.get_by_test_id("conn-status")
    await expect(status).to_have_text("reconnecting…")
    missed = [f"Missed {n}" for n in range(1, 14)]  # 13: a page of 5 in `joined`, then 5 and 3
    for text in missed:
        await node_b.node.stores.broker.append_message(
            ROOM, user={"id": "u-bert", "name": "Bert"}, text=text, lang="en", cid=None
        )

    node_a = await make_server(port=node_a.port, limits=limits)
    await expect(status).to_have_text("connected", timeout=RECONNECT_MS)
    await expect(message_with_text(page, missed[-1])).to_have_count(1)
    texts = await messages(page).get_by_test_id("message-text").all_inner_texts()
    assert texts == ["Rita was here", *missed], texts
    await expect(page.locator("[data-testid=system-line][data-kind=gap]")).to_have_count(0)
    joined = [f for f in received if f["type"] == "joined"][-1]
    assert joined.get("more") is True and len(joined["messages"]) == 5
    pages = [f for f in sent if f["type"] == "history" and "after" in f]
    assert len(pages) == 2 and all(f["limit"] == 5 for f in pages), pages
    # and live again
    await say(page, "Back again")
    await expect(message_with_text(page, "Back again")).to_have_count(1)


@pytest.mark.parametrize("backend_kind", ["redis"])
async def test_a_reconnect_leaves_a_background_conversations_new_messages_unread(make_server, new_page, backend_kind):
    """The page rejoins a conversation it is not showing with `since`: what the replay brings is
    counted as new, on this page and on the server (issue 25: only `read` moves the read position)."""
    node_a = await make_server(conversations={"policy": "open"})
    node_b = await make_server(conversations={"policy": "open"})
    bert = await node_b.client("Bert", user_id="u-bert")
    page = await new_page()
    sent, _ = watch_frames(page)
    await sign_in_with_token(page, node_a.url, node_a.token("Rita", user_id="u-rita"), "Rita")
    async with node_b.http() as http:
        response = await http.post(
            "/api/conversations",
            json={"with": ["u-rita"]},
            headers={"Authorization": f"Bearer {node_b.token('Bert', user_id='u-bert')}"},
        )
    conversation = response.json()["room"]["id"]
    await bert.join(conversation)
    first = await bert.say(conversation, "Hello Rita")
    entry = page.get_by_test_id(f"conversation-{conversation}")
    await entry.click()  # she reads it
    await expect(message_with_text(page, "Hello Rita")).to_have_count(1)
    await read_position(node_b, "u-rita", conversation, first["id"])
    await enter_room(page, ROOM)

    await node_a.stop()
    await expect(page.get_by_test_id("conn-status")).to_have_text("reconnecting…")
    for text in ("Are you coming?", "Stand 12"):
        await bert.say(conversation, text)
    node_a = await make_server(port=node_a.port, conversations={"policy": "open"})
    await expect(page.get_by_test_id("conn-status")).to_have_text("connected", timeout=RECONNECT_MS)
    assert [f.get("since") for f in sent if f["type"] == "join" and f["room"] == conversation][-1] == first["id"]
    await expect(entry.get_by_test_id("unread")).to_have_text("2")
    probe = await node_b.client("Rita", user_id="u-rita")  # her other device finds them unread too
    assert (await probe.join(conversation, history=0))["you"] == {"role": "delegate", "read": first["id"], "unread": 2}
    await probe.close()
    await bert.close()
