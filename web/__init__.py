"""HTTP API routes and the static browser app.

Routes reach the running node through `request.app.state.node`; this package never imports `chat`
at run time, so the dependency runs one way (chat builds the app and mounts these routes).
"""
from pathlib import Path

from web.api import api_routes
from web.hosts import host_routes

STATIC_DIR = Path(__file__).resolve().parent / "static"

__all__ = ["STATIC_DIR", "api_routes", "host_routes"]
