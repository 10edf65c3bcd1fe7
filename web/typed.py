"""Typed HTTP routes: each route declares who may call it, its input (a body or a query, as a msgspec
Struct) and its answers; requests are decoded here, in one place, and web/openapi.py generates the
OpenAPI document from the same declarations (as chat/frames.py generates the WebSocket schema).

    post("/api/rooms", open_room, auth=Auth.HOST, body=NewRoom, ok={201: answer("the room", Room)},
         errors={409: "a room with this id exists; PATCH it"}, operation="openRoom", summary="Open a room")

The handler is called as `handler(request, [identity,] [input])`: the identity when the route needs a
token (`auth`), the decoded Struct when it declares a `body` or a `query`. A bad body or query is
ApiError 400 naming the field, in the words of the Struct's `Meta(extra={"says": ...})` where a field
has them; a rule's refusal (`rooms.Refused`) and ApiError become responses in the app factory
(`error_handlers`), so no handler catches them.
"""

from __future__ import annotations

import enum
import functools
import inspect
import math
import re
import types
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Union, cast, get_args, get_origin

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chat.tokens import Identity, TokenError
from rooms import Refused
from rooms.policy import organises
from web.errors import MAX_BODY, ApiError, json_object, read_body, refusal_error
from web.listed import SCOPE_KEY, Listed

if TYPE_CHECKING:  # the type only: web never runs chat's node at import time
    from chat.node import Node

Handler = Callable[..., Awaitable[Response]]


def node_of(request: Request) -> Node:
    """The node serving this request (chat/app.py, the composition root, puts it on `app.state`;
    handlers take it here, never through the untyped attribute)."""
    return cast("Node", request.app.state.node)


class Auth(enum.Enum):
    """Who may call a route: anyone, any valid token, a token whose sign-in is live, or a host's token."""

    NONE = "none"
    BEARER = "bearer"
    LIVE = "live"
    HOST = "host"


class Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A request body; unknown fields are refused (400 naming the field)."""


class LaxBody(msgspec.Struct, kw_only=True):
    """A request body whose unknown fields are ignored (as clients of that route have always sent them)."""


class Query(msgspec.Struct, kw_only=True):
    """A request's query parameters: strings converted to the field's type; unknown ones ignored."""


class StrictQuery(Query, forbid_unknown_fields=True):
    """A query whose unknown parameters are refused (400 naming the parameter)."""


class Error(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Every refusal's body (ApiError.response writes it)."""

    code: Annotated[str, msgspec.Meta(examples=["bad_request"])]
    message: Annotated[str, msgspec.Meta(description="what went wrong and what to do")]
    field: Annotated[str, msgspec.Meta(description="the field or parameter at fault, when one is")] = ""
    retry_after: (
        Annotated[
            int,
            msgspec.Meta(
                ge=0,
                description="when the refusal passes by itself (a wait, a cooldown, a timed mute): in how many "
                "seconds; also the Retry-After header",
            ),
        ]
        | None
    ) = None


@dataclass(frozen=True)
class Answer:
    """One documented answer: what it means, and its body (a msgspec type, a literal JSON schema, or none);
    `content`: the whole OpenAPI content map, for an answer in several media types."""

    description: str
    schema: Any = None
    media: str = "application/json"
    content: Mapping[str, Any] | None = None


def answer(
    description: str, schema: Any = None, media: str = "application/json", *, content: Mapping[str, Any] | None = None
) -> Answer:
    return Answer(description, schema, media, content)


@dataclass(frozen=True)
class Operation:
    """What the OpenAPI document says of one route (web/openapi.py), beside what the route does."""

    method: str
    path: str
    operation: str
    summary: str
    auth: Auth
    body: Any  # a Struct type, a union of Struct types, or None
    query: type[Query] | None
    ok: Mapping[int, Answer]
    errors: Mapping[int, str]
    description: str | None = None
    path_params: Mapping[str, Any] = field(default_factory=dict)  # name -> a msgspec type (its schema)
    body_optional: bool = False
    max_body: int = MAX_BODY


class ApiRoute(Route):
    """A Starlette route that authenticates, decodes its input, and keeps its `Operation` for the document."""

    def __init__(self, spec: Operation, handler: Handler) -> None:
        self.spec = spec
        expected = 1 + (spec.auth is not Auth.NONE) + (spec.body is not None or spec.query is not None)
        assert len(inspect.signature(handler).parameters) == expected, (
            f"{handler.__name__} must take (request, [identity,] [input]) for {spec.method} {spec.path}"
        )

        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            args: list[Any] = [request]
            if spec.auth is not Auth.NONE:
                args.append(await authenticated(request, spec.auth))
            if spec.body is not None:
                args.append(await decode_body(request, spec.body, max_bytes=spec.max_body, optional=spec.body_optional))
            elif spec.query is not None:
                args.append(decode_query(request, spec.query))
            return await handler(*args)

        super().__init__(spec.path, endpoint, methods=[spec.method])


def route(
    method: str,
    path: str,
    handler: Handler,
    *,
    operation: str,
    summary: str,
    auth: Auth = Auth.NONE,
    body: Any = None,
    query: type[Query] | None = None,
    ok: Mapping[int, Answer] | None = None,
    errors: Mapping[int, str] | None = None,
    description: str | None = None,
    path_params: Mapping[str, Any] | None = None,
    body_optional: bool = False,
    max_body: int = MAX_BODY,
) -> ApiRoute:
    spec = Operation(
        method=method,
        path=path,
        operation=operation,
        summary=summary,
        auth=auth,
        body=body,
        query=query,
        ok=ok or {},
        errors=errors or {},
        description=description,
        path_params=path_params or {},
        body_optional=body_optional,
        max_body=max_body,
    )
    return ApiRoute(spec, handler)


def get(path: str, handler: Handler, **declared: Any) -> ApiRoute:
    return route("GET", path, handler, **declared)


def post(path: str, handler: Handler, **declared: Any) -> ApiRoute:
    return route("POST", path, handler, **declared)


def put(path: str, handler: Handler, **declared: Any) -> ApiRoute:
    return route("PUT", path, handler, **declared)


def patch(path: str, handler: Handler, **declared: Any) -> ApiRoute:
    return route("PATCH", path, handler, **declared)


def delete(path: str, handler: Handler, **declared: Any) -> ApiRoute:
    return route("DELETE", path, handler, **declared)


# who is calling ------------------------------------------------------------------------------------
def bearer_identity(request: Request) -> Identity:
    """The identity of the request's Bearer token, or ApiError 401."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "unauthorized", "send the host token as 'Authorization: Bearer <token>'")
    try:
        identity = node_of(request).signer.verify(token.strip())
    except TokenError as exc:  # its message says what is wrong
        raise ApiError(401, "unauthorized", str(exc)) from None
    listed: Listed | None = request.scope.get(SCOPE_KEY)  # the person as the delegate list knows them (issue 23)
    if listed is None or listed[0] != token.strip():
        return identity
    found = listed[1]
    if isinstance(found, Refused):
        raise ApiError(401, "unauthorized", found.message)
    if not isinstance(found, Identity):
        raise ApiError(
            503, "unavailable", "the server cannot reach its backend right now; retry in a few seconds", retry_after=2
        )
    return found


async def authenticated(request: Request, auth: Auth) -> Identity:
    identity = bearer_identity(request)
    if auth is Auth.HOST and not organises(identity.role):
        raise ApiError(403, "forbidden", "only hosts may do this; ask a host for a host token")
    if (
        auth is Auth.LIVE
        and identity.session
        and not await node_of(request).sign_ins.live(identity.session, identity.id)
    ):
        raise ApiError(401, "unauthorized", "this sign-in has ended (signed out); sign in again")
    return identity


# decoding -----------------------------------------------------------------------------------------
async def decode_body(request: Request, kind: Any, *, max_bytes: int = MAX_BODY, optional: bool = False) -> Any:
    """The body as `kind` (a Struct type, or a union of them: see `chosen`), or ApiError 400/408/413.

    `optional`: an empty body is the Struct with its defaults."""
    raw = await read_body(request, max_bytes)
    if optional and not raw.strip():
        return msgspec.convert({}, chosen(kind, {}))
    data = json_object(raw)
    struct = chosen(kind, data)
    try:
        return msgspec.convert(whole_numbers(data), struct)
    except msgspec.ValidationError as exc:
        raise refusal_of(exc, struct, where="field") from None


def decode_query(request: Request, kind: type[Query]) -> Any:
    """The query parameters as `kind` (each converted from its text to the field's type), or ApiError 400."""
    try:
        return msgspec.convert(dict(request.query_params), kind, strict=False)
    except msgspec.ValidationError as exc:
        raise refusal_of(exc, kind, where="parameter") from None


def chosen(kind: Any, data: Mapping[str, Any]) -> type[msgspec.Struct]:
    """The Struct a body is decoded as. For a union (a body of two shapes, such as a name or a sign-in
    code), the first member one of whose required fields the body holds, else the last member."""
    if get_origin(kind) not in (Union, types.UnionType):
        return kind  # type: ignore[no-any-return]
    members: tuple[type[msgspec.Struct], ...] = get_args(kind)
    for member in members:
        if any(name in data for name in required_fields(member)):
            return member
    return members[-1]


def whole_numbers(value: Any) -> Any:
    """JSON's 600.0 is the whole number 600 (as JSON Schema's "integer" says): floats with no fraction
    become ints, so integer fields take them (float fields take ints anyway)."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [whole_numbers(item) for item in value]
    return value


@functools.cache
def fields_of(kind: type[msgspec.Struct]) -> dict[str, msgspec.inspect.Field]:
    info = msgspec.inspect.type_info(kind)
    assert isinstance(info, msgspec.inspect.StructType)
    return {item.encode_name: item for item in info.fields}


def field_names(kind: type[msgspec.Struct]) -> list[str]:
    return list(fields_of(kind))


def required_fields(kind: type[msgspec.Struct]) -> list[str]:
    return [name for name, item in fields_of(kind).items() if item.required]


def says(item: msgspec.inspect.Field) -> str | None:
    """A field's own refusal message: `Meta(extra={"says": ...})` on its type ({field}: the field's name)."""
    kind = item.type
    while isinstance(kind, msgspec.inspect.UnionType):  # `X | None`: the X
        kind = next(t for t in kind.types if not isinstance(t, msgspec.inspect.NoneType))
    if isinstance(kind, msgspec.inspect.Metadata):
        said = (kind.extra or {}).get("says")
        return str(said) if said else None
    return None


UNKNOWN = re.compile(r"Object contains unknown field `(?P<name>[^`]+)`")
MISSING = re.compile(r"Object missing required field `(?P<name>[^`]+)`")
AT_FIELD = re.compile(r" - at `\$\.(?P<name>[A-Za-z_][A-Za-z0-9_]*)")
AT_MOST = re.compile(r"of length <= (?P<max>\d+)")


def refusal_of(exc: msgspec.ValidationError, kind: type[msgspec.Struct], *, where: str) -> ApiError:
    """A decoding failure in today's words: which field (or parameter), and what it must be."""
    text = str(exc)
    unknown = UNKNOWN.match(text)
    if unknown:
        name = unknown["name"]
        allowed = field_names(kind)
        listed = ", ".join(sorted(allowed) if where == "field" else allowed)
        return ApiError(400, "bad_request", f"unknown {where} {name!r}; allowed: {listed}", name)
    found = MISSING.match(text) or AT_FIELD.search(text)
    if not found:
        return ApiError(400, "bad_request", f"the body is not valid: {text}")
    name = found["name"]
    item = fields_of(kind).get(name)
    message = says(item) if item is not None else None
    if message is not None:
        message = message.replace("{field}", name)  # one type for many fields: '"{field}" must be an id'
    if message is None:
        at_most = AT_MOST.search(text)
        if at_most and "`str`" in text:
            message = f'"{name}" holds at most {at_most["max"]} characters'
        elif "`str`" in text or MISSING.match(text):
            message = f'"{name}" must be a non-empty string'
        else:
            message = f'"{name}" is not valid: {AT_FIELD.sub("", text)}'
    return ApiError(400, "bad_request", message, name)


# answering ------------------------------------------------------------------------------------------
def reply(value: Any, status_code: int = 200) -> Response:
    """A JSON answer encoded by msgspec (Structs, dicts and lists alike)."""
    return Response(msgspec.json.encode(value), status_code=status_code, media_type="application/json")


async def api_error(request: Request, exc: Exception) -> Response:
    """The app's handler of ApiError: its JSON body (no traceback is logged: the client's mistake)."""
    assert isinstance(exc, ApiError)
    return exc.response()


async def refused(request: Request, exc: Exception) -> Response:
    """The app's handler of a rule's refusal that reached it: the HTTP status that says the same."""
    assert isinstance(exc, Refused)
    return refusal_error(exc).response()


#: for create_app: every refusal answered in one place
error_handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {ApiError: api_error, Refused: refused}
