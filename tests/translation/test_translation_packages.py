"""Package install / list / remove, from files and from an index (served on loopback)."""

from __future__ import annotations

import argparse
import functools
import http.server
import io
import json
import threading
import zipfile

import pytest

from translation import PackageError, TranslationSettings
from translation.cli import add_languages_parser
from translation.packages import install_file, install_pair, list_packages, parse_pair, remove


def test_builder_makes_argos_shaped_packages(package_files, tmp_path) -> None:
    from argostranslate.package import Package

    path = package_files[("de", "en")]
    assert path.stat().st_size < 1_000_000
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert {n.split("/")[0] for n in names} == {"translate-de_en-1_0"}
        meta = json.loads(zf.read("translate-de_en-1_0/metadata.json"))
        assert (meta["from_code"], meta["to_code"]) == ("de", "en")
        assert "translate-de_en-1_0/model/model.bin" in names
        assert "translate-de_en-1_0/sentencepiece.model" in names
        zf.extractall(tmp_path)
    pkg = Package(tmp_path / "translate-de_en-1_0")  # argostranslate reads it as its own
    assert (pkg.from_code, pkg.to_code, pkg.type) == ("de", "en", "translate")


def test_install_list_remove(tmp_path, package_files) -> None:
    assert list_packages(tmp_path) == []
    info = install_file(package_files[("de", "en")], tmp_path)
    install_file(package_files[("en", "es")], tmp_path)
    assert (info.pair, info.version, info.name) == ("de-en", "1.0", "translate-de_en-1_0")
    assert [p.pair for p in list_packages(tmp_path)] == ["de-en", "en-es"]
    assert [p.pair for p in remove("de_en", tmp_path)] == ["de-en"]
    assert [p.pair for p in remove("translate-en_es-1_0", tmp_path)] == ["en-es"]
    assert list_packages(tmp_path) == []
    with pytest.raises(PackageError, match="no installed package"):
        remove("de-en", tmp_path)


def test_reinstall_replaces_the_pair(tmp_path, package_files) -> None:
    install_file(package_files[("de", "en")], tmp_path)
    install_file(package_files[("de", "en")], tmp_path)
    assert [p.pair for p in list_packages(tmp_path)] == ["de-en"]


def test_bad_files_are_refused_with_a_message(tmp_path) -> None:
    not_zip = tmp_path / "x.argosmodel"
    not_zip.write_text("hello")
    with pytest.raises(PackageError, match="zip archive"):
        install_file(not_zip, tmp_path / "pk")
    with pytest.raises(PackageError, match="no such file"):
        install_file(tmp_path / "missing.argosmodel", tmp_path / "pk")
    no_meta = tmp_path / "nometa.argosmodel"
    with zipfile.ZipFile(no_meta, "w") as zf:
        zf.writestr("pkg/model/model.bin", b"")
    with pytest.raises(PackageError, match=r"metadata\.json"):
        install_file(no_meta, tmp_path / "pk")
    two_tops = tmp_path / "two.argosmodel"
    with zipfile.ZipFile(two_tops, "w") as zf:
        zf.writestr("a/metadata.json", "{}")
        zf.writestr("b/metadata.json", "{}")
    with pytest.raises(PackageError, match="one top-level folder"):
        install_file(two_tops, tmp_path / "pk")
    assert list_packages(tmp_path / "pk") == []


def test_broken_folder_does_not_hide_the_others(tmp_path, package_files) -> None:
    install_file(package_files[("de", "en")], tmp_path)
    (tmp_path / "half-copied").mkdir()
    assert [p.pair for p in list_packages(tmp_path)] == ["de-en"]


def test_parse_pair() -> None:
    assert parse_pair("de-en") == ("de", "en")
    assert parse_pair("translate-de_en") == ("de", "en")
    assert parse_pair("pt:es") == ("pt", "es")
    assert parse_pair("./file.argosmodel") is None


def test_install_pair_offline_says_to_install_a_file(tmp_path) -> None:
    with pytest.raises(PackageError) as err:
        install_pair(
            "fr", "en", tmp_path, progress=False, index_url="http://127.0.0.1:9/index.json"
        )  # nothing listens there
    message = str(err.value)
    assert "cannot reach the Argos package index" in message
    assert ".argosmodel" in message and "languages install" in message


@pytest.fixture
def index_server(tmp_path, package_files):
    """An Argos-style index and its package files, served on 127.0.0.1."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    index = []
    for (src, dst), path in package_files.items():
        (root / path.name).write_bytes(path.read_bytes())
        index.append(
            {
                "type": "translate",
                "from_code": src,
                "to_code": dst,
                "from_name": src,
                "to_name": dst,
                "package_version": "1.0",
                "argos_version": "1.0",
                "links": [f"{base}/{path.name}"],
            }
        )
    (root / "index.json").write_text(json.dumps(index))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"{base}/index.json"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_install_pair_from_an_index(tmp_path, index_server) -> None:
    info = install_pair("en", "es", tmp_path / "pk", progress=False, index_url=index_server)
    assert info.pair == "en-es"
    assert [p.pair for p in list_packages(tmp_path / "pk")] == ["en-es"]
    with pytest.raises(PackageError, match=r"no es-de package.*through English"):
        install_pair("es", "de", tmp_path / "pk", progress=False, index_url=index_server)


def _cli(argv: list[str], settings: TranslationSettings) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="babelroom")
    add_languages_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    code = args.languages_handler(args, settings, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_cli_commands(tmp_path, package_files, index_server) -> None:
    settings = TranslationSettings(packages_dir=str(tmp_path / "pk"), index_url=index_server)
    code, out, _ = _cli(["languages", "list"], settings)
    assert code == 0 and "no packages" in out
    code, out, _ = _cli(["languages", "install", str(package_files[("de", "en")])], settings)
    assert code == 0 and "installed de-en" in out
    code, out, _ = _cli(["languages", "install", "en-es", "--no-progress"], settings)
    assert code == 0 and "installed en-es" in out
    code, out, _ = _cli(["languages", "list"], settings)
    assert "de-en" in out and "Deutsch -> English" in out and "de->es (via en)" in out
    code, out, _ = _cli(["languages", "remove", "de-en"], settings)
    assert code == 0 and "removed de-en" in out
    code, _, err = _cli(["languages", "remove", "de-en"], settings)
    assert code == 1 and err.startswith("error: no installed package")
    code, _, err = _cli(["languages", "install", str(tmp_path / "nope.argosmodel")], settings)
    assert code == 1 and "no such file" in err
