"""A room's record for its hosts: `GET /api/rooms/{room}/transcript?lang=&format=md|csv|json`.

Every stored message, oldest first, with its time, sender, original and the translation into
the chosen language where one is known. Deleted messages are left out; private conversations
are never exported. What people wrote cannot act in the file: CSV cells that start like a formula
are quoted (OWASP), Markdown is escaped so names and texts show as written.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response

from chat.tokens import Identity
from rooms import Refused
from rooms.policy import export_refusal
from rooms.stores import Broker, StoredMessage
from web.answers import RoomId
from web.errors import ApiError
from web.hosts import existing_room
from web.typed import ApiRoute, Auth, Query, answer, get, node_of

PAGE = 200  # messages read from the backend at a time
FORMATS = {
    "md": "text/markdown; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json; charset=utf-8",
}
#: Most translations one transcript request makes (batched per source language through the
#: translation service); they are stored like live ones, so asking again goes on from there.
TRANSLATE_MAX = 500
COLUMNS = ["time", "id", "sender_id", "sender", "lang", "original", "translation_lang", "translation"]


async def all_messages(broker: Broker, room_id: str) -> list[StoredMessage]:
    """The room's whole stored history, oldest first, read page by page."""
    pages: list[list[StoredMessage]] = []
    before: str | None = None
    while True:
        page = await broker.history(room_id, before=before, limit=PAGE)
        if not page:
            break
        pages.append(page)
        if len(page) < PAGE:
            break
        before = page[0].id
    return [message for page in reversed(pages) for message in page]


async def with_translations(node: Any, messages: list[StoredMessage], lang: str) -> tuple[list[StoredMessage], int]:
    """The messages, those lacking lang translated into it (at most TRANSLATE_MAX, oldest first)
    and the translations stored in history; and how many could still be made by asking again
    (beyond the bound): a transcript never silently lacks what can be made."""
    translator = node.translator
    lacking = [
        m
        for m in messages
        if not m.deleted and m.lang != lang and lang not in m.tr and translator.has_route(m.lang, lang)
    ]
    missing = lacking[:TRANSLATE_MAX]
    by_source: dict[str, list[StoredMessage]] = defaultdict(list)
    for message in missing:
        by_source[message.lang].append(message)
    made: dict[str, str] = {}
    for source, group in by_source.items():
        scored = await translator.translate_many_scored([m.text for m in group], source, lang)
        for message, translated in zip(group, scored, strict=True):
            if translated is not None:
                made[message.id] = translated.text
                await node.stores.broker.add_translation(
                    message.room, message.id, lang, translated.text, confidence=translated.confidence
                )
    return (
        [msgspec.structs.replace(m, tr={**m.tr, lang: made[m.id]}) if m.id in made else m for m in messages],
        len(lacking) - len(made),
    )


def entry(message: StoredMessage, lang: str) -> dict[str, str]:
    ts = datetime.fromtimestamp(message.ts / 1000, tz=UTC)
    translation = message.text if message.lang == lang else message.tr.get(lang, "")
    return {
        "time": ts.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "id": message.id,
        "sender_id": message.user.id,
        "sender": message.user.name,
        "lang": message.lang,
        "original": message.text,
        "translation_lang": lang if translation else "",
        "translation": translation,
    }


# Cells a spreadsheet would read as a formula (or a DDE call) start with one of these: OWASP's
# advice against CSV injection is to prefix such a cell with a single quote, which spreadsheets
# show as text and do not evaluate.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Markdown: characters that make markup anywhere (emphasis, code, links and images, raw HTML and
# entities, tables, strikethrough, headings, math in some renderers) are backslash-escaped, which
# CommonMark allows for every ASCII punctuation character; those that make markup only at the start
# of a line (list items, numbered lists, setext underlines) are escaped there.
MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]{}<>&|~#+=^$!])")
MARKDOWN_LINE_START = re.compile(r"^(\s*)(-|\d+(?=[.)]))")


def csv_cell(value: str) -> str:
    """A cell as OWASP recommends against formula injection: quoted when it starts like a formula."""
    return "'" + value if value.startswith(FORMULA_START) else value


def markdown_text(text: str) -> str:
    """Text that Markdown shows as written: no markup, link, image or HTML can come from it."""
    lines = []
    for line in MARKDOWN_INLINE.sub(r"\\\1", text).split("\n"):
        start = MARKDOWN_LINE_START.match(line)
        if start:
            marker = r"\-" if start.group(2) == "-" else start.group(2) + "\\"  # "-" or the digits before . or )
            line = line[: start.end(1)] + marker + line[start.end() :]
        lines.append(line)
    return "\n".join(lines)


def as_csv(entries: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows({key: csv_cell(value) for key, value in entry.items()} for entry in entries)
    return out.getvalue()


def as_markdown(room: dict[str, Any], lang: str, entries: list[dict[str, str]]) -> str:
    lines = [
        f"# {markdown_text(room['title'])}",
        "",
        f"Room `{room['id']}` · translations into `{lang}` · {len(entries)} messages",
        "",
    ]
    for e in entries:
        sender = markdown_text(" ".join(e["sender"].split()))  # a name is one line
        lines.append(f"**{sender}** · {e['time']} · `{e['lang']}`  ")
        lines.append(quote(markdown_text(e["original"])))
        if e["translation"] and e["lang"] != lang:
            lines.append(">")
            lines.append(quote(f"_{lang}:_ {markdown_text(e['translation'])}"))
        lines.append("")
    return "\n".join(lines)


def quote(text: str) -> str:
    return "\n".join(f"> {line}" for line in text.splitlines() or [""])


class TranscriptQuery(Query):
    lang: Annotated[
        str, Meta(description="translations into (default: the token's): a code GET /api/languages lists")
    ] = ""
    format: Annotated[Literal["md", "csv", "json"], Meta(extra={"says": '"format" must be md, csv or json'})] = "json"


async def transcript(request: Request, host: Identity, query: TranscriptQuery) -> Response:
    room = await existing_room(request)
    node = node_of(request)
    refusal = export_refusal(room)
    if refusal:
        raise Refused(*refusal)
    lang = query.lang or host.lang
    if lang not in node.translator.reading_languages():
        raise ApiError(400, "bad_request", f"unknown language {lang!r}; GET /api/languages lists the choices", "lang")
    kind = query.format
    messages, untranslated = await with_translations(node, await all_messages(node.stores.broker, room.id), lang)
    entries = [entry(m, lang) for m in messages if not m.deleted]
    info = {"id": room.id, "title": room.title, "forum": room.forum}
    if kind == "json":
        document: dict[str, Any] = {"room": info, "lang": lang, "messages": entries}
        if untranslated:  # beyond this request's bound (or failed): asking again makes more
            document["untranslated"] = untranslated
        body = json.dumps(document, ensure_ascii=False, indent=1)
    elif kind == "csv":
        body = as_csv(entries)
    else:
        body = as_markdown(info, lang, entries)
    filename = f"{room.id}-transcript-{lang}.{kind}"
    headers = {"content-disposition": f'attachment; filename="{filename}"'}
    if untranslated:  # every format: lines whose translation another request can still make
        headers["x-babelroom-untranslated"] = str(untranslated)
    return Response(body, media_type=FORMATS[kind], headers=headers)


TRANSCRIPT_JSON = {
    "type": "object",
    "required": ["room", "lang", "messages"],
    "properties": {
        "room": {"type": "object"},
        "lang": {"type": "string"},
        "messages": {"type": "array"},
        "untranslated": {
            "type": "integer",
            "minimum": 1,
            "description": "lines whose translation this request did not "
            f"make (at most {TRANSLATE_MAX} are made per request): ask again",
        },
    },
}


def transcript_routes() -> list[ApiRoute]:
    return [
        get(
            "/api/rooms/{room}/transcript",
            transcript,
            auth=Auth.HOST,
            query=TranscriptQuery,
            path_params={"room": RoomId},
            operation="transcript",
            summary="A room's messages with translations, as a download (hosts)",
            ok={
                200: answer(
                    "the transcript, oldest first, as an attachment",
                    content={
                        "application/json": {"schema": TRANSCRIPT_JSON},
                        "text/markdown": {"schema": {"type": "string"}},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                )
            },
            errors={
                400: "an unknown lang, or a format other than md, csv or json (field names it)",
                403: "the token is not a host's, or the room is a private conversation",
                404: "there is no such room",
            },
        )
    ]
