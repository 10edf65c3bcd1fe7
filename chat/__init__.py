"""The hub: app factory (chat.app), WebSocket sessions, protocol codec, fan-out, CLI and the backends.

Imports nothing: `web` runs `chat.tokens` and `chat.serving`, and importing them must not build
the app (chat.app imports `web`), so any package can be imported first without a cycle
(tests/rooms/test_layering.py `test_any_package_imports_first`).
"""
