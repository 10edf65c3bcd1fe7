"""Install, list and remove Argos packages in a packages directory.

argostranslate does the package work (metadata parsing, unzip, uninstall); this
module adds what a server operator needs around it: validation with readable
errors, one package per pair, a download with a progress bar, and a clear message
when the index cannot be reached (offline servers install from a file).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from translation.argos import argos_package, default_index_url

log = logging.getLogger("babelroom.translation")

_TIMEOUT_S = 15.0


class PackageError(Exception):
    """A user error (bad file, unknown pair, no network); str() is the message to show."""


@dataclass(frozen=True)
class PackageInfo:
    """An installed translation package."""

    from_code: str
    to_code: str
    from_name: str
    to_name: str
    name: str  # the package folder's name, e.g. translate-de_en-1_9
    version: str
    path: Path

    @property
    def pair(self) -> str:
        return f"{self.from_code}-{self.to_code}"


def parse_pair(text: str) -> tuple[str, str] | None:
    """'de-en', 'de_en', 'de:en', 'translate-de_en' -> ('de', 'en'); None otherwise."""
    text = text.strip().lower().removeprefix("translate-")
    for sep in ("-", "_", ":", ">"):
        a, found, b = text.partition(sep)
        if found and a.isalpha() and b.isalpha() and 2 <= len(a) <= 3 and 2 <= len(b) <= 3:
            return a, b
    return None


def _info(pkg: Any) -> PackageInfo:  # an argostranslate Package (untyped)
    return PackageInfo(
        from_code=pkg.from_code,
        to_code=pkg.to_code,
        from_name=pkg.from_name or pkg.from_code,
        to_name=pkg.to_name or pkg.to_code,
        name=pkg.package_path.name,
        version=pkg.package_version or "",
        path=Path(pkg.package_path),
    )


def list_packages(packages_dir: str | os.PathLike[str]) -> list[PackageInfo]:
    """Installed translation packages, sorted by pair. Broken folders are skipped
    with a warning rather than failing the whole listing (and the server start)."""
    directory = Path(packages_dir)
    if not directory.is_dir():
        return []
    found: list[PackageInfo] = []
    with argos_package(directory) as package:
        for child in sorted(directory.iterdir()):
            if not child.is_dir() or child.name.startswith("."):
                continue
            try:
                pkg = package.Package(child)
            except Exception as exc:  # noqa: BLE001 - Package() raises anything on a half-copied folder, bad JSON...
                log.warning("skipping %s: not an Argos package (%s)", child, exc)
                continue
            if pkg.type != "translate" or not pkg.from_code or not pkg.to_code:
                continue
            found.append(_info(pkg))
    return sorted(found, key=lambda p: (p.from_code, p.to_code, p.name))


def _validate_archive(path: Path) -> tuple[str, dict[str, Any]]:
    """Check an .argosmodel before unzipping it; return (top folder, metadata)."""
    if not path.is_file():
        raise PackageError(f"{path}: no such file")
    if not zipfile.is_zipfile(path):
        raise PackageError(f"{path}: not an Argos package (an .argosmodel is a zip archive)")
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if n.strip("/")]
        tops = {n.split("/", 1)[0] for n in names}
        if len(tops) != 1 or not all("/" in n for n in names):
            raise PackageError(f"{path}: an .argosmodel holds exactly one top-level folder")
        top = tops.pop()
        if top.startswith(".") or any(".." in n.split("/") for n in names):
            raise PackageError(f"{path}: unsafe paths in archive")
        try:
            metadata = json.loads(zf.read(f"{top}/metadata.json"))
        except KeyError:
            raise PackageError(f"{path}: no {top}/metadata.json") from None
        except ValueError as exc:
            raise PackageError(f"{path}: metadata.json is not valid JSON ({exc})") from None
        if metadata.get("type", "translate") != "translate":
            raise PackageError(f"{path}: a {metadata.get('type')!r} package, not a translation package")
        if not metadata.get("from_code") or not metadata.get("to_code"):
            raise PackageError(f"{path}: metadata.json lacks from_code/to_code")
        if f"{top}/model/model.bin" not in names:
            raise PackageError(f"{path}: no CTranslate2 model ({top}/model/model.bin)")
        if not {f"{top}/sentencepiece.model", f"{top}/bpe.model"} & set(names):
            raise PackageError(f"{path}: no tokenizer (sentencepiece.model or bpe.model)")
    return top, metadata


def install_file(path: str | os.PathLike[str], packages_dir: str | os.PathLike[str]) -> PackageInfo:
    """Install a local .argosmodel; replaces any installed package for the same pair."""
    path = Path(path)
    top, metadata = _validate_archive(path)
    from_code, to_code = metadata["from_code"], metadata["to_code"]
    for old in list_packages(packages_dir):
        if (old.from_code, old.to_code) == (from_code, to_code) and old.name != top:
            log.info("replacing %s with %s", old.name, top)
            shutil.rmtree(old.path)
    target = Path(packages_dir) / top
    if target.exists():
        shutil.rmtree(target)  # a reinstall: no stale files from the old version
    with argos_package(packages_dir) as package:
        try:
            # argostranslate's install_from_path would also import its translate module (stanza,
            # absent from the lean install) only to clear a cache we never use: unzip as it does.
            with zipfile.ZipFile(path) as archive:
                archive.extractall(Path(packages_dir))
        except Exception as exc:
            raise PackageError(f"{path}: install failed ({exc})") from exc
        installed = _info(package.Package(target))
    log.info("installed %s (%s)", installed.pair, installed.name)
    return installed


def _offline_hint(from_code: str, to_code: str) -> str:
    return (
        f"If this machine is offline, download translate-{from_code}_{to_code}-*.argosmodel "
        "on one that is online (see the Argos index) and install the file: "
        "`babelroom languages install PATH.argosmodel`."
    )


def _fetch_index(index_url: str, from_code: str, to_code: str) -> list[dict[str, Any]]:
    try:
        return fetch_index(index_url)[0]
    except PackageError as exc:
        if str(exc).startswith("cannot reach"):
            raise PackageError(f"{exc} " + _offline_hint(from_code, to_code)) from None
        raise


def _download(urls: list[str], target: Path, progress: bool, label: str) -> None:
    from tqdm import tqdm

    errors = []
    for url in urls:
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "babelroom"})
            with (
                urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response,
                open(target, "wb") as out,
                tqdm(
                    total=int(response.headers.get("Content-Length") or 0) or None,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=label,
                    disable=not progress,
                ) as bar,
            ):
                while chunk := response.read(1 << 16):
                    out.write(chunk)
                    bar.update(len(chunk))
            return
        except (TimeoutError, urllib.error.URLError, OSError) as exc:
            errors.append(f"{url}: {getattr(exc, 'reason', exc)}")
    raise PackageError("download failed (" + "; ".join(errors or ["no download link"]) + ")")


def fetch_index(index_url: str | None = None) -> tuple[list[dict[str, Any]], str]:
    """The Argos package index (and the URL it came from); PackageError when unreachable."""
    url = index_url or default_index_url()
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:
            index = json.loads(response.read())
    except (TimeoutError, urllib.error.URLError, OSError) as exc:
        raise PackageError(f"cannot reach the Argos package index at {url} ({getattr(exc, 'reason', exc)}).") from None
    except ValueError as exc:
        raise PackageError(f"the package index at {url} is not valid JSON ({exc})") from None
    if not isinstance(index, list):
        raise PackageError(f"the package index at {url} is not a list of packages")
    return index, url


def install_pair(
    from_code: str,
    to_code: str,
    packages_dir: str | os.PathLike[str],
    progress: bool = True,
    index_url: str | None = None,
) -> PackageInfo:
    """Download the pair's package from the Argos index and install it."""
    index_url = index_url or default_index_url()
    index = _fetch_index(index_url, from_code, to_code)
    return install_from_index(index, from_code, to_code, packages_dir, progress=progress)


def install_from_index(
    index: list[dict[str, Any]],
    from_code: str,
    to_code: str,
    packages_dir: str | os.PathLike[str],
    *,
    progress: bool = True,
) -> PackageInfo:
    """Download the pair's newest package listed in an index already fetched, and install it."""
    from argostranslate.package import AvailablePackage, argospm_package_name

    candidates = [AvailablePackage(m) for m in index if isinstance(m, dict)]
    matches = [p for p in candidates if p.type == "translate" and (p.from_code, p.to_code) == (from_code, to_code)]
    if not matches:
        pivot = ""
        if "en" not in (from_code, to_code):
            pivot = f" Packages {from_code}-en and en-{to_code} give this pair through English."
        raise PackageError(f"the Argos index has no {from_code}-{to_code} package.{pivot}")
    chosen = max(matches, key=lambda p: _version_key(p.package_version))
    with tempfile.TemporaryDirectory(prefix="babelroom-dl-") as tmp:
        archive = Path(tmp) / f"{argospm_package_name(chosen)}.argosmodel"
        try:
            _download(list(chosen.links), archive, progress, f"{from_code}-{to_code}")
        except PackageError as exc:
            raise PackageError(f"{exc}. " + _offline_hint(from_code, to_code)) from None
        return install_file(archive, packages_dir)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in (version or "0").split("."))


def remove(pair_or_name: str, packages_dir: str | os.PathLike[str]) -> list[PackageInfo]:
    """Remove the package(s) for a pair ('de-en') or with a folder name; returns them."""
    installed = list_packages(packages_dir)
    pair = parse_pair(pair_or_name)
    doomed = [p for p in installed if p.name == pair_or_name or (pair and (p.from_code, p.to_code) == pair)]
    if not doomed:
        have = ", ".join(p.pair for p in installed) or "none"
        raise PackageError(f"no installed package matches {pair_or_name!r} (installed: {have})")
    for info in doomed:
        # a package is its folder; argostranslate's uninstall would import stanza (not in the lean install)
        shutil.rmtree(info.path)
        log.info("removed %s (%s)", info.pair, info.name)
    return doomed
