"""The CTranslate2 model engine: install (directory, archive, Hugging Face Hub stand-in), list,
remove, and translation through the service (batched, cached, glossary-protected, in two hops
across engines). Tiny random-weight Marian models: the text is meaningless, the paths are real."""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.translation.hub_standin import HubStandIn
from tests.translation.test_translation_service import metric
from translation import PackageError, TranslationService, TranslationSettings
from translation.apertium import discover
from translation.cli import add_languages_parser
from translation.ct2 import (
    detect_layout,
    install_from_hub,
    install_model,
    list_models,
    pair_from_name,
    remove_model,
)

CHINESE = "大家好！今天的会议几点开始？"


def test_both_published_layouts_are_recognised(ct2_model_dirs) -> None:
    assert detect_layout(ct2_model_dirs[("zh", "en")]) == "quickmt"
    assert detect_layout(ct2_model_dirs[("en", "zh")]) == "opus-mt"
    assert {p.name for p in ct2_model_dirs[("zh", "en")].iterdir()} >= {
        "model.bin",
        "config.json",
        "shared_vocabulary.json",
        "src.spm.model",
        "tgt.spm.model",
    }


def test_pair_from_published_names() -> None:
    assert pair_from_name("quickmt/quickmt-zh-en") == ("zh", "en")
    assert pair_from_name("opus-mt-de-en") == ("de", "en")
    assert pair_from_name("Helsinki-NLP/opus-mt-tc-big-en-zh") == ("en", "zh")
    assert pair_from_name("my-model") is None


def test_install_list_remove_directories_and_archives(tmp_path, ct2_model_dirs) -> None:
    models = tmp_path / "models"
    zh_en = install_model(ct2_model_dirs[("zh", "en")], models)
    assert (zh_en.pair, zh_en.layout, zh_en.version) == ("zh-en", "quickmt", "local")
    archive = tmp_path / "opus-mt-en-zh.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(ct2_model_dirs[("en", "zh")], arcname="opus-mt-en-zh")
    en_zh = install_model(archive, models)
    assert (en_zh.pair, en_zh.layout) == ("en-zh", "opus-mt")
    assert [m.pair for m in list_models(models)] == ["en-zh", "zh-en"]
    meta = json.loads((models / "opus-mt-en-zh" / "babelroom.json").read_text())
    assert meta["from_code"] == "en" and meta["to_code"] == "zh"
    # A model whose name says nothing: the pair is given, and a reinstall replaces the pair's model.
    mystery = tmp_path / "mystery"
    shutil.copytree(ct2_model_dirs[("zh", "en")], mystery)
    with pytest.raises(PackageError, match="--pair"):
        install_model(mystery, models)
    again = install_model(mystery, models, pair=("zh", "en"))
    assert [m.name for m in list_models(models)] == ["opus-mt-en-zh", "mystery"] and again.name == "mystery"
    assert [m.pair for m in remove_model("zh-en", models)] == ["zh-en"]
    assert [m.pair for m in list_models(models)] == ["en-zh"]


def test_bad_model_directories_are_refused_with_a_message(tmp_path, ct2_model_dirs) -> None:
    broken = tmp_path / "quickmt-de-en"
    broken.mkdir()
    with pytest.raises(PackageError, match=r"model\.bin"):
        install_model(broken, tmp_path / "models")
    (broken / "model.bin").write_bytes(b"")
    (broken / "config.json").write_text("{}")
    (broken / "shared_vocabulary.json").write_text("[]")
    with pytest.raises(PackageError, match="SentencePiece"):
        install_model(broken, tmp_path / "models")
    not_archive = tmp_path / "model.txt"
    not_archive.write_text("hello")
    with pytest.raises(PackageError, match="archive"):
        install_model(not_archive, tmp_path / "models")
    assert list_models(tmp_path / "models") == []


def test_install_from_the_hub_pinned_to_the_configured_revision(tmp_path, hub: HubStandIn) -> None:
    commit = hub.repos["quickmt/quickmt-zh-en"].commit
    settings = TranslationSettings(hub_endpoint=hub.url, hub_models=(f"quickmt/quickmt-zh-en@{commit}",))
    info = install_from_hub("quickmt/quickmt-zh-en", tmp_path / "models", settings, progress=False)
    assert (info.pair, info.version, info.source) == ("zh-en", commit, "quickmt/quickmt-zh-en")
    # A pinned commit is asked for directly: no lookup of the main branch.
    assert not any("/revision/" in r for r in hub.requests)
    assert f"GET /quickmt/quickmt-zh-en/resolve/{commit}/model.bin" in hub.requests
    with pytest.raises(PackageError, match="no revision"):
        install_from_hub("quickmt/quickmt-zh-en@" + "0" * 40, tmp_path / "models", settings, progress=False)
    with pytest.raises(PackageError, match="no model 'quickmt/quickmt-xx-yy'"):
        install_from_hub("quickmt/quickmt-xx-yy", tmp_path / "models", settings, progress=False)


def _cli(argv: list[str], settings: TranslationSettings) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="babelroom")
    add_languages_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    code = args.languages_handler(args, settings, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_cli_installs_a_directory_and_lists_it(tmp_path, ct2_model_dirs) -> None:
    settings = TranslationSettings(packages_dir=str(tmp_path / "pk"), models_dir=str(tmp_path / "models"))
    code, out, _ = _cli(["languages", "install", str(ct2_model_dirs[("zh", "en")])], settings)
    assert code == 0 and "installed zh-en (quickmt-zh-en, CTranslate2, quickmt layout" in out
    code, out, _ = _cli(["languages", "list"], settings)
    assert "ct2: models in" in out and "zh-en" in out
    code, out, _ = _cli(["languages", "remove", "zh-en"], settings)
    assert code == 0 and "removed zh-en (quickmt-zh-en)" in out


def test_cli_downloads_from_the_hub_named_by_hf_endpoint(tmp_path, hub: HubStandIn) -> None:
    commit = hub.repos["Helsinki-NLP/opus-mt-en-zh"].commit
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path / "hf-home")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "translation.cli",
            "languages",
            "--models-dir",
            str(tmp_path / "models"),
            "install",
            f"Helsinki-NLP/opus-mt-en-zh@{commit}",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"installed en-zh (opus-mt-en-zh, CTranslate2, opus-mt layout, revision {commit})" in done.stdout
    assert [m.pair for m in list_models(tmp_path / "models")] == ["en-zh"]


async def test_service_translates_batches_caches_and_protects(tmp_path, ct2_model_dirs, settings_for) -> None:
    models = tmp_path / "models"
    for path in ct2_model_dirs.values():
        install_model(path, models)
    svc = TranslationService(
        settings_for(tmp_path / "no-packages", engines=("ct2",), models_dir=str(models), glossary=("Cargotec",))
    )
    await svc.start()
    try:
        assert svc.engine_of("zh", "en") == ["ct2"] and svc.engine_of("en", "zh") == ["ct2"]
        first = await svc.translate(CHINESE, "zh", "en")
        assert isinstance(first, str) and first and first != CHINESE
        assert await svc.translate(CHINESE, "zh", "en") == first
        assert metric(svc, "babelroom_translations_total", source="zh", target="en", via="cache") == 1
        assert metric(svc, "babelroom_translation_sentences_total", pair="zh-en") == 2  # two sentences, once
        protected = await svc.translate("Cargotec 今天签署了协议。", "zh", "en")
        assert protected is not None and protected.startswith("Cargotec")
    finally:
        await svc.close()


@pytest.mark.skipif(
    ("en", "es") not in {(p.source, p.target) for p in discover()}, reason="needs Debian's apertium-eng-spa"
)
async def test_two_hops_across_engines_ct2_then_apertium(tmp_path, ct2_model_dirs, settings_for) -> None:
    models = tmp_path / "models"
    install_model(ct2_model_dirs[("zh", "en")], models)
    svc = TranslationService(
        settings_for(tmp_path / "no-packages", engines=("ct2", "apertium"), models_dir=str(models))
    )
    await svc.start()
    try:
        assert svc.engine_of("zh", "es") == ["ct2", "apertium"]
        assert "zh" in svc.routes()["es"]
        spanish = await svc.translate(CHINESE, "zh", "es")
        assert isinstance(spanish, str) and spanish
    finally:
        await svc.close()


async def test_a_model_that_cannot_load_is_skipped_and_the_rest_served(
    tmp_path, ct2_model_dirs, settings_for, caplog
) -> None:
    models = tmp_path / "models"
    broken = install_model(ct2_model_dirs[("zh", "en")], models)
    install_model(ct2_model_dirs[("en", "zh")], models)
    Path(broken.path / "model.bin").write_bytes(b"not a model")
    svc = TranslationService(settings_for(tmp_path / "no-packages", engines=("ct2",), models_dir=str(models)))
    await svc.start()
    try:
        assert not svc.has_route("zh", "en") and svc.has_route("en", "zh")
        assert any("cannot load model" in r.getMessage() for r in caplog.records)
    finally:
        await svc.close()


def test_the_pytorch_weights_beside_a_hub_model_are_not_downloaded(tmp_path, hub: HubStandIn, ct2_model_dirs) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(ct2_model_dirs[("zh", "en")], repo)
    (repo / "eole_model").mkdir()
    (repo / "eole_model" / "model.00.safetensors").write_bytes(b"\0" * 1024)  # ~800 MB in a real quickmt repo
    (repo / "eole-config.yaml").write_text("model: big\n")
    commit = hub.add("quickmt/quickmt-zh-en-big", repo)
    settings = TranslationSettings(hub_endpoint=hub.url)
    info = install_from_hub(f"quickmt/quickmt-zh-en-big@{commit}", tmp_path / "models", settings, progress=False)
    assert info.pair == "zh-en" and not (info.path / "eole_model").exists()
    assert not any("eole" in request for request in hub.requests if "/resolve/" in request)
