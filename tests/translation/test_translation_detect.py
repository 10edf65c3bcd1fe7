import ctypes
import gc
from collections.abc import Iterator

import pytest

from translation import detect
from translation.detect import DETECTORS, LanguageDetector, profile
from translation.settings import DEFAULT_LANGUAGES

# one worker loads lingua's models (~850 MB) under pytest-xdist, not both at once (tests/conftest.py)
pytestmark = pytest.mark.xdist_group("language-detectors")

LINES = {
    "de": "Guten Morgen zusammen, wann beginnt der nächste Vortrag?",
    "en": "Good morning everyone, when does the next talk start?",
    "fr": "Bonjour à tous, quand commence la prochaine présentation ?",
    "es": "Buenos días a todos, ¿cuándo empieza la próxima charla?",
    "ru": "Доброе утро всем, когда начинается следующий доклад?",
    "ja": "おはようございます、次の発表はいつ始まりますか？",
    "zh": "大家早上好，下一个报告什么时候开始？",
    "ko": "안녕하세요, 다음 발표는 언제 시작하나요?",
    "ar": "صباح الخير للجميع، متى تبدأ المحاضرة التالية؟",
}


@pytest.fixture(scope="module", params=DETECTORS)
def detector(request) -> Iterator[LanguageDetector]:
    yield LanguageDetector(DEFAULT_LANGUAGES, backend=request.param)
    if request.param == "lingua":
        release_lingua_models()


def release_lingua_models() -> None:
    """Give back lingua's preloaded models (~850 MB for the default languages) once its tests are done:
    no other test uses lingua, and the xdist worker would otherwise carry them to the end of the run.
    The process's shared lingua scorers go (a later lingua detector builds new ones), lingua drops its
    model cache, and glibc returns the freed heap to the system (else it keeps it for reuse)."""
    from lingua import LanguageDetectorBuilder

    for key in [key for key in detect._SHARED_SCORERS if key[0] == "lingua"]:
        del detect._SHARED_SCORERS[key]
    LanguageDetectorBuilder.from_all_languages().build().unload_language_models()
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)


def test_clear_lines_are_detected(detector: LanguageDetector) -> None:
    for language, line in LINES.items():
        assert detector.detect(line, "it") == (language, True), (detector.backend_name, line)


def test_same_text_same_answer() -> None:
    text = "ok je pense que oui, on verra demain matin"
    answers = {LanguageDetector(DEFAULT_LANGUAGES).detect(text, "en") for _ in range(3)}
    one = LanguageDetector(DEFAULT_LANGUAGES)
    answers |= {one.detect(text, "en") for _ in range(20)}
    assert len(answers) == 1


def test_short_text_is_the_senders_language(detector: LanguageDetector) -> None:
    for text in ("ok", "Danke!", "lol", "merci 🙏", "yes!!", "👍👍", "12:30", "@anna ok"):
        assert detector.detect(text, "fr") == ("fr", False), text


def test_script_overrides_an_impossible_fallback(detector: LanguageDetector) -> None:
    # Too short for statistics, but German cannot be written in these scripts.
    assert detector.detect("спасибо", "de")[0] == "ru"
    assert detector.detect("谢谢", "de") == ("zh", True)
    assert detector.detect("ありがとう", "de") == ("ja", True)
    assert detector.detect("감사", "de") == ("ko", True)
    assert detector.detect("תודה", "de") == ("he", True)


def test_answers_stay_inside_the_allowed_languages() -> None:
    detector = LanguageDetector(("en", "de"))
    language, _ = detector.detect(LINES["fr"], "de")
    assert language in {"en", "de"}
    # A script no allowed language uses: the sender's language.
    assert detector.detect(LINES["ru"], "de") == ("de", False)


def test_noise_is_not_text() -> None:
    prof = profile("see https://example.com/very/long/path and @someone #tag :smile: 2024")
    assert prof.letters == len("seeand")
    assert profile("🎉🎉🎉").script is None


def test_unknown_backend() -> None:
    with pytest.raises(ValueError, match="unknown detector"):
        LanguageDetector(DEFAULT_LANGUAGES, backend="nope")


def test_noise_of_each_kind_alone_is_not_text() -> None:
    # each kind of noise on its own line: what marks it is all the line holds besides letters
    for noise in ("WWW.EXAMPLE.COM", "Www.example.com", "mail@example.com", "@someone", "#tag", ":smile:"):
        assert profile(f"hello {noise} there").letters == len("hellothere"), noise
    assert profile("hello there").clean == "hello there"
