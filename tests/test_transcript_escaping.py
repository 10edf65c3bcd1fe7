"""Transcripts cannot be turned against the host who opens them (issue 20), on every backend: CSV
cells that start like a formula are quoted as OWASP recommends, and Markdown shows names and texts
as written (rendered with a CommonMark parser: no link, image, emphasis or HTML comes from them)."""

from __future__ import annotations

import csv
import io

from markdown_it import MarkdownIt

from rooms import Role

FORMULAS = [
    '=HYPERLINK("http://evil.example","click")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "\tleading tab",
    "\rcarriage return",
]
MARKUP = [
    "[click here](http://evil.example)",
    "![pixel](http://evil.example/p.png)",
    "<img src=x onerror=alert(1)>",
    "**bold** _italic_ `code`",
    "# heading\n1. list\n- item\n===",
    "&lt;b&gt; &copy; a|b ~~gone~~",
    "<http://evil.example>",
    "line one\n\n> quoted",
]


async def export(server, fmt: str) -> str:
    token = server.token("Hanna", Role.HOST)
    async with server.http() as http:
        response = await http.get(
            "/api/rooms/plenary/transcript",
            params={"lang": "en", "format": fmt},
            headers={"authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, response.text
    return response.text


async def test_csv_cells_that_start_like_a_formula_are_quoted(server):
    mallory = await server.client("=cmd|' /C calc'!A0", user_id="-u-mallory")
    await mallory.join("plenary")
    for text in [*FORMULAS, "plain text", "a = b"]:
        await mallory.say("plenary", text)
    rows = list(csv.DictReader(io.StringIO(await export(server, "csv"), newline="")))
    assert [row["original"] for row in rows] == [*("'" + text for text in FORMULAS), "plain text", "a = b"]
    for row in rows:
        assert row["sender"] == "'=cmd|' /C calc'!A0" and row["sender_id"] == "'-u-mallory"
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row.values()), row


async def test_markdown_shows_names_and_texts_as_written(server):
    mallory = await server.client("[Host](http://evil.example) **Admin**", user_id="u-mallory")
    await mallory.join("plenary")
    for text in MARKUP:
        await mallory.say("plenary", text)
    markdown = await export(server, "md")
    tokens = MarkdownIt("commonmark").enable("strikethrough").enable("table").parse(markdown)
    kinds = [child.type for token in tokens for child in (token.children or [])] + [token.type for token in tokens]
    assert not set(kinds) & {
        "link_open",
        "image",
        "html_inline",
        "html_block",
        "s_open",
        "table_open",
        "em_open",
        "ordered_list_open",
        "bullet_list_open",
        "hr",
    }, kinds
    # only the transcript's own layout: the title, each sender in bold, code spans for the room, its
    # language and each message's language
    assert kinds.count("heading_open") == 1 and kinds.count("strong_open") == len(MARKUP)
    assert kinds.count("code_inline") == len(MARKUP) + 2
    html = MarkdownIt("commonmark").render(markdown)
    assert "<a " not in html and "<img" not in html and "<script" not in html.lower()
    text = "".join(child.content for token in tokens for child in (token.children or []) if child.type == "text")
    for written in [
        "[Host](http://evil.example) **Admin**",
        "[click here](http://evil.example)",
        "<img src=x onerror=alert(1)>",
        "&lt;b&gt; &copy; a|b ~~gone~~",
        "# heading",
        "**bold**",
    ]:
        assert written in text, written  # shown as the person wrote it
