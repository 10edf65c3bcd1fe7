from translation import is_rtl, language_name
from translation.sentences import join, merge, split, translatable


def texts(message: str) -> list[str]:
    return [s.text for s in split(message)[1]]


def test_western_sentence_ends() -> None:
    assert texts("Hello there. How are you? Fine!") == ["Hello there.", "How are you?", "Fine!"]
    assert texts("Wait… what?! Really...") == ["Wait…", "what?!", "Really..."]


def test_no_split_inside_numbers_abbreviations_and_urls() -> None:
    assert texts("Version 3.5 is out. Dr. Smith said so.") == ["Version 3.5 is out.", "Dr. Smith said so."]
    assert texts("See example.com/a.b for z.B. details") == ["See example.com/a.b for z.B. details"]


def test_cjk_sentence_ends_need_no_space() -> None:
    assert texts("你好。今天几点开始？好的！") == ["你好。", "今天几点开始？", "好的！"]
    assert texts("こんにちは。よろしく！") == ["こんにちは。", "よろしく！"]


def test_line_breaks_split_and_survive_join() -> None:
    lead, segments = split("  first line\n\nsecond. third  ")
    assert lead == "  "
    assert [s.text for s in segments] == ["first line", "second.", "third"]
    rebuilt = join(lead, segments, [s.text.upper() for s in segments], "en")
    assert rebuilt == "  FIRST LINE\n\nSECOND. THIRD  "


def test_join_spacing_follows_the_target_language() -> None:
    lead, segments = split("你好。再见。")
    assert join(lead, segments, ["Hello.", "Bye."], "en") == "Hello. Bye."
    lead, segments = split("Hello. Bye.")
    assert join(lead, segments, ["你好。", "再见。"], "zh") == "你好。再见。"


def test_segments_without_letters_are_not_translated() -> None:
    lead, segments = split("Great talk! 🎉🎉 :) 42")
    assert [s.translate for s in segments] == [True, False]
    assert translatable(segments) == ["Great talk!"]
    assert join(lead, segments, merge(segments, ["Toller Vortrag!"]), "de") == "Toller Vortrag! 🎉🎉 :) 42"


def test_long_sentences_are_cut() -> None:
    message = " ".join(["word"] * 300)  # 1499 characters, no punctuation
    pieces = texts(message)
    assert len(pieces) > 1 and all(len(p) <= 400 for p in pieces)
    assert " ".join(pieces) == message


def test_empty_and_blank() -> None:
    assert split("") == ("", [])
    assert split("   ") == ("   ", [])


def test_language_names_and_direction() -> None:
    assert language_name("de") == "Deutsch"
    assert language_name("pt-BR") == "Português"
    assert language_name("xx") == "xx"
    assert is_rtl("ar") and is_rtl("he") and is_rtl("fa-IR")
    assert not is_rtl("en") and not is_rtl("zh")
