"""`babelroom languages eval PAIR FILE.tsv`: chrF and sentences/s of a pair on a parallel file, with
real Apertium output on the small en-es set the tests ship (tests/data/eval_en_es.tsv)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.translation.test_translation_ct2 import _cli
from translation import PackageError, TranslationSettings
from translation.apertium import discover
from translation.evaluate import read_parallel

EN_ES = Path(__file__).parent.parent / "data" / "eval_en_es.tsv"
needs_apertium = pytest.mark.skipif(
    not {("en", "es"), ("es", "en")} <= {(p.source, p.target) for p in discover()},
    reason="needs Debian's apertium-eng-spa",
)


def apertium_only(tmp_path: Path) -> TranslationSettings:
    return TranslationSettings(
        engines=("apertium",), packages_dir=str(tmp_path / "none"), models_dir=str(tmp_path / "none")
    )


def test_the_header_picks_the_columns_for_either_direction() -> None:
    sources, references = read_parallel(EN_ES, ("en", "es"))
    assert len(sources) == len(references) == 30
    assert (sources[0], references[0]) == ("Good morning, everyone.", "Buenos días a todos.")
    back, english = read_parallel(EN_ES, ("es", "en"))
    assert (back[0], english[0]) == ("Buenos días a todos.", "Good morning, everyone.")
    with pytest.raises(PackageError, match="not en and de"):
        read_parallel(EN_ES, ("en", "de"))


def test_bad_files_say_what_is_wrong(tmp_path) -> None:
    (tmp_path / "no-tab.tsv").write_text("hello world\n")
    with pytest.raises(PackageError, match="no tab"):
        read_parallel(tmp_path / "no-tab.tsv", ("en", "es"))
    with pytest.raises(PackageError, match="cannot read"):
        read_parallel(tmp_path / "missing.tsv", ("en", "es"))


@needs_apertium
def test_apertium_pairs_score_and_report_their_speed(tmp_path) -> None:
    for pair in ("en-es", "es-en"):
        code, out, err = _cli(["languages", "eval", pair, str(EN_ES)], apertium_only(tmp_path))
        assert code == 0, err
        assert out.startswith(f"{pair} (apertium): 30 sentences, chrF ")
        chrf = float(out.split("chrF ")[1].split(",")[0])
        speed = float(out.split(", ")[2].split(" sentences/s")[0])
        assert chrf > 50 and speed > 0  # the English left untranslated would score 16.3


@needs_apertium
def test_eval_without_a_route_says_so(tmp_path) -> None:
    (tmp_path / "en_de.tsv").write_text("en\tde\nGood morning\tGuten Morgen\n")
    code, _, err = _cli(["languages", "eval", "en-de", str(tmp_path / "en_de.tsv")], apertium_only(tmp_path))
    assert code == 1 and "no route for en-de" in err
    code, _, err = _cli(["languages", "eval", "english", str(EN_ES)], apertium_only(tmp_path))
    assert code == 1 and "expected a pair" in err
