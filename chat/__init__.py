"""The hub: app factory, WebSocket sessions, protocol codec, fan-out, CLI and the backends."""

from chat.app import create_app
from chat.config import Config, ConfigError, load_config

__all__ = ["Config", "ConfigError", "create_app", "load_config"]
