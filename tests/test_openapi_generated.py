"""The OpenAPI document is generated from the typed routes (web/typed.py), and served as generated."""

from __future__ import annotations

import json

import msgspec
import pytest
from starlette.routing import Mount, Route

from chat.app import create_app
from rooms import Role
from tests.conftest import test_config as config_for
from tests.log_recorder import LogRecorder
from web.openapi import DOCUMENT, served_document, typed_routes
from web.typed import ApiRoute, Body


@pytest.fixture
def node_log():
    recorder = LogRecorder().install()
    yield recorder
    recorder.uninstall()


async def test_the_served_document_is_the_generated_one(server):
    async with server.http() as http:
        served = (await http.get("/api/openapi.json")).json()
    languages = server.node.translator.reading_languages()
    assert served == json.loads(json.dumps(served_document(languages)))
    # only the server's languages and the text patterns are filled in when serving
    assert served["paths"].keys() == DOCUMENT["paths"].keys()
    assert served["components"]["schemas"].keys() == DOCUMENT["components"]["schemas"].keys()


def test_every_http_route_but_the_fallback_is_typed(tmp_path):
    app = create_app(config_for(tmp_path))
    untyped = [
        route.path
        for route in app.routes
        if isinstance(route, Route) and not isinstance(route, ApiRoute) and route.path != "/api/{rest:path}"
    ]
    assert untyped == []
    assert all(isinstance(route, Mount) for route in app.routes if not isinstance(route, Route))


def test_each_body_schema_is_its_struct_schema():
    """A route's request body in the document is what msgspec makes of the Struct the route decodes."""
    components = DOCUMENT["components"]["schemas"]
    bodies = {
        member
        for route in typed_routes()
        if route.spec.body is not None
        for member in getattr(route.spec.body, "__args__", (route.spec.body,))
    }
    assert bodies and all(issubclass(kind, msgspec.Struct) for kind in bodies)
    for kind in bodies:
        (_, generated) = msgspec.json.schema_components([kind], ref_template="#/components/schemas/{name}")
        expected = {key: value for key, value in generated[kind.__name__].items() if key != "title"}
        assert components[kind.__name__] == expected, kind.__name__
        assert (expected.get("additionalProperties") is False) == issubclass(kind, Body), kind.__name__


async def test_an_unknown_body_field_is_refused_naming_it(server):
    async with server.http() as http:
        answer = await http.patch(
            "/api/me",
            json={"hidden": True, "colour": "red"},
            headers={"authorization": f"Bearer {server.token('Ada')}"},
        )
    assert answer.status_code == 400
    assert answer.json() == {
        "code": "bad_request",
        "message": "unknown field 'colour'; allowed: hidden",
        "field": "colour",
    }


async def test_bad_bodies_on_every_route_are_refused_without_a_traceback(server, node_log):
    """Malformed and mistyped bodies on every route with a body: never a 5xx or a traceback in the log (a
    client's mistake); an unknown field, where the body's Struct forbids them, is a 400 naming it."""
    headers = {"authorization": f"Bearer {server.token('Hanna', Role.HOST)}", "content-type": "application/json"}
    routes = [route for route in typed_routes() if route.spec.body is not None]
    assert routes
    async with server.http() as http:
        for route in routes:
            path = route.spec.path.replace("{room}", "plenary").replace("{meeting}", "m-0").replace("{user}", "u")
            for body in (b"[]", b"{", b"{}", b'{"slots": 7, "name": [], "terms": {}, "csv": 1, "delegate": 2}'):
                answer = await http.request(route.spec.method, path, content=body, headers=headers)
                assert answer.status_code < 500, (route.spec.method, path, body, answer.text)
                assert answer.status_code < 300 or {"code", "message"} <= answer.json().keys()
            for kind in getattr(route.spec.body, "__args__", (route.spec.body,)):
                if issubclass(kind, Body):
                    unknown = await http.request(route.spec.method, path, json={"zz_unknown": 1}, headers=headers)
                    assert unknown.status_code == 400 and unknown.json()["field"] == "zz_unknown", path
    assert node_log.tracebacks() == []
