"""Text rules every edge applies: client strings are Unicode scalar values (encodable as UTF-8).

JSON lets a client send a lone surrogate (`"\\ud800"`); such a string cannot be written to a
socket, Redis or a file as UTF-8. Edges refuse it, naming the field, before anything is stored.
"""
from __future__ import annotations

import re
from typing import Any

SURROGATE = re.compile("[\ud800-\udfff]")


def is_scalar_text(value: str) -> bool:
    """True when every code point is a Unicode scalar value (no surrogates)."""
    return SURROGATE.search(value) is None


def unencodable_field(data: Any) -> str | None:
    """The path of the first string (or key) in a JSON value that is not scalar text, or None.

    A top-level value is named by its key, a nested one `key.inner` or `key[index]`. Iterative:
    a deeply nested body cannot exhaust the stack.
    """
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if not is_scalar_text(value):
                return path or "(value)"
        elif isinstance(value, dict):
            for key, inner in reversed(list(value.items())):
                name = f"{path}.{key}" if path else str(key)
                if not is_scalar_text(str(key)):
                    return SURROGATE.sub("\ufffd", name)
                stack.append((name, inner))
        elif isinstance(value, list):
            stack.extend((f"{path}[{index}]", inner) for index, inner in reversed(list(enumerate(value))))
    return None
