"""`[translation] event_languages`: the plan (pairs, engine, route, size, memory), `languages plan`,
and what `serve` fetches for it: online from a Hub stand-in, offline one line saying what to bring."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path
from typing import Any

from tests.translation.hub_standin import HubStandIn
from tests.translation.test_translation_ct2 import _cli
from translation import TranslationSettings
from translation.autoinstall import install_for_event
from translation.ct2 import list_models
from translation.plan import best, plan

FORUM = ("en", "zh", "de", "fi", "pl")


def empty_machine(tmp_path: Path, **overrides: Any) -> TranslationSettings:
    values: dict[str, Any] = dict(
        packages_dir=str(tmp_path / "packages"),
        models_dir=str(tmp_path / "models"),
        apertium_modes_dir=str(tmp_path / "no-apertium"),
    )
    values.update(overrides)
    return TranslationSettings(**values)


def test_the_table_prefers_quickmt_then_argos_then_apertium_for_romance_pairs() -> None:
    def chosen(source: str, target: str) -> tuple[str, str] | None:
        choice = best((source, target))
        return None if choice is None else (choice.engine, choice.source)

    assert chosen("zh", "en") == ("ct2", "quickmt/quickmt-zh-en")
    assert chosen("en", "fi") == ("argos", "argos index")
    assert chosen("es", "pt") == ("apertium", "apertium-es-pt")
    assert best(("zh", "de")) is None  # no one publishes it: a route through English


def test_a_china_europe_forum_gets_a_route_for_every_ordered_pair(tmp_path) -> None:
    settings = empty_machine(tmp_path, event_languages=FORUM)
    the_plan = plan(settings)
    assert set(the_plan.routes) == set(itertools.permutations(FORUM, 2))
    assert all(the_plan.routes.values())
    assert the_plan.routes[("zh", "fi")] == [("zh", "en"), ("en", "fi")]
    assert {c.name: c.engine for c in the_plan.choices} == {
        "zh-en": "ct2",
        "en-zh": "ct2",
        "de-en": "ct2",
        "en-de": "ct2",
        "pl-en": "ct2",
        "en-pl": "ct2",
        "fi-en": "argos",
        "en-fi": "argos",
    }
    assert the_plan.download_mb() > 0 and the_plan.memory_mb() > 0
    code, out, _ = _cli(["languages", "plan", "--languages", ",".join(FORUM)], settings)
    assert code == 0
    for source, target in itertools.permutations(FORUM, 2):
        assert f"  {source}->{target}: " in out
    assert "no route" not in out
    assert "zh->fi: via en (zh-en, en-fi)" in out and "quickmt/quickmt-zh-en" in out
    assert "to fetch: 8 pair(s)" in out and "memory when all are loaded" in out


def test_the_plan_keeps_what_is_installed_and_pins_revisions(tmp_path, ct2_model_dirs) -> None:
    from translation.ct2 import install_model

    install_model(ct2_model_dirs[("zh", "en")], tmp_path / "models")
    settings = empty_machine(tmp_path, event_languages=("en", "zh"), hub_models=("quickmt/quickmt-en-zh@" + "a" * 40,))
    the_plan = plan(settings)
    assert [c.name for c in the_plan.missing()] == ["en-zh"]
    code, out, _ = _cli(["languages", "plan"], settings)
    assert code == 0
    assert "quickmt/quickmt-en-zh@" + "a" * 40 in out and "[installed]" in out and "to fetch: 1 pair(s)" in out


def test_serve_fetches_the_event_languages_from_the_hub(tmp_path, hub: HubStandIn) -> None:
    settings = empty_machine(tmp_path, event_languages=("en", "zh"), engines=("ct2",), hub_endpoint=hub.url)
    assert sorted(install_for_event(settings, progress=False)) == ["en-zh", "zh-en"]
    assert [(m.pair, m.source) for m in list_models(settings.models_dir)] == [
        ("en-zh", "quickmt/quickmt-en-zh"),
        ("zh-en", "quickmt/quickmt-zh-en"),
    ]
    assert install_for_event(settings, progress=False) == []  # a second start has them all
    assert plan(settings).missing() == []


def test_offline_one_line_names_the_missing_pairs_and_how_to_bring_them(tmp_path, caplog) -> None:
    settings = empty_machine(
        tmp_path,
        event_languages=("en", "zh", "fi"),
        hub_endpoint="http://127.0.0.1:9",
        index_url="http://127.0.0.1:9/index.json",
    )
    with caplog.at_level(logging.WARNING, logger="babelroom.translation"):
        assert install_for_event(settings, progress=False) == []
    [line] = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert line.startswith("translation: offline, missing ")
    for name in ("zh-en (quickmt/quickmt-zh-en)", "en-zh", "fi-en (translate-fi_en.argosmodel)", "en-fi"):
        assert name in line
    assert "babelroom languages install DIR" in line
