"""The `babelroom` command: serve, token, delegates, languages."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import gc
import logging
import socket
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from chat.config import Config, ConfigError, listen_address, load_config
from rooms import Role

if TYPE_CHECKING:  # imported when serving only: `token` and `languages` start faster without them
    import uvicorn

    from chat.node import Node
    from chat.serving import ListeningServer

DESCRIPTION = """\
babelroom: real-time multilingual chat rooms with offline, per-reader translation.

Configuration comes from config.toml (the bundled one unless --config is given);
any key can be overridden by an environment variable BABELROOM_<SECTION>_<KEY>,
for example BABELROOM_SERVER_PORT=9000 or BABELROOM_BACKEND_KIND=redis.
The default backend keeps everything in data/babelroom.sqlite3.
"""

EPILOG = """\
examples:
  babelroom serve                                   # http://127.0.0.1:8000, sqlite file in data/
  BABELROOM_BACKEND_KIND=redis babelroom serve --port 8001
  babelroom token --role host --name "Ada"          # a host token for the browser app
  babelroom delegates import delegates.csv          # the delegate list, into the running server
  babelroom delegates links --out links.csv         # each delegate's personal sign-in link
  babelroom delegates links --out links.csv --pdf badges.pdf   # and a printable badge sheet
  babelroom languages install en_de.argosmodel      # add a translation package
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="babelroom", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", metavar="FILE", help="config file (default: the bundled config.toml)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve", help="run the chat server", description="Run the chat server (Starlette under uvicorn)."
    )
    serve.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help="config file")
    serve.add_argument("--host", help="interface to listen on (default: [server] host, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="TCP port (default: [server] port, 8000; 0 = any free port)")
    serve.add_argument(
        "--new-database",
        action="store_true",
        help="sqlite: make an existing empty file a new database (a missing file is always "
        "created; an empty one is refused without this, as it may be a lost one)",
    )

    token = commands.add_parser(
        "token",
        help="print a signed token for a host, moderator or delegate",
        description="Print one signed token on stdout, signed with the server's secret "
        "(the same config and data directory as `serve`).",
    )
    token.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help="config file")
    token.add_argument("--role", required=True, choices=[role.value for role in Role])
    token.add_argument("--name", required=True, help="display name, 1-40 characters")
    token.add_argument("--lang", default="en", help="reading language (default: en)")
    token.add_argument("--ttl", type=int, default=None, help="seconds the token is valid (default: [auth] token_ttl)")
    token.add_argument(
        "--user-id",
        help="a stable user id (default: a new random one); a delegate's external id or "
        "e-mail makes it that delegate of the imported list",
    )
    token.add_argument(
        "--email",
        default="",
        help="the `email` claim: finds the delegate of the imported list with that e-mail (as a website's token would)",
    )
    token.add_argument(
        "--rooms", default="", help="moderators only: comma-separated rooms they moderate (default: every room)"
    )
    token.add_argument("--organization", default="", help="profile: organisation shown in the directory")
    token.add_argument("--country", default="", help="profile: ISO 3166-1 alpha-2 country code, e.g. FI")
    token.add_argument("--bio", default="", help="profile: a short introduction (at most 280 characters)")

    worker = commands.add_parser(
        "translate-worker",
        help='translate queued messages ([translation] mode = "workers")',
        description="Read translation jobs from Redis (the nodes' [backend] redis_url) through a consumer group, "
        "translate them in batches with this machine's engines, and store and publish each "
        "translation. Run any number, on any machine.",
    )
    worker.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help="config file")
    worker.add_argument("--name", help="this worker's consumer name (default: <host>-<pid>)")
    worker.add_argument(
        "--pairs",
        default="",
        help="comma-separated pairs to serve, e.g. en-es,es-en (default: every pair the engines serve)",
    )

    from chat.delegates_cli import add_delegates_parser
    from translation.cli import add_languages_parser

    add_delegates_parser(commands)
    add_languages_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # before the config is read, so its warnings (a misspelt BABELROOM_* variable) look like any other
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"babelroom: configuration error: {exc}", file=sys.stderr)
        return 2
    logging.getLogger().setLevel(config.server.log_level.upper())
    try:
        if args.command == "serve":
            from chat.backend import StoreError

            if args.new_database:
                config = config.replace("backend", create=True)
            try:
                return serve(config, args.host, args.port)
            except StoreError as exc:  # corrupt, newer, locked or unreadable: never a silent fresh start
                print(f"babelroom: database error: {exc}", file=sys.stderr)
                return 2
            except OSError as exc:  # what the system refused at start (a directory, a file): one line, not a traceback
                print(f"babelroom: cannot start: {exc}", file=sys.stderr)
                return 2
        if args.command == "token":
            return print_token(config, args)
        if args.command == "delegates":
            from chat.delegates_cli import run_delegates

            return run_delegates(config, args)
        if args.command == "translate-worker":
            from chat.translation_tier import run_worker

            return run_worker(config, args.name, tuple(pair for pair in args.pairs.split(",") if pair))
    except ConfigError as exc:
        print(f"babelroom: configuration error: {exc}", file=sys.stderr)
        return 2
    handler: Callable[..., int] = args.languages_handler  # set by translation.cli.add_languages_parser
    return handler(args, config.translation)


def serve(config: Config, host: str | None, port: int | None) -> int:
    import uvicorn

    from chat.app import create_app, create_metrics_app
    from chat.node import Node
    from chat.serving import ListeningServer, uvicorn_config

    if port is not None and not 0 <= port <= 65535:
        raise ConfigError(f"--port must be 0-65535, got {port}")
    changes = {key: value for key, value in (("host", host), ("port", port)) if value is not None}
    config = config.replace("server", **changes) if changes else config
    # Before anything starts: uvicorn finds a taken port only after the node and its models have loaded,
    # and then logs it among a dozen lines and exits 1.
    listen_problem = cannot_listen(config.server.host, config.server.port)
    metrics_at = (
        listen_address(config.server.metrics_address, "server.metrics_address")
        if config.server.metrics_address
        else None
    )
    if metrics_at and not listen_problem:
        listen_problem = cannot_listen(*metrics_at, what="[server] metrics_address")
    if listen_problem:
        print(f"babelroom: cannot start: {listen_problem}", file=sys.stderr)
        return 2
    # Built first: bad [auth] keys (ConfigError) stop the start before any package download is tried;
    # the engines load the packages only when the node starts, so what is installed below is served.
    node = Node(config)
    app = create_app(config, node=node, node_started=True)
    settings = config.translation
    if settings.enabled and (settings.event_languages or settings.install):
        from translation.autoinstall import install_for_event

        logging.basicConfig(level=config.server.log_level.upper(), format="%(levelname)s:     %(message)s")
        install_for_event(settings, progress=sys.stderr.isatty())
    uv_config = uvicorn_config(app, config)
    server = ListeningServer(uv_config)
    metrics = None
    if metrics_at:
        metrics = uvicorn.Server(
            uvicorn.Config(
                create_metrics_app(node),
                host=metrics_at[0],
                port=metrics_at[1],
                lifespan="off",
                access_log=False,
                log_level=config.server.log_level,
            )
        )
    loop_factory = uv_config.get_loop_factory()  # uvloop when installed, as uvicorn.run would choose
    try:
        with contextlib.suppress(KeyboardInterrupt), asyncio.Runner(loop_factory=loop_factory) as runner:
            return runner.run(_serve_node(node, server, metrics))
    except SystemExit:  # uvicorn could not listen after all (a port taken since the check): it logged why
        return 2
    return 0  # interrupted (Ctrl-C) before the server was up


async def _serve_node(node: Node, server: ListeningServer, metrics: uvicorn.Server | None = None) -> int:
    """Start the node, then serve; the app's lifespan closes the node when the server stops (before
    uvicorn re-raises a SIGTERM it caught). `metrics` (the metrics address) starts once the server
    listens: each server catches the signals while it runs and passes them on to the one before it,
    so a SIGTERM stops the metrics server, then the chat server."""
    from chat.backend import BackendUnavailable, StoreError

    try:
        await node.start()  # here, not in the lifespan, where uvicorn would log a failure as a traceback
    except (BackendUnavailable, StoreError) as exc:
        with contextlib.suppress(Exception):  # what did start is let go; the reason is the line below
            await node.close()
        print(f"babelroom: cannot start: {exc}", file=sys.stderr)
        return 2
    # What the node holds for its whole life (modules, config, the detector's model: one of its
    # lists has ~10^5 items) is never garbage; frozen, the collector stops walking it every few
    # hundred allocations: ~35k instructions of the ~950k a message costs its node (issue 27).
    gc.freeze()
    if metrics is None:
        await server.serve()
        return 0 if server.started else 3  # 3: uvicorn's "could not start"
    serving = asyncio.create_task(server.serve())
    started_up = asyncio.create_task(server.started_up.wait())
    await asyncio.wait({serving, started_up}, return_when=asyncio.FIRST_COMPLETED)
    started_up.cancel()
    scraped = asyncio.create_task(metrics.serve()) if server.started else None
    try:
        await serving
    finally:
        if scraped is not None:
            metrics.should_exit = True
            await scraped
    return 0 if server.started else 3


def cannot_listen(host: str, port: int, what: str = "--port, [server] port") -> str | None:
    """Why the server could not listen on host:port (in use, not allowed, no such address), or None.

    Binds as asyncio's server will (SO_REUSEADDR, IPv6 sockets v6-only) and lets go at once."""
    if port == 0:
        return None
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        addresses = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"cannot listen on {where}: {exc.strerror} ([server] host, --host)"
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                why = "another program is listening there" if exc.errno == errno.EADDRINUSE else exc.strerror
                return f"cannot listen on {where}: {why}; stop it or choose another port ({what})"
    return None


def print_token(config: Config, args: argparse.Namespace) -> int:
    from chat.tokens import CannotMint, signer_from_settings
    from rooms.conversations import profile_complaint
    from rooms.text import USER_ID_MAX
    from translation import primary_subtag

    name = args.name.strip()
    if not 1 <= len(name) <= 40:
        print("babelroom: --name must be 1-40 characters", file=sys.stderr)
        return 2
    ttl = args.ttl if args.ttl is not None else config.auth.token_ttl
    if ttl <= 0:
        print("babelroom: --ttl must be a positive number of seconds", file=sys.stderr)
        return 2
    rooms = tuple(room.strip() for room in args.rooms.split(",") if room.strip())
    email = args.email.strip()
    if email and ("@" not in email or len(email) > USER_ID_MAX):
        print(f"babelroom: --email must be an e-mail address of at most {USER_ID_MAX} characters", file=sys.stderr)
        return 2
    profile = {
        "organization": args.organization.strip(),
        "country": args.country.strip().upper(),
        "bio": args.bio.strip(),
    }
    complaint = profile_complaint(**profile)
    if complaint:
        print(f"babelroom: {complaint}", file=sys.stderr)
        return 2
    signer = signer_from_settings(config.auth, config.server.data_dir, create_secret=False)
    try:
        token = signer.issue(
            name=name,
            role=Role(args.role),
            lang=primary_subtag(args.lang),
            ttl=ttl,
            user_id=args.user_id,
            rooms=rooms,
            email=email,
            **profile,
        )
    except CannotMint as exc:
        print(f"babelroom: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
