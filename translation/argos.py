"""Import argostranslate pointed at our packages directory.

argostranslate reads its settings (ARGOS_PACKAGES_DIR among them) once, at import,
into module globals, and creates its data/cache folders then. We set the
environment before the first import and, because one process may use several
package directories (tests, the CLI's --packages-dir), point the globals at the
directory in use for the duration of each call that reads them.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

_lock = threading.RLock()


INSTALL_HINT = "pip install --no-deps argostranslate==1.11.0"


def _import(packages_dir: str | os.PathLike[str]) -> tuple[Any, Any]:  # argostranslate is untyped
    os.environ.setdefault("ARGOS_PACKAGES_DIR", str(Path(packages_dir).resolve()))
    try:
        from argostranslate import package, settings
    except ModuleNotFoundError as exc:
        if exc.name != "argostranslate":
            raise
        # Installed apart from babelroom, without its dependencies (see pyproject.toml).
        raise ModuleNotFoundError(
            f"argostranslate is not installed; run `{INSTALL_HINT}`", name="argostranslate"
        ) from None

    return package, settings


@contextlib.contextmanager
def argos_package(packages_dir: str | os.PathLike[str]) -> Iterator[ModuleType]:
    """`argostranslate.package`, with its settings pointed at packages_dir."""
    path = Path(packages_dir).resolve()
    path.mkdir(parents=True, exist_ok=True)
    with _lock:
        package, settings = _import(path)
        saved = settings.package_data_dir, settings.package_dirs
        settings.package_data_dir, settings.package_dirs = path, [path]
        try:
            yield package
        finally:
            settings.package_data_dir, settings.package_dirs = saved


def default_index_url() -> str:
    """The Argos package index (honours ARGOS_PACKAGE_INDEX)."""
    from argostranslate import settings

    url: str = settings.remote_package_index
    return url
