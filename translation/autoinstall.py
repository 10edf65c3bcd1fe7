"""Out of the box: the Argos packages `[translation] install` names, fetched when the server starts.

Online, missing packages are downloaded from the Argos index (one fetch of the index, then one
download per pair, with a progress bar) before the server serves. Offline, one log line says what
to do and the server serves what it has. Pairs already installed cost nothing.
"""

from __future__ import annotations

import logging
import os

from translation.packages import PackageError, fetch_index, install_from_index, list_packages, parse_pair

log = logging.getLogger("babelroom.translation")


def install_missing(pairs: tuple[str, ...], packages_dir: str | os.PathLike[str], *,
                    index_url: str | None = None, progress: bool = True) -> list[str]:
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
        log.warning("translation: could not install %s: %s Serving the packages installed now; "
                    "install later with `babelroom languages install PAIR` (online) or "
                    "`babelroom languages install FILE.argosmodel`.", names, exc)
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
