"""docs/architecture.md and DEVELOPERS.md name files and functions: every one must exist, so the
docs cannot drift from the code again unnoticed (issue 22).

What is checked, in backticks:
- a path (`chat/session.py`, `lua/send.lua`, `redis/` ...): a file or folder of the repository, from
  its root, or the end of one (the docs shorten `chat/backend/redis/subscriber.py` to
  `redis/subscriber.py` where the paragraph is about Redis);
- a path followed by a name (`chat/session.py` `Session.serve`): the name is defined in that file,
  a function or class at its top level, or a method or attribute of that class;
- a dotted name from a package (`web.typed.node_of`): importable, attribute by attribute;
- `Class.member` (`Hub.on_event`, `Broker.append_message`): a class of that name in the code
  defines that member; `node.member` (`node.roles`): chat/node.py's Node does.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ("docs/architecture.md", "DEVELOPERS.md")
PACKAGES = ("chat", "rooms", "web", "translation", "tests", "benchmarks")
FILE_SUFFIXES = (".py", ".lua", ".md", ".json", ".js", ".html", ".toml", ".css", ".sh", ".yaml", ".conf")
OUTPUTS = {"test-artifacts/", "data/"}  # folders the tests and the server write, not in the repository
CODE = re.compile(r"`([^`\n]+)`")
CLASS_MEMBER = re.compile(r"^([A-Z][A-Za-z0-9]*)\.([A-Za-z_][A-Za-z0-9_]*)(?:\(.*\))?$")
DOTTED = re.compile(r"^((?:[a-z_][a-z0-9_]*\.)+[A-Za-z_][A-Za-z0-9_]*)(?:\(.*\))?$")
NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)(?:\(.*\))?$")


@cache
def repository_files() -> tuple[str, ...]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return tuple(path for path in listed.splitlines() if (ROOT / path).exists())


def is_path(token: str) -> bool:
    return (
        not token.startswith(("/", "http"))
        and " " not in token
        and (token.endswith(FILE_SUFFIXES) or (token.endswith("/") and token.count("/") >= 1))
    )


def path_exists(token: str) -> bool:
    token = token.rstrip("/") if token.endswith("/") else token
    if "<" in token:  # `web/static/i18n/<code>.json`: a placeholder stands for any name
        pattern = re.sub(r"<[^>]+>", "*", token)
        return any(
            fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(path, "*/" + pattern) for path in repository_files()
        )
    if (ROOT / token).exists():
        return True
    return any(path == token or path.endswith("/" + token) or f"/{token}/" in f"/{path}" for path in repository_files())


def resolve(token: str) -> Path | None:
    """The one file a (possibly shortened) path names, for the name after it."""
    if (ROOT / token).is_file():
        return ROOT / token
    matches = [path for path in repository_files() if path.endswith("/" + token)]
    return ROOT / matches[0] if len(matches) == 1 else None


@cache
def definitions(path: Path) -> dict[str, set[str]]:
    """Top-level names of a Python file -> the members each class defines ({} for functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names[node.name] = set()
        elif isinstance(node, ast.ClassDef):
            names[node.name] = members(node)
        elif isinstance(node, ast.Assign):
            names.update({target.id: set() for target in node.targets if isinstance(target, ast.Name)})
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = set()
    return names


def members(cls: ast.ClassDef) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(cls):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found.add(node.target.id)
        elif isinstance(node, ast.Assign):
            found.update(target.id for target in node.targets if isinstance(target, ast.Name))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            found.add(node.attr)  # instance attributes set in methods
    return found


@cache
def classes() -> dict[str, set[str]]:
    """Every class of the code by name -> the members of all classes of that name."""
    index: dict[str, set[str]] = {}
    for path in repository_files():
        if path.endswith(".py") and path.split("/")[0] in PACKAGES:
            for name, defined in definitions(ROOT / path).items():
                index.setdefault(name, set()).update(defined)
    return index


def defined_in(path: Path, name: str) -> bool:
    if path.suffix != ".py":
        return True  # a name after a Lua or JSON file is not checked
    top, _, member = name.partition(".")
    names = definitions(path)
    if not member and top not in names:  # `translation/service.py` `detect`: a method of its class
        return any(top in defined for defined in names.values())
    return top in names and (not member or member in names[top])


def importable(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(value, attribute):
                return False
            value = getattr(value, attribute)
        return True
    return False


def problems(doc: str, text: str) -> list[str]:
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)  # command examples, not names
    found: list[str] = []
    tokens = list(CODE.finditer(text))
    checked_after_path = -1
    for index, match in enumerate(tokens):
        token = match.group(1).strip()
        if index == checked_after_path:
            continue
        if token in OUTPUTS:
            continue
        if is_path(token):
            if not path_exists(token):
                found.append(f"{doc}: no file {token}")
                continue
            after = tokens[index + 1] if index + 1 < len(tokens) else None
            # "`chat/session.py` `Session.serve`": the name right after the path is defined there
            if after is not None and text[match.end() : after.start()].strip() in ("", ":"):
                name = NAME.match(after.group(1).strip())
                target = resolve(token)
                if name and target is not None and not is_path(after.group(1)):
                    checked_after_path = index + 1
                    if not defined_in(target, name.group(1)):
                        found.append(f"{doc}: {token} defines no {name.group(1)}")
        elif (dotted := DOTTED.match(token)) and dotted.group(1).split(".")[0] in PACKAGES:
            if not importable(dotted.group(1)):
                found.append(f"{doc}: cannot import {dotted.group(1)}")
        elif token.startswith("node.") and NAME.match(token):  # `node.roles`: what chat/node.py builds
            if token.split(".")[1].split("(")[0] not in classes()["Node"]:
                found.append(f"{doc}: the node has no {token}")
        elif member := CLASS_MEMBER.match(token):
            cls, attribute = member.groups()
            if cls in classes() and attribute not in classes()[cls]:
                found.append(f"{doc}: class {cls} has no {attribute}")
            elif cls not in classes():
                found.append(f"{doc}: no class {cls}")
    return found


@pytest.mark.parametrize("doc", DOCS)
def test_every_file_and_function_the_docs_name_exists(doc: str) -> None:
    assert problems(doc, (ROOT / doc).read_text(encoding="utf-8")) == []


def test_the_life_of_a_message_takes_at_most_six_files() -> None:
    """Each numbered step of "The life of a message" names the file it happens in first, and the
    steps name no other file: six files to read, the rest named by class and method."""
    text = (ROOT / "docs/architecture.md").read_text(encoding="utf-8")
    section = text.split("## The life of a message", 1)[1].split("\n## ", 1)[0]
    steps = re.findall(r"^\d+\. \*\*[^*]+\*\* `([^`]+)`", section, flags=re.MULTILINE)
    assert steps, "no numbered steps that start with their file"
    assert all(path_exists(step) for step in steps), steps
    assert len(set(steps)) <= 6, steps
    numbered = section[section.index("1. **") :].split("\n\n", 1)[0]
    named = {token for token in CODE.findall(numbered) if is_path(token)}
    assert named == set(steps), f"the steps also name {sorted(named - set(steps))}"


def test_the_check_catches_a_name_that_is_gone() -> None:
    """The checker itself: a missing file, method, module attribute or class member fails."""
    text = (
        "`chat/nowhere.py`, `chat/session.py` `Session.no_such`, `web.typed.no_such`, `Hub.no_such`, "
        "`node.no_such`, and the real `chat/hub.py` `Hub.on_event`, `redis/shards.py`, "
        "`web.typed.node_of(request)`."
    )
    assert problems("drift.md", text) == [
        "drift.md: no file chat/nowhere.py",
        "drift.md: chat/session.py defines no Session.no_such",
        "drift.md: cannot import web.typed.no_such",
        "drift.md: class Hub has no no_such",
        "drift.md: the node has no node.no_such",
    ]
