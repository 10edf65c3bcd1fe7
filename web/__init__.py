"""HTTP API routes and the static browser app.

Routes reach the running node through `web.typed.node_of(request)` (typed; chat/app.py, the
composition root, builds the node and mounts these routes) and ask the domain core (`rooms`) for
every rule. Of `chat`, only `chat.tokens` (who a token speaks for) and `chat.serving` (the name of
the transport's peer-address extension) are imported at run time, and the types of the node and its
services for the checker only (under `TYPE_CHECKING`); the stores' errors come from `rooms.stores`.
The dependency runs one way, with no cycle between modules (tests/rooms/test_layering.py checks both).
"""

from pathlib import Path

from web.api import api_routes
from web.embed import embed_routes
from web.hosts import host_routes
from web.meetings import meeting_routes
from web.openapi import openapi_routes
from web.people import people_routes
from web.transcript import transcript_routes

STATIC_DIR = Path(__file__).resolve().parent / "static"

__all__ = [
    "STATIC_DIR",
    "api_routes",
    "embed_routes",
    "host_routes",
    "meeting_routes",
    "openapi_routes",
    "people_routes",
    "transcript_routes",
]
