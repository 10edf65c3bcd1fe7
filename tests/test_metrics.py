"""/metrics is standard Prometheus text (prometheus_client's parser reads it), per node, and only
for a scraper holding [server] metrics_token (Prometheus' bearer-token convention); off without one."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from rooms import Role
from tests.conftest import TEST_METRICS_TOKEN


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(server) -> str:
    return await server.metrics()


async def test_metrics_parse_and_count_connections_translations_and_the_process(server):
    ada = await server.client("Ada", lang="en")
    await server.client("Dieter", lang="de")
    await ada.join("plenary")
    await ada.say("plenary", "Good morning everyone, when does the next talk begin?")
    values = samples(await scrape(server))
    assert values[("babelroom_connections", ())] == 2
    assert values[("babelroom_local_rooms", ())] == 1
    assert values[("babelroom_translation_queue_depth", ())] >= 0
    assert values[("process_resident_memory_bytes", ())] > 0
    assert ("process_cpu_seconds_total", ()) in values
    detections = [value for (name, labels), value in values.items() if name == "babelroom_language_detections_total"]
    assert sum(detections) >= 1


async def test_each_node_counts_its_own_connections(make_server):
    first, second = await make_server(), await make_server()
    await first.client("Ada")
    await first.client("Bo", role=Role.HOST)
    await second.client("Cy")
    assert samples(await scrape(first))[("babelroom_connections", ())] == 2
    assert samples(await scrape(second))[("babelroom_connections", ())] == 1


async def test_metrics_need_the_bearer_token(server):
    async with server.http() as http:
        for headers in (
            {},
            {"authorization": "Bearer wrong-token"},
            {"authorization": f"Basic {TEST_METRICS_TOKEN}"},
            {"authorization": f"Bearer {TEST_METRICS_TOKEN}x"},
        ):
            response = await http.get("/metrics", headers=headers)
            assert response.status_code == 401 and response.json()["code"] == "unauthorized", headers
            assert "babelroom_connections" not in response.text


async def test_metrics_are_off_by_default(make_server):
    server = await make_server(server={"metrics_token": ""})  # the shipped default (config.toml)
    async with server.http() as http:
        for headers in ({}, {"authorization": "Bearer"}, {"authorization": f"Bearer {TEST_METRICS_TOKEN}"}):
            response = await http.get("/metrics", headers=headers)
            assert response.status_code == 404 and "metrics_token" in response.json()["message"]
            assert "babelroom_connections" not in response.text


def test_the_shipped_config_keeps_metrics_off():
    from chat.config import load_config

    assert load_config(environ={}).server.metrics_token == ""


def test_metrics_on_their_own_address_need_no_token_and_stay_off_the_public_port(tmp_path):
    """`[server] metrics_address`: a private listener with GET /metrics only, beside the public port."""
    import time
    import urllib.error
    import urllib.request

    from tests.nodes import NodeProcess, free_port

    metrics_port = free_port()
    node = NodeProcess("n1", tmp_path, env={"BABELROOM_SERVER_METRICS_ADDRESS": f"127.0.0.1:{metrics_port}"})
    node.start()
    try:
        private = f"http://127.0.0.1:{metrics_port}"

        def scrape_private() -> str | None:
            try:
                with urllib.request.urlopen(f"{private}/metrics", timeout=10) as response:
                    assert response.status == 200 and response.headers["content-type"].startswith("text/plain")
                    return response.read().decode()
            except urllib.error.URLError as exc:
                if isinstance(exc, urllib.error.HTTPError):
                    raise
                return None  # it listens a moment after the public port

        text = None
        for _ in range(600):
            text = scrape_private()
            if text is not None:
                break
            time.sleep(0.05)
        assert text is not None, "nothing listens on the metrics address"
        values = samples(text)
        assert values[("babelroom_connections", ())] == 0
        for url in (f"{private}/api/rooms", f"{private}/", f"{node.url}/metrics"):  # nothing else there; not public
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(url, timeout=10)
            assert refused.value.code == 404, url
    finally:
        node.stop()
