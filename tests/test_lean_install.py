"""Serving needs no torch, stanza or spacy: a fresh virtualenv with only the serve install
(babelroom, then argostranslate without its dependencies, as the README says) starts and
translates with the test packages, and the install prints no error.

The venv is real and built once per session from the repository's files (pip uses its cache
or the configured indexes); the packages are built by the test environment, which has torch.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.client import Client
from tests.conftest import TEST_SECRET
from tests.nodes import free_port, pid_listens_on, port_taken_said

REPO = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "config.toml", "chat", "rooms", "translation", "web")
HEAVY = ("torch", "stanza", "spacy", "transformers")
INSTALL_TIMEOUT = 900
# one worker builds the venv once under pytest-xdist (`make test`), not one venv per worker
pytestmark = pytest.mark.xdist_group("lean-install")
ENGLISH = "Good morning everyone. When does the next session begin?"


def argostranslate_requirement() -> str:
    """The pin the Makefile installs with --no-deps (one place for it)."""
    for line in (REPO / "Makefile").read_text().splitlines():
        if line.startswith("ARGOSTRANSLATE :="):
            return line.split(":=", 1)[1].strip()
    raise AssertionError("the Makefile names no ARGOSTRANSLATE pin")


def run(*command: str | Path, cwd: Path) -> str:
    """Run it; what it printed."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout + result.stderr


@pytest.fixture(scope="session")
def lean_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv (no system site-packages) with the serve install and nothing else."""
    root = tmp_path_factory.mktemp("lean")
    source = root / "src"  # a copy of the checkout, so the build leaves nothing in the working tree
    source.mkdir()
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, source / name)
    venv = root / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=root)
    pip = venv / "bin" / "pip"
    # as the README and the Makefile say: the project, then argostranslate without its dependencies.
    # --no-compile: pip would byte-compile all ~3,000 modules it installs (~8 s of CPU); the lean
    # server compiles the few hundred it imports, once
    quiet = ("--disable-pip-version-check", "-q", "--no-compile")
    printed = run(pip, "install", *quiet, "-e", source, cwd=root)
    printed += run(pip, "install", *quiet, "--no-deps", argostranslate_requirement(), cwd=root)
    # pip's resolver ERROR ("argostranslate requires minisbd, spacy, stanza") alarms a new user for nothing
    assert "ERROR" not in printed, printed
    return venv


def test_the_serve_install_holds_no_torch_stanza_or_spacy(lean_venv):
    probe = f"import importlib.util as u; print(*[m for m in {HEAVY!r} if u.find_spec(m)])"
    result = subprocess.run(
        [lean_venv / "bin" / "python", "-c", probe],
        capture_output=True,
        text=True,
        cwd=lean_venv,
        env={"PATH": os.environ.get("PATH", "")},
    )
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


def test_the_lean_install_names_the_extra_the_lingua_detector_needs(lean_venv, tmp_path):
    result = subprocess.run(
        [lean_venv / "bin" / "babelroom", "serve"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={
            "PATH": os.environ.get("PATH", ""),
            "BABELROOM_TRANSLATION_DETECTOR": "lingua",
            "BABELROOM_SERVER_DATA_DIR": str(tmp_path),
        },
        timeout=60,
    )
    assert result.returncode == 2 and "[lingua]" in result.stderr, result.stderr


async def test_the_lean_install_serves_and_translates_with_the_test_packages(lean_venv, translation_packages, tmp_path):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "BABELROOM_AUTH_SECRET": TEST_SECRET,
        "BABELROOM_SERVER_DATA_DIR": str(tmp_path / "data"),
        "BABELROOM_TRANSLATION_PACKAGES_DIR": str(translation_packages),
        "BABELROOM_SERVER_LOG_LEVEL": "warning",
        "BABELROOM_TRANSLATION_EVENT_LANGUAGES": "",
    }  # nothing fetched from outside in tests
    process, port = await serve_lean(lean_venv, env, tmp_path)
    try:
        ada = await Client.connect(f"ws://127.0.0.1:{port}/ws")
        await ada.auth(token("Ada", "en"))
        dieter = await Client.connect(f"ws://127.0.0.1:{port}/ws")
        ready = await dieter.auth(token("Dieter", "de"))
        assert {"de", "en", "es"} <= set(ready["translates"])
        await ada.join("plenary")
        await dieter.join("plenary")
        ack = await ada.say("plenary", ENGLISH)
        assert (await dieter.expect("message", id=ack["id"]))["text"] == ENGLISH
        translation = await dieter.expect("translation", id=ack["id"], lang="de", timeout=60)
        assert translation["text"] and translation["text"] != ENGLISH
    finally:
        process.terminate()
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert b"Traceback" not in stderr, stderr.decode(errors="replace")[-3000:]


def token(name: str, lang: str) -> str:
    from chat.tokens import TokenSigner
    from rooms import Role

    return TokenSigner(TEST_SECRET).issue(name=name, role=Role.DELEGATE, lang=lang, ttl=600)


async def serve_lean(lean_venv: Path, env: dict[str, str], cwd: Path) -> tuple[asyncio.subprocess.Process, int]:
    """The lean venv's `babelroom serve` on a free port, once it listens there itself: a port is
    only free when picked, and a server of another run that took it meanwhile would answer our
    clients (as tests/nodes.py NodeProcess, the port is picked again, twice at most)."""
    loop = asyncio.get_running_loop()
    for attempt in range(3):
        port = free_port()
        process = await asyncio.create_subprocess_exec(
            str(lean_venv / "bin" / "babelroom"),
            "serve",
            "--port",
            str(port),
            cwd=cwd,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        deadline = loop.time() + 60
        while process.returncode is None and not pid_listens_on(process.pid, port):
            assert loop.time() < deadline, f"the lean server did not listen on port {port} within 60 s"
            await asyncio.sleep(0.2)
        if process.returncode is None:
            return process, port
        said = (await process.communicate())[1].decode(errors="replace")
        if not port_taken_said(said) or attempt == 2:
            raise AssertionError(f"the lean server exited: {said[-3000:]}")
    raise AssertionError("unreachable")
