"""`babelroom delegates import|links|revoke`: the organisers' delegate list, through the running
server's HTTP API (POST /api/delegates...) with a short host token this command mints with the
server's key, so the list changes while the event runs whatever the backend (on sqlite the server
holds the database file; nothing here opens it)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from chat.config import Config
from rooms import Role

HOST_TOKEN_TTL = 300


def add_delegates_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "delegates",
        help="import the delegate list, write personal links, revoke",
        description="The organisers' delegate list, through the running server "
        "(--url; the same config and data directory as `serve`).",
    )
    parser.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help="config file")
    parser.add_argument("--url", help="the running server (default: http://[server] host:port)")
    actions = parser.add_subparsers(dest="delegates_action", required=True, metavar="ACTION")
    imports = actions.add_parser(
        "import",
        help="import a CSV registration export (idempotent)",
        description="Columns: name, organisation, country, reading language, e-mail or "
        "external id, role (optional). Every row is checked; when any is "
        "refused nothing is imported and the report says why.",
    )
    imports.add_argument("file", type=Path, help="the CSV file (UTF-8, a header row)")
    links = actions.add_parser(
        "links",
        help="write each delegate's personal sign-in link (CSV), and badge sheets (HTML, PDF)",
        description="Makes a new personal sign-in link for every delegate not revoked (single use, valid "
        "[auth] invite_ttl) and writes them as CSV: name, key, id, url, code. A badge carries the "
        "person's name in their own script, their organisation, and the QR code of their link with "
        "the code beneath it. Each run makes new links; the old ones stay valid until used or expired.",
    )
    links.add_argument("--base-url", help="the app's public address (default: --url)")
    links.add_argument("--out", type=Path, help="write the CSV here (default: stdout)")
    links.add_argument(
        "--badges",
        type=Path,
        metavar="FILE.html",
        help="also write the badges as a printable HTML page (the browser's fonts)",
    )
    links.add_argument(
        "--pdf",
        type=Path,
        metavar="FILE.pdf",
        help="also write the badges as an A4 PDF, eight a page (needs Debian's fonts-noto-core and fonts-noto-cjk)",
    )
    revoke = actions.add_parser("revoke", help="revoke a delegate: their links stop working, their sign-ins end")
    revoke.add_argument("delegate", help="the delegate's e-mail, external id or id")


def run_delegates(config: Config, args: argparse.Namespace) -> int:
    from chat.tokens import CannotMint, signer_from_settings

    url = (args.url or f"http://{config.server.host}:{config.server.port}").rstrip("/")
    signer = signer_from_settings(config.auth, config.server.data_dir, create_secret=False)
    try:
        token = signer.issue(
            name="babelroom delegates", role=Role.HOST, lang="en", ttl=HOST_TOKEN_TTL, user_id="cli-delegates"
        )
    except CannotMint as exc:
        print(f"babelroom: {exc}", file=sys.stderr)
        return 2
    if args.delegates_action == "import":
        return _import(url, token, args.file)
    if args.delegates_action == "links":
        return _links(url, token, args.base_url or url, args.out, args.badges, args.pdf)
    return _revoke(url, token, args.delegate)


def _call(url: str, token: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{url}{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, dict(json.loads(answer.read()))
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, dict(json.loads(exc.read()))
        except ValueError:
            return exc.code, {"message": f"the server answered {exc.code}"}


def _import(url: str, token: str, path: Path) -> int:
    try:
        with path.open(encoding="utf-8-sig", newline="") as file:
            rows = [{key: value for key, value in row.items() if key is not None} for row in csv.DictReader(file)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        print(f"babelroom: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    try:
        status, answer = _call(url, token, "/api/delegates", {"delegates": rows})
    except OSError as exc:
        print(f"babelroom: the server at {url} cannot be reached ({exc}); start it, or pass --url", file=sys.stderr)
        return 1
    for refused in answer.get("refused", []):  # rows counted from the first one after the header
        print(f"row {refused['row']}: {refused['reason']}", file=sys.stderr)
    if status != 200:
        print(f"babelroom: {answer.get('message', status)}", file=sys.stderr)
        return 1
    if not answer.get("imported"):
        print(f"babelroom: {len(answer['refused'])} rows refused; nothing was imported", file=sys.stderr)
        return 1
    print(f"{answer['created']} created, {answer['updated']} updated, {answer['unchanged']} unchanged")
    return 0


def _links(
    url: str, token: str, base_url: str, out: Path | None, badges: Path | None = None, pdf: Path | None = None
) -> int:
    try:
        status, answer = _call(url, token, "/api/delegates/links", {"base_url": base_url})
    except OSError as exc:
        print(f"babelroom: the server at {url} cannot be reached ({exc}); start it, or pass --url", file=sys.stderr)
        return 1
    if status != 200:
        print(f"babelroom: {answer.get('message', status)}", file=sys.stderr)
        return 1
    target = out.open("w", encoding="utf-8", newline="") if out else sys.stdout
    try:
        writer = csv.writer(target)
        writer.writerow(["name", "key", "id", "url", "code"])
        for link in answer["links"]:
            writer.writerow([link["name"], link["key"], link["id"], link["url"], link["code"]])
    finally:
        if out:
            target.close()
    from chat.badges import BadgeFontsMissing, badge_sheet_html, badge_sheet_pdf

    try:
        if badges:
            badges.write_text(badge_sheet_html(answer["links"]), encoding="utf-8")
        if pdf:
            pdf.write_bytes(badge_sheet_pdf(answer["links"]))
    except BadgeFontsMissing as exc:
        print(f"babelroom: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"babelroom: cannot write {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


def _revoke(url: str, token: str, who: str) -> int:
    try:
        status, answer = _call(url, token, "/api/delegates/revoke", {"delegate": who})
    except OSError as exc:
        print(f"babelroom: the server at {url} cannot be reached ({exc}); start it, or pass --url", file=sys.stderr)
        return 1
    if status != 200:
        print(f"babelroom: {answer.get('message', status)}", file=sys.stderr)
        return 1
    print(f"revoked {answer['name']} ({answer['id']}): {answer['ended']} sign-ins ended")
    return 0
