from translation.protect import Protector, keep_tag


def protected(text: str, *terms: str) -> list[str]:
    return [run for run, keep in Protector(terms).split(text) if keep]


def test_runs_cover_the_text_in_order() -> None:
    text = "Ask @ada about Cargotec at https://x.org/y."
    runs = Protector(["Cargotec"]).split(text)
    assert "".join(run for run, _ in runs) == text
    assert [run for run, keep in runs if keep] == ["@ada", "Cargotec", "https://x.org/y"]


def test_case_insensitive_longest_first_word_boundaries() -> None:
    assert protected("bmh technologies and BMH", "BMH", "BMH Technologies") == ["bmh technologies", "BMH"]
    assert protected("Konecranes and Kone", "Kone") == ["Kone"]
    assert protected("BMH  Technologies", "BMH Technologies") == ["BMH  Technologies"]


def test_cjk_needs_no_spaces() -> None:
    assert protected("我们和Cargotec的合作", "Cargotec") == ["Cargotec"]
    assert protected("华为技术很好", "华为") == ["华为"]


def test_urls_emails_mentions_code() -> None:
    text = "mail bob.smith@example.co.uk, see www.example.org! `x = [1]` and @team-leads."
    assert protected(text) == ["bob.smith@example.co.uk", "www.example.org", "`x = [1]`", "@team-leads"]


def test_no_glossary_has_no_tag_and_a_glossary_changes_it() -> None:
    assert Protector().tag == ""
    assert Protector(["A"]).tag != Protector(["B"]).tag
    assert Protector(["a", "A "]).terms == ("a",)


def test_kept_spans_protect_a_mention_with_the_whole_name() -> None:
    text = "Thanks @Bill Baker and @王伟, see @Wei"
    runs = Protector(["Baker"]).split(text, ["@Bill Baker", "@王伟"])
    assert "".join(run for run, _ in runs) == text
    # "@Bill Baker" whole (not "@Bill" then the glossary's "Baker"), and the one-word rule still applies
    assert [run for run, keep in runs if keep] == ["@Bill Baker", "@王伟", "@Wei"]
    assert [run for run, keep in Protector().split("@Bill Bakery", ["@Bill Baker"]) if keep] == ["@Bill"]


def test_kept_spans_change_the_cache_tag() -> None:
    assert keep_tag([]) == ""
    assert keep_tag(["@Ada"]) != keep_tag(["@Bob"])
    assert keep_tag(["@Ada", "@Bob"]) == keep_tag(["@bob", "@Ada"])
