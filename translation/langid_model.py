"""py3langid's model, unpacked once per machine and mapped read-only into every process that detects.

py3langid ships its model LZMA-compressed (4.6 MB) and unpacks it at every load: ~0.5 s of CPU
at each node's start, and ~70 MB of private memory per process (the DFA's transitions, 39 MB, and
the per-feature weights, 28 MB). Unpacked once into a cache directory as raw arrays and mapped
read-only, a start costs milliseconds and every process on the machine shares the same pages:
six nodes of one Compose file, or the test suite's servers, hold the model once.

The cache is keyed by py3langid's version and the packed file's size and time, so an upgrade
unpacks again; it is written to a temporary directory renamed into place (the rename is atomic:
processes starting together never read a half-written cache). When no cache directory is
writable, the model loads as py3langid loads it, in private memory: nothing fails for want of a
cache. Where: `$XDG_CACHE_HOME/babelroom`, else `~/.cache/babelroom` (the freedesktop convention; a
cache, not configuration: deleting it costs one unpacking).
"""

from __future__ import annotations

import json
import logging
import mmap
import os
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import numpy as np

log = logging.getLogger(__name__)

# the stdlib array typecodes py3langid's DFA arrays use, by item size
_TYPECODE: dict[int, Literal["H", "I", "L"]] = {2: "H", 4: "I", 8: "L"}


def cache_root() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "babelroom"


def load_identifier(norm_probs: bool = True) -> Any:
    """A py3langid LanguageIdentifier over the mapped model (or over py3langid's own load, with no cache)."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    packed = Path(MODEL_DIR) / MODEL_FILE
    try:
        where = _unpacked(packed)
        arrays = _mapped(where)
    except (OSError, ValueError, KeyError) as exc:
        log.info("py3langid's model loads unshared (no cache at %s: %s)", cache_root(), exc)
        return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=norm_probs)
    ptc, pc, classes, nextmove, row, output = arrays
    return LanguageIdentifier(ptc, pc, classes, nextmove, output, norm_probs=norm_probs, tk_row=row)


def _unpacked(packed: Path) -> Path:
    stat = packed.stat()
    version = metadata.version("py3langid")
    where = cache_root() / f"py3langid-{version}-{stat.st_size}-{stat.st_mtime_ns}"
    if (where / "meta.json").exists():
        return where
    from py3langid.modelio import load_model

    where.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=where.parent))
    try:
        ptc, pc, classes, nextmove, row, output = load_model(packed)
        np.save(staging / "ptc.npy", np.ascontiguousarray(ptc))
        np.save(staging / "pc.npy", np.ascontiguousarray(pc))
        (staging / "nextmove.bin").write_bytes(nextmove.tobytes())
        (staging / "row.bin").write_bytes(row.tobytes())
        meta = {
            "classes": list(classes),
            "output": list(output),
            "nextmove": nextmove.itemsize,
            "row": row.itemsize,
        }
        (staging / "meta.json").write_text(json.dumps(meta))  # last: its presence says the rest is whole
        try:
            staging.rename(where)
        except OSError:  # another process renamed its copy first: use that one
            if not (where / "meta.json").exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return where


def _mapped(where: Path) -> tuple[Any, Any, list[str], memoryview, memoryview, list[int]]:
    meta = json.loads((where / "meta.json").read_text())
    ptc = np.load(where / "ptc.npy", mmap_mode="r")
    pc = np.load(where / "pc.npy")
    # The DFA is walked one byte at a time by index: a memoryview of the mapping indexes as fast as
    # the stdlib array py3langid builds, and its pages are the page cache's, shared by every process.
    nextmove = _map_ints(where / "nextmove.bin", _TYPECODE[meta["nextmove"]])
    row = _map_ints(where / "row.bin", _TYPECODE[meta["row"]])
    return ptc, pc, list(meta["classes"]), nextmove, row, list(meta["output"])


def _map_ints(path: Path, typecode: Literal["H", "I", "L"]) -> memoryview:
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size == 0:
            raise ValueError(f"{path} is empty")
        mapping = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)  # outlives the file object
    return memoryview(mapping).cast(typecode)
