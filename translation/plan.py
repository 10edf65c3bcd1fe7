"""What the event's languages need: which pairs, on which engine, fetched from where.

`[translation] event_languages` names the languages delegates read and write (a China–Europe
forum: en, zh, de, plus what the operator adds). Every ordered pair of them needs a route;
`plan()` picks, for each, the best engine from `BEST` (a documented table) and, where no model
serves a pair directly, a two-hop route through English (or through Spanish for the Romance
pairs Apertium serves). `babelroom languages plan` prints it before anything is fetched;
`babelroom serve`, online, installs what is missing (translation.autoinstall).

Preference, per direct pair (COMET-22 on FLORES as quickmt and Mozilla published them:
quickmt en-zh 85.3 / zh-en 86.3 / en-de 86.9, Argos 83.2 / 83.1 / 81.2):

1. quickmt's CTranslate2 models (CC-BY-4.0) where quickmt publishes the pair;
2. Argos packages otherwise (the Argos index has en<->X for most European languages);
3. Apertium for close Romance pairs (es<->pt, es<->fr, es<->it, es<->ca...), which it serves
   directly and well, with nothing to download beyond a Debian package.

Sizes are the download (MB) and the resident memory of the loaded pair (MB) as estimated for
each kind of model (see README "Translation engines" for the figures measured here): a
quickmt model (~200M parameters, a transformer "big" encoder, as its model cards say) ~ 400 MB
to download and ~ 400 MB loaded (estimates: no real model can be fetched where this was
written); an Argos package (transformer-base, int8) ~ 90 MB and ~ 160 MB loaded (measured for
a base-size package: benchmarks/translation_burst.py); an Apertium pair ~ 15 MB (its Debian
package) and ~ 110 MB for its running pipeline (measured, eng-spa).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from translation.apertium import debian_package, discover
from translation.ct2 import list_models, pinned_revision
from translation.engines import ENGINE_QUALITY, Pair
from translation.packages import list_packages
from translation.routing import Routes
from translation.settings import TranslationSettings

#: (download MB, memory MB) estimated per kind of model.
SIZES_MB: dict[str, tuple[int, int]] = {"ct2": (400, 400), "argos": (90, 160), "apertium": (15, 110)}

#: Languages quickmt publishes CTranslate2 models for, both directions with English
#: (huggingface.co/quickmt, names quickmt/quickmt-<src>-<tgt>).
#: As listed on huggingface.co/quickmt when this table was written (both directions each):
#: `languages plan` prints every name it would fetch, so an operator can check them before the
#: event (a name the Hub lacks fails with a clear message, and the pair can come from Argos).
QUICKMT: tuple[str, ...] = (
    "ar",
    "bn",
    "de",
    "el",
    "fa",
    "fr",
    "hi",
    "hu",
    "id",
    "it",
    "ja",
    "ko",
    "pl",
    "pt",
    "th",
    "tr",
    "ur",
    "vi",
    "zh",
)
#: Languages the Argos index has packages for, both directions with English.
ARGOS: tuple[str, ...] = (
    "ar",
    "az",
    "bg",
    "ca",
    "cs",
    "da",
    "de",
    "el",
    "eo",
    "es",
    "et",
    "fa",
    "fi",
    "fr",
    "ga",
    "he",
    "hi",
    "hu",
    "id",
    "it",
    "ja",
    "ko",
    "lt",
    "lv",
    "ms",
    "nb",
    "nl",
    "pl",
    "pt",
    "ro",
    "ru",
    "sk",
    "sl",
    "sq",
    "sv",
    "th",
    "tl",
    "tr",
    "uk",
    "ur",
    "zh",
)
#: Romance pairs Apertium serves directly (Debian packages; see apertium.DEBIAN_PACKAGES).
APERTIUM_ROMANCE: tuple[Pair, ...] = (
    ("es", "pt"),
    ("pt", "es"),
    ("es", "fr"),
    ("fr", "es"),
    ("es", "it"),
    ("it", "es"),
    ("es", "ca"),
    ("ca", "es"),
    ("fr", "ca"),
    ("ca", "fr"),
    ("pt", "ca"),
    ("ca", "pt"),
    ("es", "gl"),
    ("gl", "es"),
    ("es", "ro"),
    ("ro", "es"),
    ("it", "ca"),
    ("ca", "it"),
)


@dataclass(frozen=True)
class Choice:
    """How one direct pair is served: engine and where its model comes from."""

    pair: Pair
    engine: str  # ct2 | argos | apertium
    source: str  # a Hub name, "argos index", or a Debian package
    download_mb: int
    memory_mb: int

    @property
    def name(self) -> str:
        return f"{self.pair[0]}-{self.pair[1]}"


def best(pair: Pair) -> Choice | None:
    """The table's choice for a direct pair (None: no engine publishes it)."""
    source, target = pair
    other = target if source == "en" else source if target == "en" else None
    if other is not None and other in QUICKMT:
        return Choice(pair, "ct2", f"quickmt/quickmt-{source}-{target}", *SIZES_MB["ct2"])
    if pair in APERTIUM_ROMANCE:
        return Choice(pair, "apertium", debian_package(source, target) or "apertium", *SIZES_MB["apertium"])
    if other is not None and other in ARGOS:
        return Choice(pair, "argos", "argos index", *SIZES_MB["argos"])
    return None


@dataclass(frozen=True)
class Plan:
    """Every ordered pair of the event's languages and how it is reached."""

    languages: tuple[str, ...]
    choices: list[Choice]  # the direct pairs the routes use, each once
    routes: dict[Pair, list[Pair] | None]  # every ordered pair -> its legs (None: unreachable)
    installed: set[Pair]  # direct pairs already served here

    def missing(self) -> list[Choice]:
        return [c for c in self.choices if c.pair not in self.installed]

    def download_mb(self) -> int:
        return sum(c.download_mb for c in self.missing() if c.engine != "apertium")

    def memory_mb(self) -> int:
        return sum(c.memory_mb for c in self.choices)


def installed_pairs(settings: TranslationSettings) -> dict[Pair, str]:
    """Direct pairs this machine serves now, with the engine (first in settings.engines wins)."""
    found: dict[Pair, str] = {}
    for engine in settings.engines:
        if engine == "ct2":
            pairs = {(m.from_code, m.to_code) for m in list_models(settings.models_dir)}
        elif engine == "argos":
            pairs = {(p.from_code, p.to_code) for p in list_packages(settings.packages_dir)}
        else:
            pairs = {(p.source, p.target) for p in discover(Path(settings.apertium_modes_dir))}
        for pair in pairs:
            found.setdefault(pair, engine)
    return found


def plan(settings: TranslationSettings, languages: tuple[str, ...] | None = None) -> Plan:
    """The plan for the event's languages (settings.event_languages unless given)."""
    codes = tuple(dict.fromkeys(languages if languages is not None else settings.event_languages))
    have = installed_pairs(settings)
    # Every pair an engine could serve for these languages (and English, the usual middle).
    hubs = tuple(dict.fromkeys((*codes, "en")))
    candidates: dict[Pair, Choice] = {}
    for pair in itertools.permutations(hubs, 2):
        choice = best(pair)
        if choice is not None and choice.engine in settings.engines:
            candidates[pair] = choice
    for pair in list(itertools.permutations(codes, 2)):
        for middle in ("es",):  # Apertium's Romance pairs meet in Spanish
            for leg in ((pair[0], middle), (middle, pair[1])):
                choice = best(leg)
                if choice is not None and choice.engine == "apertium" and "apertium" in settings.engines:
                    candidates.setdefault(leg, choice)
    scores = {pair: ENGINE_QUALITY.get(have.get(pair, c.engine), 0.5) for pair, c in candidates.items()}
    scores.update({pair: ENGINE_QUALITY.get(engine, 0.5) for pair, engine in have.items()})
    routes = Routes(scores)
    wanted: dict[Pair, list[Pair] | None] = {pair: routes.route(*pair) for pair in itertools.permutations(codes, 2)}
    used: list[Pair] = []
    for legs in wanted.values():
        for leg in legs or []:
            if leg not in used:
                used.append(leg)
    choices = []
    for leg in used:
        if leg in have:  # what serves it now stays (install another model by hand to change it)
            engine = have[leg]
            table = candidates.get(leg)
            source = table.source if table is not None and table.engine == engine else "installed"
            choices.append(Choice(leg, engine, source, 0, SIZES_MB.get(engine, (0, 0))[1]))
        else:
            choices.append(candidates[leg])
    return Plan(codes, sorted(choices, key=lambda c: c.pair), wanted, set(have))


def hub_spec(choice: Choice, settings: TranslationSettings) -> str:
    """The Hub name to download for a ct2 choice, with its pinned revision when configured."""
    revision = pinned_revision(choice.source, settings)
    return f"{choice.source}@{revision}" if revision else choice.source


def describe(the_plan: Plan, settings: TranslationSettings) -> list[str]:
    """The plan as printed by `babelroom languages plan` (and logged by serve)."""
    lines = [
        f"event languages: {', '.join(the_plan.languages)}  (engines by preference: {', '.join(settings.engines)})",
        "",
        "pairs to serve directly:",
    ]
    for choice in the_plan.choices:
        state = "installed" if choice.pair in the_plan.installed else "to fetch"
        source = hub_spec(choice, settings) if choice.engine == "ct2" else choice.source
        size = "apt-get" if choice.engine == "apertium" else f"~{choice.download_mb} MB"
        lines.append(
            f"  {choice.name:<7} {choice.engine:<8} {source:<34} download {size:<8} "
            f"memory ~{choice.memory_mb} MB  [{state}]"
        )
    lines += ["", "routes (every ordered pair):"]
    unreachable = []
    for (source, target), legs in the_plan.routes.items():
        if not legs:
            unreachable.append(f"{source}-{target}")
            lines.append(f"  {source}->{target}: no route (readers get the original)")
        elif len(legs) == 1:
            lines.append(f"  {source}->{target}: direct")
        else:
            (a, m), (_, b) = legs
            lines.append(f"  {source}->{target}: via {m} ({a}-{m}, {m}-{b})")
    missing = the_plan.missing()
    lines += [
        "",
        f"to fetch: {len(missing)} pair(s), ~{the_plan.download_mb()} MB; memory when all "
        f"are loaded: ~{the_plan.memory_mb()} MB" + (f"; no route for {', '.join(unreachable)}" if unreachable else ""),
    ]
    return lines


def offline_message(missing: list[Choice]) -> str:
    """One line: which pairs are missing and how to bring them without a network."""
    parts = []
    for choice in missing:
        if choice.engine == "ct2":
            parts.append(f"{choice.name} ({choice.source})")
        elif choice.engine == "argos":
            parts.append(f"{choice.name} (translate-{choice.pair[0]}_{choice.pair[1]}.argosmodel)")
        else:
            parts.append(f"{choice.name} (apt-get install {choice.source})")
    return (
        "translation: offline, missing " + ", ".join(parts) + "; bring them on a USB stick and run "
        "`babelroom languages install DIR` (a model directory or archive, or an .argosmodel file)"
    )
