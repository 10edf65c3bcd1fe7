"""Configuration of the translation service (config.toml `[translation]`)."""

from __future__ import annotations

from dataclasses import dataclass

#: Languages a user may pick for reading even when no package translates into them
#: (they still get every original, and translations once a package is installed).
DEFAULT_LANGUAGES: tuple[str, ...] = (
    "en",
    "de",
    "fr",
    "es",
    "it",
    "pt",
    "nl",
    "pl",
    "ru",
    "uk",
    "tr",
    "ar",
    "he",
    "zh",
    "ja",
    "ko",
    "hi",
    "sv",
    "cs",
    "el",
    # the rest of the EU and Central/Eastern/Northern Europe
    "bg",
    "da",
    "et",
    "fi",
    "ga",
    "hr",
    "hu",
    "lt",
    "lv",
    "mt",
    "ro",
    "sk",
    "sl",
    "bs",
    "sr",
    "mk",
    "sq",
    "be",
    "ka",
    "hy",
    "az",
    "kk",
    "no",
)


@dataclass(frozen=True)
class TranslationSettings:
    """Every field is a plain bool/int/float/str/tuple so config.toml and the
    environment (BABELROOM_TRANSLATION_<FIELD>) can set it by name."""

    #: Off: no packages are loaded, translate() always answers None, detect() still works.
    enabled: bool = True
    #: "inline": the node that accepts a message translates it. "workers": it puts one job per
    #: (message, target language) on a Redis Stream and loads no model; `babelroom
    #: translate-worker` processes translate them (the redis backend is required).
    mode: str = "inline"
    #: Seconds a job may sit with a worker that stopped answering before another worker claims it.
    claim_idle: float = 10.0
    #: Seconds after which a job no worker has finished becomes `translation_failed`.
    job_deadline: float = 60.0
    #: Engines by preference: a pair two engines serve goes to the first one listed.
    #: "ct2" (neural, CTranslate2 model directories in models_dir: quickmt, OPUS-MT),
    #: "argos" (neural, packages in packages_dir) and "apertium" (rule-based, Debian
    #: packages apertium-*; pairs found in apertium_modes_dir).
    engines: tuple[str, ...] = ("ct2", "argos", "apertium")
    #: Where installed Apertium pairs put their mode files.
    apertium_modes_dir: str = "/usr/share/apertium/modes"
    #: Terms never translated (names of organisations, people, products, places),
    #: matched case-insensitively on word boundaries; URLs, e-mail addresses,
    #: @mentions and `code spans` are always kept as written too.
    glossary: tuple[str, ...] = ()
    #: Where Argos packages are installed (one folder per package).
    packages_dir: str = "data/packages"
    #: Argos package index used by `languages install PAIR`; "" = the Argos default.
    index_url: str = ""
    #: Where CTranslate2 models are installed (one folder per pair, translation/ct2.py).
    models_dir: str = "data/models"
    #: Hugging Face Hub models, pinned: "NAMESPACE/NAME@COMMIT". `languages install NAME`
    #: takes the revision from here; a name without one follows its main branch.
    hub_models: tuple[str, ...] = ()
    #: The Hub's address for model downloads; "" = huggingface_hub's default (which
    #: honours HF_ENDPOINT, e.g. a mirror inside the venue's network).
    hub_endpoint: str = ""
    #: The languages of the event: `babelroom serve`, online, fetches what every ordered pair
    #: of them needs, the best engine per pair (translation/plan.py: quickmt CTranslate2
    #: models, else Argos packages, Apertium for close Romance pairs); `babelroom languages
    #: plan` prints that plan first. A China-Europe forum: English, Chinese, German, plus
    #: whatever the delegates bring (fi, pl, sk, sr, hu, cs, ro, bg...). [] = fetch nothing.
    event_languages: tuple[str, ...] = ("en", "zh", "de")
    #: Argos packages `babelroom serve` also installs on start when they are missing and the
    #: index can be reached, beyond the event's plan (offline: one log line).
    install: tuple[str, ...] = ()
    #: CTranslate2 beam size. Greedy (1) translated a 64-message burst 2.2x faster
    #: than beam 4 on a transformer-base model with 2 cores (15.0 vs 6.8 msg/s,
    #: benchmarks/translation_burst.py); chat lines are short, so the quality cost
    #: of greedy decoding is small.
    beam_size: int = 1
    #: Batches run at once (CTranslate2 inter_threads; also the model thread pool's
    #: size). On 2 cores, 1 batch using both cores beat 2 one-core batches at beam 1
    #: (15.3 vs 12.7 msg/s, --sweep); 2 x 1 thread only helps for beam >= 2.
    inter_threads: int = 1
    #: Threads per batch (CTranslate2 intra_threads); 0 = CTranslate2's default (4).
    #: On 2 cores 0 measured at least as fast as 1 or 2.
    intra_threads: int = 0
    #: Added to the nice value of the model threads, so that the event loop gets a
    #: core first when translation saturates the CPU (0 = same priority).
    model_nice: int = 10
    #: CTranslate2 compute type; "auto" keeps the package's own (int8 for Argos).
    compute_type: str = "auto"
    #: Most sentences in one model call (16: 8.1 msg/s, 32: 15.3, 64: 16.3 in the
    #: burst; 32 keeps one call under ~1.5 s on 2 cores).
    batch_max: int = 32
    #: How long a pair's batcher waits for more sentences after the first one
    #: (while a batch runs, sentences queue for the next one anyway).
    batch_wait_ms: float = 5.0
    #: Entries in the in-process LRU cache of translations.
    cache_size: int = 10000
    #: Output tokens are capped at max_output_ratio * input tokens + max_output_extra:
    #: generous for real translations (token counts rarely differ by 2x between
    #: languages with a shared SentencePiece vocabulary), it stops a model that
    #: rambles or repeats itself from holding a batch for CTranslate2's 256 tokens.
    max_output_ratio: float = 2.0
    max_output_extra: int = 8
    #: Language detector: "py3langid", "lingua" or "langdetect". py3langid measured
    #: 99.7% right when the sender writes their own language and 92.3% when not, at
    #: 0.08 ms a line (numpy; lingua 100% / 89.4% at 0.22 ms, langdetect 98.9% /
    #: 87.0% at 0.54 ms, pure Python), benchmarks/detect_accuracy.py.
    detector: str = "py3langid"
    #: Texts with fewer letters than this are taken to be in the sender's language
    #: (py3langid and lingua stay right on 97-100% of 8-15-letter chat lines;
    #: langdetect only on 84%: with it, use 16).
    detect_min_chars: int = 8
    #: Below this probability of the best language the sender's language wins.
    detect_min_prob: float = 0.5
    #: Below this confidence (0-1, see docs/protocol.md `translation`) the browser shows the
    #: original first, "machine translation may be unreliable", the translation a click away.
    #: 0.35: an Apertium line with about two words in three unknown, or a neural model
    #: that gave its own words a geometric-mean probability of about a third.
    min_confidence: float = 0.35
    #: The language the organisers write room titles and forum names in: they are translated
    #: from it for each reader (translation/organiser.py) without asking the detector, which
    #: cannot tell the language of "Plenary".
    content_lang: str = "en"
    #: Reading languages users may pick even without a package.
    languages: tuple[str, ...] = DEFAULT_LANGUAGES
