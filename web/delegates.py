"""The organisers' delegate list (hosts, Bearer token): import the registration export, list it,
make each delegate's personal sign-in link, revoke a delegate. `babelroom delegates` uses these,
so the list can change while the event's server runs (on sqlite the server holds the file).

    POST /api/delegates           {csv: "the file"} or {delegates: [{name, organisation, country, reading language,
                                   e-mail | external id, role?}]} -> {imported, created, updated,
                                   unchanged, refused}: with any row refused, imported is false and
                                   nothing is saved
    GET  /api/delegates           the list
    POST /api/delegates/links     {base_url?} -> each delegate's personal link (a single-use code)
    POST /api/delegates/revoke    {delegate: id, e-mail or external id} -> their sign-ins end at once
"""
from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from rooms import Refused
from web.api import answers_errors
from web.errors import ApiError, json_body
from web.hosts import require_host
from web.services import node_of, refusal_error

IMPORT_MAX_BYTES = 4 * 1024 * 1024  # a registration export of some ten thousand people
ROWS_MAX = 20000


@answers_errors
async def import_delegates(request: Request) -> Response:
    require_host(request)
    node = node_of(request)
    data = await json_body(request, max_bytes=IMPORT_MAX_BYTES)
    rows = data.get("delegates")
    if rows is None and isinstance(data.get("csv"), str):  # the host panel sends the file as it is
        try:
            rows = [{key: value for key, value in row.items() if key is not None}
                    for row in csv.DictReader(io.StringIO(data["csv"].lstrip("\ufeff")))]
        except csv.Error as exc:
            raise ApiError(400, "bad_request", f"\"csv\" is not CSV: {exc}", "csv") from None
    if not isinstance(rows, list) or len(rows) > ROWS_MAX or not all(
            isinstance(row, dict) and all(isinstance(k, str) and isinstance(v, str | None) for k, v in row.items())
            for row in rows):
        raise ApiError(400, "bad_request", f"\"delegates\" must be a list of at most {ROWS_MAX} rows, each an "
                       "object of column -> text", "delegates")
    report = await node.delegates.import_rows(rows, node.translator.reading_languages())
    # a report either way: with a refused row, `imported` is false and nothing was saved
    return JSONResponse({"imported": not report.refused, **report.summary()})


@answers_errors
async def list_delegates(request: Request) -> Response:
    require_host(request)
    return JSONResponse({"delegates": [d.to_dict() for d in await node_of(request).delegates.everyone()]})


@answers_errors
async def delegate_links(request: Request) -> Response:
    require_host(request)
    node = node_of(request)
    data = await json_body(request)
    base = data.get("base_url", str(request.base_url))
    parts = urlsplit(base) if isinstance(base, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ApiError(400, "bad_request", "\"base_url\" must be the app's public address, such as "
                       "https://chat.example.org/", "base_url")
    links: list[dict[str, Any]] = []
    for delegate in await node.delegates.everyone():
        if delegate.revoked:
            continue
        made = await node.delegates.link_code(delegate)
        links.append({"id": delegate.id, "key": delegate.key, "name": delegate.name,
                      "organization": delegate.organization, "code": made.code,
                      "url": f"{base.rstrip('/')}/#code={made.code}", "expires": made.expires})
    return JSONResponse({"links": links})


@answers_errors
async def revoke_delegate(request: Request) -> Response:
    require_host(request)
    data = await json_body(request)
    wanted = data.get("delegate")
    if not isinstance(wanted, str) or not wanted.strip():
        raise ApiError(400, "bad_request", "\"delegate\" must be the id, e-mail or external id", "delegate")
    try:
        delegate, ended = await node_of(request).delegates.revoke(wanted)
    except Refused as refusal:
        raise refusal_error(refusal) from None
    return JSONResponse({"id": delegate.id, "name": delegate.name, "revoked": True, "ended": ended})


def delegate_routes() -> list[BaseRoute]:
    return [
        Route("/api/delegates", import_delegates, methods=["POST"]),
        Route("/api/delegates", list_delegates, methods=["GET"]),
        Route("/api/delegates/links", delegate_links, methods=["POST"]),
        Route("/api/delegates/revoke", revoke_delegate, methods=["POST"]),
    ]
