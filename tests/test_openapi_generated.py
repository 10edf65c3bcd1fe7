"""The OpenAPI document is generated from the typed routes (web/typed.py), and served as generated."""
from __future__ import annotations

import json

import msgspec
from starlette.routing import Mount, Route

from chat.app import create_app
from tests.conftest import test_config as config_for
from web.openapi import DOCUMENT, served_document, typed_routes
from web.typed import ApiRoute, Body


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
    untyped = [route.path for route in app.routes
               if isinstance(route, Route) and not isinstance(route, ApiRoute) and route.path != "/api/{rest:path}"]
    assert untyped == []
    assert all(isinstance(route, Mount) for route in app.routes if not isinstance(route, Route))


def test_each_body_schema_is_its_struct_schema():
    """A route's request body in the document is what msgspec makes of the Struct the route decodes."""
    components = DOCUMENT["components"]["schemas"]
    bodies = {member for route in typed_routes() if route.spec.body is not None
              for member in getattr(route.spec.body, "__args__", (route.spec.body,))}
    assert bodies and all(issubclass(kind, msgspec.Struct) for kind in bodies)
    for kind in bodies:
        (_, generated) = msgspec.json.schema_components([kind], ref_template="#/components/schemas/{name}")
        expected = {key: value for key, value in generated[kind.__name__].items() if key != "title"}
        assert components[kind.__name__] == expected, kind.__name__
        assert (expected.get("additionalProperties") is False) == issubclass(kind, Body), kind.__name__


async def test_an_unknown_body_field_is_refused_naming_it(server):
    async with server.http() as http:
        answer = await http.patch("/api/me", json={"hidden": True, "colour": "red"},
                                  headers={"authorization": f"Bearer {server.token('Ada')}"})
    assert answer.status_code == 400
    assert answer.json() == {"code": "bad_request", "message": "unknown field 'colour'; allowed: hidden",
                             "field": "colour"}
