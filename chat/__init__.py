"""The hub: app factory, WebSocket sessions, protocol codec, fan-out, CLI and the backends."""

from typing import TYPE_CHECKING

from chat.config import Config, ConfigError, load_config

if TYPE_CHECKING:
    from chat.app import create_app

__all__ = ["Config", "ConfigError", "create_app", "load_config"]


def __getattr__(name: str) -> object:
    """`chat.create_app` imported on first use: every `chat.*` module imports this package first, and
    the app (Starlette, uvicorn, every route, the backends: ~0.7 s of CPU) is not what `babelroom
    token`, `languages` or `delegates` need."""
    if name == "create_app":
        from chat.app import create_app

        return create_app
    raise AttributeError(f"module 'chat' has no attribute {name!r}")
