"""End to end: a CTranslate2 model installed from the Hugging Face Hub (a local stand-in) serves a
Chinese delegate's message to an English reader through a real server, on every backend."""

from __future__ import annotations

from tests.translation.hub_standin import HubStandIn
from translation import TranslationSettings
from translation.ct2 import install_from_hub

CHINESE = "大家好！今天的会议几点开始？"


async def test_zh_to_en_from_a_model_installed_from_the_hub(tmp_path, hub: HubStandIn, make_server):
    commit = hub.repos["quickmt/quickmt-zh-en"].commit
    models = tmp_path / "models"
    settings = TranslationSettings(hub_endpoint=hub.url, hub_models=(f"quickmt/quickmt-zh-en@{commit}",))
    install_from_hub("quickmt/quickmt-zh-en", models, settings, progress=False)
    server = await make_server(translation={"engines": ("ct2",), "models_dir": str(models)})
    li = await server.client("Li", lang="zh")
    ada = await server.client("Ada", lang="en")
    await li.join("plenary")
    await ada.join("plenary")
    ack = await li.say("plenary", CHINESE)
    message = await ada.expect("message", id=ack["id"])
    assert message["lang"] == "zh" and message["translating"] == ["en"]
    english = await ada.expect("translation", id=ack["id"])
    assert english["lang"] == "en" and english["text"] and english["text"] != CHINESE
    assert 0 <= english["confidence"] < 0.1  # random weights: the model is guessing, and says so
    joined = await (await server.client("Bob", lang="en")).join("plenary")
    assert next(m for m in joined["messages"] if m["id"] == ack["id"])["tr"]["confidence"] == english["confidence"]
    await li.silent("translation")
