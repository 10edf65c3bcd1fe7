"""Dependencies run one way: the core and the store interfaces import no edge, transport or backend."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("chat", "web", "starlette", "uvicorn", "websockets", "redis")


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


@pytest.mark.parametrize("path", sorted((ROOT / "rooms").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_core_imports_no_edge_and_no_backend(path):
    bad = sorted(module for module in imported_modules(path) if module.split(".")[0] in FORBIDDEN)
    assert bad == [], f"{path.relative_to(ROOT)} imports {bad}"


def test_backends_do_not_reach_into_the_edges():
    for path in (ROOT / "chat" / "backend").rglob("*.py"):
        bad = sorted(module for module in imported_modules(path)
                     if module.startswith(("chat.session", "chat.hub", "chat.node", "chat.app", "web")))
        assert bad == [], f"{path.relative_to(ROOT)} imports {bad}"
