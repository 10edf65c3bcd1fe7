"""Out of the box: what the event's languages need (translation/plan.py) and the Argos packages
`[translation] install` names, fetched when the server starts (`install_for_event`).

Online, missing packages are downloaded from the Argos index (one fetch of the index, then one
download per pair, with a progress bar) before the server serves. Offline, one log line says what
to do and the server serves what it has. Pairs already installed cost nothing.
"""

from __future__ import annotations

import logging
import os
import urllib.error
import urllib.request

from translation.ct2 import install_from_hub
from translation.packages import PackageError, fetch_index, install_from_index, list_packages, parse_pair
from translation.plan import hub_spec, offline_message, plan
from translation.settings import TranslationSettings

log = logging.getLogger("babelroom.translation")


def install_missing(
    pairs: tuple[str, ...], packages_dir: str | os.PathLike[str], *, index_url: str | None = None, progress: bool = True
) -> list[str]:
    """Install the listed pairs ("en-de") that packages_dir lacks; returns those installed."""
    wanted = []
    for text in pairs:
        pair = parse_pair(text)
        if pair is None:
            log.warning("translation: [translation] install: %r is not a pair such as en-de; skipped", text)
        else:
            wanted.append(pair)
    have = {(p.from_code, p.to_code) for p in list_packages(packages_dir)}
    missing = [pair for pair in wanted if pair not in have]
    if not missing:
        return []
    names = ", ".join(f"{a}-{b}" for a, b in missing)
    try:
        index, used_url = fetch_index(index_url)
    except PackageError as exc:
        log.warning(
            "translation: could not install %s: %s Serving the packages installed now; "
            "install later with `babelroom languages install PAIR` (online) or "
            "`babelroom languages install FILE.argosmodel`.",
            names,
            exc,
        )
        return []
    log.info("translation: installing %s from %s", names, used_url)
    done = []
    for source, target in missing:
        try:
            info = install_from_index(index, source, target, packages_dir, progress=progress)
        except PackageError as exc:
            log.warning("translation: %s-%s not installed: %s", source, target, exc)
            continue
        done.append(info.pair)
    return done


#: Seconds the reachability check of the Hugging Face Hub may take before the server starts offline.
HUB_PROBE_TIMEOUT_S = 5.0


def hub_reachable(settings: TranslationSettings) -> bool:
    """True when the Hub (or the mirror configured) answers at all; a quick check, so an offline
    server does not spend huggingface_hub's retries (~30 s per model) before it serves."""
    endpoint = settings.hub_endpoint
    if not endpoint:
        try:
            from huggingface_hub import constants
        except ModuleNotFoundError:
            return False
        endpoint = constants.ENDPOINT
    try:
        with urllib.request.urlopen(urllib.request.Request(endpoint, method="HEAD"), timeout=HUB_PROBE_TIMEOUT_S):
            return True
    except urllib.error.HTTPError:
        return True  # it answered
    except (urllib.error.URLError, TimeoutError, OSError):
        return False


def install_for_event(settings: TranslationSettings, *, progress: bool = True) -> list[str]:
    """Fetch what `[translation] event_languages` needs and this machine lacks (and the extra
    Argos pairs of `[translation] install`); returns the pairs installed. Offline, one log line
    names the missing pairs and how to bring them; the server then serves what it has."""
    the_plan = plan(settings)
    missing = the_plan.missing()
    done: list[str] = []
    if missing:
        log.info(
            "translation: the event's languages (%s) need %s",
            ", ".join(the_plan.languages),
            ", ".join(f"{c.name} ({c.engine})" for c in missing),
        )
    unfetched = [c for c in missing if c.engine == "apertium"]
    models = [c for c in missing if c.engine == "ct2"]
    if models and not hub_reachable(settings):
        unfetched += models
    else:
        for choice in models:
            try:
                info = install_from_hub(
                    hub_spec(choice, settings), settings.models_dir, settings, pair=choice.pair, progress=progress
                )
            except PackageError as exc:
                log.warning("translation: %s not installed: %s", choice.name, exc)
                unfetched.append(choice)
                continue
            done.append(info.pair)
    packages = [c for c in missing if c.engine == "argos"]
    extra = [f"{a}-{b}" for a, b in (c.pair for c in packages)]
    if packages or settings.install:
        try:
            index, used_url = fetch_index(settings.index_url or None)
        except PackageError:
            unfetched += packages
        else:
            have = {(p.from_code, p.to_code) for p in list_packages(settings.packages_dir)}
            for text in (*extra, *settings.install):
                pair = parse_pair(text)
                if pair is None or pair in have:
                    continue
                try:
                    package = install_from_index(index, *pair, settings.packages_dir, progress=progress)
                except PackageError as exc:
                    log.warning("translation: %s-%s not installed: %s", *pair, exc)
                    unfetched += [c for c in packages if c.pair == pair]
                    continue
                have.add(pair)
                done.append(package.pair)
            log.debug("translation: Argos index %s", used_url)
    if unfetched:
        log.warning(offline_message(unfetched))
    return done
