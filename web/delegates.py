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
from typing import Annotated, Any
from urllib.parse import urlsplit

import msgspec
from msgspec import UNSET, Meta, UnsetType
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from chat.tokens import Identity
from web.errors import ApiError
from web.typed import ApiRoute, Auth, LaxBody, answer, get, node_of, post, reply

BASE_URL_SAY = '"base_url" must be the app\'s public address, such as https://chat.example.org/'
IMPORT_MAX_BYTES = 4 * 1024 * 1024  # a registration export of some ten thousand people
ROWS_MAX = 20000
ROWS_SAY = f'"delegates" must be a list of at most {ROWS_MAX} rows, each an object of column -> text'


class DelegateCsv(LaxBody):
    csv: Annotated[str, Meta(description="the export as a CSV file with a header row")]


class DelegateRows(LaxBody):
    # no maxItems in the schema: a list that long is near the 4 MiB a body may be (ROWS_MAX is checked)
    delegates: Annotated[
        list[dict[str, str | None]],
        Meta(
            description=(
                "rows of the registration export: name, "
                "organisation, country, reading language, e-mail or external id, "
                "role?"
            ),
            extra={"says": ROWS_SAY},
        ),
    ]


class RefusedRow(msgspec.Struct):
    row: Annotated[int, Meta(description="1 = the first row")]
    reason: str


class DelegateImport(msgspec.Struct):
    imported: Annotated[bool, Meta(description="false: a row was refused, nothing saved")]
    created: int
    updated: int
    unchanged: int
    refused: list[RefusedRow]


async def import_delegates(request: Request, host: Identity, body: DelegateCsv | DelegateRows) -> Response:
    node = node_of(request)
    rows: list[dict[str, Any]]  # column -> text, or None for a column a short CSV row lacks
    if isinstance(body, DelegateRows):
        rows = list(body.delegates)
    else:  # the host panel sends the file as it is
        try:
            rows = [
                {key: value for key, value in row.items() if key is not None}
                for row in csv.DictReader(io.StringIO(body.csv.lstrip("\ufeff")))
            ]
        except csv.Error as exc:
            raise ApiError(400, "bad_request", f'"csv" is not CSV: {exc}', "csv") from None
    if len(rows) > ROWS_MAX:
        raise ApiError(400, "bad_request", ROWS_SAY, "delegates")
    report = await node.delegates.import_rows(rows, node.translator.reading_languages())
    # a report either way: with a refused row, `imported` is false and nothing was saved
    return JSONResponse({"imported": not report.refused, **report.summary()})


class Delegates(msgspec.Struct):
    delegates: Annotated[list[dict[str, Any]], Meta(description="by name")]


async def list_delegates(request: Request, host: Identity) -> Response:
    return JSONResponse({"delegates": [d.to_dict() for d in await node_of(request).delegates.everyone()]})


class DelegateLinks(LaxBody):
    base_url: (
        Annotated[
            str,
            Meta(
                extra_json_schema={"pattern": r"^https?://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~/-]*)?$"},
                description="the app's public address (default: this request's)",
                extra={"says": BASE_URL_SAY},
            ),
        ]
        | None
    ) = None


class Link(msgspec.Struct, omit_defaults=True):
    id: str
    key: str
    name: str
    code: str
    url: str
    expires: int
    organization: str | UnsetType = UNSET


class Links(msgspec.Struct):
    links: list[Link]


async def delegate_links(request: Request, host: Identity, body: DelegateLinks) -> Response:
    node = node_of(request)
    base = body.base_url if body.base_url is not None else str(request.base_url)
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ApiError(400, "bad_request", BASE_URL_SAY, "base_url")
    links: list[dict[str, Any]] = []
    for delegate in await node.delegates.everyone():
        if delegate.revoked:
            continue
        made = await node.delegates.link_code(delegate)
        links.append(
            {
                "id": delegate.id,
                "key": delegate.key,
                "name": delegate.name,
                "organization": delegate.organization,
                "code": made.code,
                "url": f"{base.rstrip('/')}/#code={made.code}",
                "expires": made.expires,
            }
        )
    return JSONResponse({"links": links})


class DelegateRevoke(LaxBody):
    delegate: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=200,
            pattern=r"\S",
            description=("the id, e-mail or external id"),
            extra={"says": '"delegate" must be the id, e-mail or external id'},
        ),
    ]


class Revoked(msgspec.Struct):
    id: str
    name: str
    revoked: bool
    ended: int


async def revoke_delegate(request: Request, host: Identity, body: DelegateRevoke) -> Response:
    delegate, ended = await node_of(request).delegates.revoke(body.delegate)
    return reply(Revoked(delegate.id, delegate.name, True, ended))


def delegate_routes() -> list[ApiRoute]:
    return [
        post(
            "/api/delegates",
            import_delegates,
            auth=Auth.HOST,
            body=DelegateCsv | DelegateRows,
            max_body=IMPORT_MAX_BYTES,
            operation="importDelegates",
            summary="Import the delegate list (hosts; idempotent: the e-mail or external id keeps a person the same)",
            ok={
                200: answer(
                    "the report: how many rows were created, updated or unchanged, or, when any row is "
                    "refused (each with its reason), imported: false and nothing saved",
                    DelegateImport,
                )
            },
            errors={413: "the body is larger than 4 MiB"},
        ),
        get(
            "/api/delegates",
            list_delegates,
            auth=Auth.HOST,
            operation="listDelegates",
            summary="The delegate list (hosts)",
            ok={200: answer("the delegates, by name", Delegates)},
        ),
        post(
            "/api/delegates/links",
            delegate_links,
            auth=Auth.HOST,
            body=DelegateLinks,
            operation="delegateLinks",
            summary="Each delegate's personal sign-in link (hosts): a single-use code, valid [auth] invite_ttl",
            ok={200: answer("the links", Links)},
        ),
        post(
            "/api/delegates/revoke",
            revoke_delegate,
            auth=Auth.HOST,
            body=DelegateRevoke,
            operation="revokeDelegate",
            summary="Revoke a delegate (hosts): their links stop working and their sign-ins end at once, on every node",
            ok={200: answer("revoked", Revoked)},
            errors={404: "no such delegate on the list"},
        ),
    ]
