"""`[translation] install`: missing Argos packages fetched on start from an index (a local HTTP
stand-in serving an index JSON and a package built by translation.testpkg), or one log line offline."""

from __future__ import annotations

import http.server
import json
import logging
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from translation.autoinstall import install_missing
from translation.packages import list_packages


@pytest.fixture
def index_server(tmp_path: Path, package_files) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 with index.json listing en-de (a real test package)."""
    root = tmp_path / "www"
    root.mkdir()
    shutil.copy(package_files[("en", "de")], root / "en_de.argosmodel")
    handler = lambda *args: http.server.SimpleHTTPRequestHandler(*args, directory=str(root))  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    (root / "index.json").write_text(
        json.dumps(
            [
                {
                    "package_version": "1.0",
                    "argos_version": "1.0",
                    "from_code": "en",
                    "from_name": "English",
                    "to_code": "de",
                    "to_name": "German",
                    "type": "translate",
                    "links": [f"{base}/en_de.argosmodel"],
                }
            ]
        )
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"{base}/index.json"
    server.shutdown()
    server.server_close()


def test_missing_pairs_are_installed_from_the_index(index_server: str, tmp_path: Path, caplog) -> None:
    packages = tmp_path / "packages"
    with caplog.at_level(logging.INFO, logger="babelroom.translation"):
        done = install_missing(("en-de", "de-fr", "nonsense"), packages, index_url=index_server, progress=False)
    assert done == ["en-de"]
    assert [(p.from_code, p.to_code) for p in list_packages(packages)] == [("en", "de")]
    text = caplog.text
    assert "installing en-de, de-fr" in text and "de-fr not installed" in text and "nonsense" in text
    # A second start finds it installed and asks the index nothing.
    assert install_missing(("en-de",), packages, index_url="http://127.0.0.1:9/unused") == []


def test_offline_logs_one_line_and_installs_nothing(tmp_path: Path, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="babelroom.translation"):
        done = install_missing(
            ("en-de", "de-en"), tmp_path / "packages", index_url="http://127.0.0.1:9/index.json", progress=False
        )
    assert done == []
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1
    assert "en-de, de-en" in lines[0] and "babelroom languages install" in lines[0]
