"""Dependencies run one way: the core and the store interfaces import no edge, transport or backend."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("chat", "web", "starlette", "uvicorn", "websockets", "redis")


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
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
        bad = sorted(
            module
            for module in imported_modules(path)
            if module.startswith(("chat.session", "chat.hub", "chat.node", "chat.app", "web"))
        )
        assert bad == [], f"{path.relative_to(ROOT)} imports {bad}"


def run_time_imports(path: Path) -> set[str]:
    """The absolute imports a module runs: its top level, without the `if TYPE_CHECKING:` blocks."""
    modules: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Import):
                modules.update(alias.name for alias in inner.names)
            elif isinstance(inner, ast.ImportFrom) and inner.module and inner.level == 0:
                modules.add(inner.module)
    return modules


def test_web_runs_only_the_leaves_of_chat():
    """What web/__init__.py promises: of `chat`, web runs only chat.tokens and chat.serving."""
    for path in (ROOT / "web").rglob("*.py"):
        bad = sorted(
            module
            for module in run_time_imports(path)
            if module.split(".")[0] == "chat" and module not in ("chat.tokens", "chat.serving")
        )
        assert bad == [], f"{path.relative_to(ROOT)} imports {bad} at run time"


def import_time_nodes(tree: ast.Module) -> list[ast.AST]:
    """The nodes a module runs when imported: not function bodies, not `if TYPE_CHECKING:` blocks."""
    found: list[ast.AST] = []
    waiting: list[ast.AST] = list(tree.body)
    while waiting:
        node = waiting.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            waiting.extend(node.orelse)
            continue
        found.append(node)
        waiting.extend(ast.iter_child_nodes(node))
    return found


def project_imports(path: Path, known: set[str], *, import_time: bool = False) -> set[str]:
    """Project modules a file imports, for running or for the type checker alike (`import_time`:
    only those it imports when it is imported)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    modules: set[str] = set()
    for node in import_time_nodes(tree) if import_time else ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            for alias in node.names:  # `from package import module` needs the module, not the package
                modules.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return modules


PACKAGES = ("chat", "rooms", "translation", "web")


def project_files() -> dict[str, Path]:
    return {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
        for top in PACKAGES
        for p in (ROOT / top).rglob("*.py")
    }


def test_no_import_cycles():
    """Not even through `if TYPE_CHECKING:` imports: a cycle there is still two modules that need each other."""
    files = project_files()
    graph = {
        name: {m for m in project_imports(path, set(files)) if m in files and m != name} for name, path in files.items()
    }
    assert_acyclic(graph)


def ancestors(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:n]) for n in range(1, len(parts))]


def test_no_import_cycle_through_a_package():
    """Importing `a.b.c` runs `a/__init__.py` and `a/b/__init__.py` first, so a module that imports a
    submodule of a package whose `__init__` (in turn) imports it back is a cycle Python meets at import
    time, whichever module comes first: `chat/__init__.py` importing chat.app, which imports `web`,
    whose routes import chat.serving, broke `import web` before `import chat`. Run-time imports only
    (a `TYPE_CHECKING` one runs under the checker, never at import)."""
    files = project_files()
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        targets = {m for m in project_imports(path, set(files), import_time=True) if m in files and m != name}
        mine = {name, *ancestors(name)}  # a package's own __init__ is already running: not an edge
        graph[name] = targets | {p for m in targets for p in ancestors(m) if p in files and p not in mine}
    assert_acyclic(graph)


@pytest.mark.parametrize("package", PACKAGES)
def test_any_package_imports_first(package):
    """What the graph above promises, asked of Python itself: each package imported first, alone."""
    done = subprocess.run(
        [sys.executable, "-c", f"import {package}"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def assert_acyclic(graph: dict[str, set[str]]) -> None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycle = [*path[path.index(target) :], target] if target in path else [name, target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, [*path, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
