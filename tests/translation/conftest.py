"""Fixtures for the translation tests: tiny real Argos packages, built once per session.

Building takes a few seconds (SentencePiece training, a random-weight Marian model,
CTranslate2 int8 conversion), so nothing binary is committed: the builder itself is
exercised on every run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.translation.hub_standin import HubStandIn
from translation import TranslationService, TranslationSettings
from translation.packages import install_file

PAIRS = (("de", "en"), ("en", "de"), ("en", "es"))


@pytest.fixture(scope="session")
def package_files(built_test_packages: dict[tuple[str, str], Path]) -> dict[tuple[str, str], Path]:
    """`.argosmodel` files for de->en, en->de and en->es (tiny, random weights; built once per run by
    tests/conftest.py `built_test_packages`, shared: do not modify)."""
    return {pair: built_test_packages[pair] for pair in PAIRS}


@pytest.fixture(scope="session")
def installed_dir(tmp_path_factory: pytest.TempPathFactory, package_files: dict[tuple[str, str], Path]) -> Path:
    """A packages dir with all test packages installed (shared: do not modify)."""
    directory = tmp_path_factory.mktemp("packages")
    for path in package_files.values():
        install_file(path, directory)
    return directory


def make_settings(packages_dir: Path, **overrides) -> TranslationSettings:
    values: dict[str, Any] = dict(packages_dir=str(packages_dir), beam_size=1, engines=("argos",))
    values.update(overrides)
    return TranslationSettings(**values)


@pytest.fixture
def settings_for():
    """settings_for(packages_dir, **overrides) -> TranslationSettings."""
    return make_settings


@pytest.fixture
async def service(installed_dir: Path) -> AsyncIterator[TranslationService]:
    svc = TranslationService(make_settings(installed_dir))
    await svc.start()
    yield svc
    await svc.close()


@pytest.fixture(scope="session")
def ct2_model_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """CTranslate2 model directories (tiny, random weights) sharing one SentencePiece model:
    zh->en in quickmt's layout (src.spm.model / tgt.spm.model), en->zh in converted OPUS-MT's
    (source.spm / target.spm)."""
    out = tmp_path_factory.mktemp("ct2-models")
    # built in a process of its own, as build_test_packages does: torch and transformers (~500 MB)
    # would otherwise stay in this test process for the rest of the run
    result = subprocess.run(
        [sys.executable, "-c", CT2_BUILD, str(out)], capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, f"building the CTranslate2 test models failed:\n{result.stdout}\n{result.stderr}"
    built = json.loads(result.stdout.splitlines()[-1])
    return {("zh", "en"): Path(built["zh-en"]), ("en", "zh"): Path(built["en-zh"])}


CT2_BUILD = """
import json, sys
from pathlib import Path
from translation.testpkg import SIZES, build_ct2_model_dir, train_sentencepiece

out = Path(sys.argv[1])
sp_model = train_sentencepiece(out / "shared.spm", SIZES["tiny"])
print(json.dumps({"zh-en": str(build_ct2_model_dir("zh", "en", out, layout="quickmt", sp_model=sp_model)),
                  "en-zh": str(build_ct2_model_dir("en", "zh", out, layout="opus-mt", sp_model=sp_model))}))
"""


@pytest.fixture
def hub(ct2_model_dirs: dict[tuple[str, str], Path]) -> Iterator[HubStandIn]:
    """A stand-in of the Hugging Face Hub on 127.0.0.1 serving quickmt/quickmt-zh-en,
    quickmt/quickmt-en-zh and Helsinki-NLP/opus-mt-en-zh (the test models)."""
    stand_in = HubStandIn()
    stand_in.add("quickmt/quickmt-zh-en", ct2_model_dirs[("zh", "en")])
    stand_in.add("Helsinki-NLP/opus-mt-en-zh", ct2_model_dirs[("en", "zh")])
    stand_in.add("quickmt/quickmt-en-zh", ct2_model_dirs[("en", "zh")])
    with stand_in.running():
        yield stand_in
