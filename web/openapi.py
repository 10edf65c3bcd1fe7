"""The OpenAPI 3.1 description of the HTTP API, served at /api/openapi.json.

Generated from the typed routes (web/typed.py): each route's auth, path parameters, body or query
Struct and answers, with the schemas msgspec makes of those types (`msgspec.json.schema_components`),
as chat/frames.py generates the WebSocket schema. Only what depends on the running server is filled
in when served: the reading languages, and the text patterns (slow to make: on first use).
tests/test_openapi.py checks every route is described and schemathesis checks the server against it.
"""

from __future__ import annotations

import copy
import functools
import types
from typing import Any, Union, get_args, get_origin

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route

from rooms.text import char_kind_ranges
from web import typed
from web.api import api_routes
from web.delegates import delegate_routes
from web.embed import embed_routes
from web.hosts import host_routes
from web.me import me_routes
from web.meetings import meeting_routes
from web.people import people_routes
from web.transcript import transcript_routes
from web.typed import ApiRoute, Auth, Error, Operation, node_of

REF_TEMPLATE = "#/components/schemas/{name}"
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
BAD_BODY = "the body is not a JSON object, or a field is missing, malformed or unknown (the message names it)"
AUTH_ANSWERS = {
    Auth.BEARER: {401: "no Bearer token, or a bad, forged or expired one"},
    Auth.LIVE: {401: "no Bearer token, a bad, forged or expired one, or its sign-in has ended"},
    Auth.HOST: {401: "no Bearer token, or a bad, forged or expired one", 403: "the token is not a host's"},
}


def json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def error(description: str) -> dict[str, Any]:
    return {"description": description, **json_content({"$ref": REF_TEMPLATE.format(name="Error")})}


def body_members(kind: Any) -> tuple[Any, ...]:
    return get_args(kind) if get_origin(kind) in (Union, types.UnionType) else (kind,)


def document_of(routes: list[ApiRoute]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The paths and component schemas of these routes, from their declarations."""
    specs = [route.spec for route in routes]
    wanted: list[Any] = [Error]  # every type that becomes a schema, in one msgspec call (one set of components)
    for spec in specs:
        if spec.body is not None:
            wanted.extend(body_members(spec.body))
        wanted.extend(
            answer.schema
            for answer in spec.ok.values()
            if answer.schema is not None and not isinstance(answer.schema, dict)
        )
    wanted.extend(kind for spec in specs for kind in spec.path_params.values())
    queries = [spec.query for spec in specs if spec.query is not None]
    wanted.extend(queries)
    unique = list(dict.fromkeys(wanted))
    schemas, components = msgspec.json.schema_components(unique, ref_template=REF_TEMPLATE)
    schema_of = dict(zip(unique, schemas, strict=True))
    query_fields = {query: components.pop(query.__name__) for query in queries}  # parameters, not components
    paths: dict[str, Any] = {}
    for spec in specs:
        paths.setdefault(spec.path.replace(":path}", "}"), {})[spec.method.lower()] = operation_of(
            spec, schema_of, query_fields
        )
    for name, schema in components.items():
        schema.pop("title", None)  # the component's name says it
        if name == "Error":
            schema.pop("additionalProperties", None)
    return paths, components


def operation_of(spec: Operation, schema_of: dict[Any, Any], query_fields: dict[Any, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": spec.operation, "summary": spec.summary}
    if spec.description:
        operation["description"] = spec.description
    if spec.auth is not Auth.NONE:
        operation["security"] = BEARER
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": schema_of[kind]}
        for name, kind in spec.path_params.items()
    ]
    if spec.query is not None:
        fields = query_fields[spec.query]
        for name, schema in fields["properties"].items():
            parameters.append({"name": name, "in": "query", "schema": schema})
    if parameters:
        operation["parameters"] = parameters
    if spec.body is not None:
        members = [schema_of[kind] for kind in body_members(spec.body)]
        schema = members[0] if len(members) == 1 else {"anyOf": members}
        operation["requestBody"] = {"required": not spec.body_optional, **json_content(schema)}
    responses: dict[str, Any] = {}
    for status, said in spec.ok.items():
        if said.content is not None:
            responses[str(status)] = {"description": said.description, "content": dict(said.content)}
        elif said.schema is None:
            responses[str(status)] = {"description": said.description}
        else:
            schema = said.schema if isinstance(said.schema, dict) else schema_of[said.schema]
            responses[str(status)] = {"description": said.description, "content": {said.media: {"schema": schema}}}
    refusals: dict[int, str] = {}
    if spec.body is not None:
        refusals[400] = BAD_BODY
        refusals[413] = f"the body is larger than {spec.max_body} bytes"
    refusals.update(AUTH_ANSWERS.get(spec.auth, {}))
    refusals.update(spec.errors)
    for status, description in sorted(refusals.items()):
        responses[str(status)] = error(description)
    operation["responses"] = responses
    return operation


@functools.cache
def char_ranges() -> dict[str, list[list[int]]]:
    """Every code point by its kind (rooms.text.char_kind), as ranges: the patterns below are made of them."""
    return char_kind_ranges()


@functools.cache
def text_pattern(*, optional: bool = False, multiline: bool = False) -> str:
    """A text as rooms.text.text_fault accepts it: white space, then a visible character, then anything but
    refused characters (control, format, invisible...; char_kind). `optional`: white space alone too;
    `multiline`: newlines too."""
    ranges = char_ranges()

    def chars(*kinds: str, newline: bool = False) -> str:
        # Literal characters, not escapes: Python's and ECMA-262's regex escapes for code points differ.
        pairs = sorted(pair for kind in kinds for pair in ranges[kind])
        if newline:  # "\n" (a control character: refused) is allowed: out of the class
            pairs = [
                part
                for low, high in pairs
                for part in ([low, min(high, 9)], [max(low, 11), high])
                if part[0] <= part[1]
            ]
        return "".join(f"{chr(a)}-{chr(b)}" if a != b else chr(a) for a, b in pairs)

    space = chars("space") + ("\n" if multiline else "")
    shown = f"[{space}]*[^{chars('refused', 'selector', 'mark', 'space')}][^{chars('refused', newline=multiline)}]*"
    return f"^(?:[{space}]*|{shown})$" if optional else f"^{shown}$"


@functools.cache
def name_pattern() -> str:
    return text_pattern()


def served_document(languages: list[str]) -> dict[str, Any]:
    """DOCUMENT as this server serves it: its reading languages, and the text patterns of names and profiles."""
    document = copy.deepcopy(DOCUMENT)
    session = document["components"]["schemas"]["SessionRequest"]["properties"]
    session["name"]["pattern"] = name_pattern()
    session["organization"]["anyOf"][0]["pattern"] = text_pattern(optional=True)
    session["bio"]["anyOf"][0]["pattern"] = text_pattern(optional=True, multiline=True)
    session["lang"]["enum"] = languages
    for path in ("/api/people", "/api/rooms/{room}/transcript", "/api/reports/inbox", "/api/rooms"):
        for parameter in document["paths"][path]["get"]["parameters"]:
            if parameter["name"] == "lang":  # empty: no filter (people, rooms), the token's (transcript, inbox)
                parameter["schema"]["enum"] = ["", *languages]
    return document


async def openapi(request: Request) -> Response:
    return JSONResponse(served_document(node_of(request).translator.reading_languages()))


async def unknown_api_path(request: Request) -> Response:
    """JSON for /api paths no route serves: 405 with Allow when the path exists for other methods."""
    allowed = sorted(
        {
            method
            for route in request.app.router.routes
            if isinstance(route, Route) and route.matches(request.scope)[0] is Match.PARTIAL
            for method in route.methods or ()
        }
    )
    if allowed:
        return JSONResponse(
            {"code": "method_not_allowed", "message": f"{request.url.path} answers " + ", ".join(allowed)},
            status_code=405,
            headers={"allow": ", ".join(allowed)},
        )
    return JSONResponse(
        {"code": "not_found", "message": f"no API route {request.url.path}; GET /api/openapi.json lists them"},
        status_code=404,
    )


def openapi_routes() -> list[BaseRoute]:
    """The document, then JSON answers for every other /api path (after the API's own routes)."""
    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return [
        typed.get(
            "/api/openapi.json",
            openapi,
            operation="openapi",
            summary="This document",
            ok={200: typed.answer("OpenAPI 3.1", {"type": "object"})},
        ),
        Route("/api/{rest:path}", unknown_api_path, methods=methods),
    ]


def typed_routes() -> list[ApiRoute]:
    """Every typed route of the app, in the app's order (chat/app.py mounts the same lists)."""
    listed = (
        api_routes(),
        me_routes(),
        delegate_routes(),
        host_routes(),
        people_routes(),
        meeting_routes(),
        transcript_routes(),
        openapi_routes(),
        embed_routes(),
    )
    return [route for routes in listed for route in routes if isinstance(route, ApiRoute)]


PATHS, SCHEMAS = document_of(typed_routes())
DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "babelroom HTTP API",
        "version": "1",
        "description": "Sessions, rooms, languages, the host room API, health and metrics. Chat itself runs over "
        "the WebSocket at /ws: see docs/protocol.md. Errors are {code, message}.",
    },
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "a host's token (a moderator's for the moderation log)",
            }
        },
    },
}
