"""py3langid's model unpacked once per machine and mapped shared (translation/langid_model.py)."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from translation import langid_model

LINES = [
    "Where are the slides for the plenary session?",
    "Bonjour à tous, la réunion commence à dix heures",
    "Guten Morgen zusammen, wo ist der Saal?",
    "¿Dónde están las diapositivas de la sesión?",
    "Bom dia, onde fica a sala de reuniões?",
    "ok",
    "",
]


def ranks(identifier: LanguageIdentifier, languages: list[str] | None) -> list[list[tuple[str, float]]]:
    restricted = copy.copy(identifier)
    restricted.set_languages(languages)
    return [restricted.rank(line) for line in LINES]


@pytest.fixture(scope="module")
def packaged() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def test_the_mapped_model_ranks_exactly_as_py3langids_own(packaged, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    mapped = langid_model.load_identifier()
    assert isinstance(mapped.tk_nextmove, memoryview), "the DFA is the mapping, not a private copy"
    for languages in (None, ["en", "es", "fr", "de", "pt"], ["zh", "ja", "ko"]):
        assert ranks(mapped, languages) == ranks(packaged, languages)
    [unpacked] = (tmp_path / "babelroom").iterdir()  # one copy, no staging directory left
    assert (unpacked / "meta.json").exists()


def test_a_second_load_reads_the_cache_without_unpacking(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    langid_model.load_identifier()

    def unpack_again(path: Path) -> None:
        raise AssertionError(f"unpacked {path} again")

    monkeypatch.setattr("py3langid.modelio.load_model", unpack_again)
    assert langid_model.load_identifier().rank(LINES[0])[0][0] == "en"


def test_no_writable_cache_loads_unshared_and_still_detects(packaged, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    identifier = langid_model.load_identifier()
    assert not isinstance(identifier.tk_nextmove, memoryview)
    assert ranks(identifier, ["en", "es"]) == ranks(packaged, ["en", "es"])


def test_processes_starting_together_each_get_a_whole_model(tmp_path):
    script = (
        "from translation.langid_model import load_identifier; "
        "print(load_identifier().rank('Where are the slides for the plenary session?')[0][0])"
    )
    env = {"XDG_CACHE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    starts = [
        subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True) for _ in range(3)
    ]
    assert [process.communicate(timeout=60)[0].strip() for process in starts] == ["en"] * 3
    [unpacked] = (tmp_path / "babelroom").iterdir()  # one copy; the staging directories of the others removed
    assert unpacked.name.startswith("py3langid-") and (unpacked / "meta.json").exists()
