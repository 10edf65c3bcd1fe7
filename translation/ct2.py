"""The CTranslate2 model engine: quickmt and converted OPUS-MT models, one directory per pair.

A pair is a CTranslate2 model directory (model.bin, config.json when the converter wrote one, and
its vocabulary file(s):
shared_vocabulary.json, or source_vocabulary.json + target_vocabulary.json) with its
SentencePiece model(s), in one of the two layouts published models ship:

- quickmt (huggingface.co/quickmt): `src.spm.model` and `tgt.spm.model`;
- OPUS-MT converted with `ct2-transformers-converter` / `ct2-opus-mt-converter`, the Marian
  files copied beside it: `source.spm` and `target.spm`;
- (one shared `sentencepiece.model` is accepted too, as Argos packages have it.)

`babelroom languages install` puts each in `[translation] models_dir`/<name>/ and writes
`babelroom.json` there: the pair, where it came from and which revision, so a server never
has to guess. The pair is taken from `--pair`, else from the name's last two language codes
(quickmt-zh-en, opus-mt-de-en); an archive (.zip, .tar.gz, .tgz, .tar) holding one such
directory installs the same way; `NAMESPACE/NAME[@REVISION]` downloads it from the Hugging Face
Hub with `huggingface_hub.snapshot_download` (the revision pinned: the argument, else the
`[translation] hub_models` entry for that name; the Hub endpoint is `[translation] hub_endpoint`
or huggingface_hub's own default, which honours HF_ENDPOINT).

At run time each pair is translated like an Argos package (translation.engine.PairModel):
micro-batched through `PairBatcher` on the model thread pool, length-grouped
`translate_batch` calls, output capped by `max_output_ratio`; the service caches and protects
glossary terms the same way for every engine.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import shutil
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from translation.engine import ArgosEngine, ModelSource, PairModel
from translation.engines import Pair
from translation.packages import PackageError, parse_pair
from translation.settings import TranslationSettings

log = logging.getLogger("babelroom.translation")

#: Written into each installed model directory.
METADATA = "babelroom.json"
#: (source tokenizer, target tokenizer) file names, by layout, in order of preference.
LAYOUTS: dict[str, tuple[str, str]] = {
    "quickmt": ("src.spm.model", "tgt.spm.model"),
    "opus-mt": ("source.spm", "target.spm"),
    "shared": ("sentencepiece.model", "sentencepiece.model"),
}
_VOCABULARIES = (
    ("shared_vocabulary.json",),
    ("shared_vocabulary.txt",),
    ("source_vocabulary.json", "target_vocabulary.json"),
    ("source_vocabulary.txt", "target_vocabulary.txt"),
)
#: Files of a Hub repo a CTranslate2 pair does not need: quickmt repos also hold the PyTorch (eole)
#: model, ~800 MB, and OPUS-MT repos their Transformers/TF/Flax weights.
HUB_IGNORE: list[str] = [
    "eole_model/*",
    "eole-config.yaml",
    "*.safetensors",
    "pytorch_model*",
    "tf_model*",
    "flax_model*",
    "rust_model*",
    "*.pt",
    "*.ckpt",
    "*.msgpack",
    "*.h5",
    "onnx/*",
]
_HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class ModelInfo:
    """An installed CTranslate2 pair."""

    from_code: str
    to_code: str
    name: str  # the folder's name in models_dir
    version: str  # the Hub revision (commit) it came from, or "local"
    source: str  # the Hub name or the path it was installed from
    layout: str  # a key of LAYOUTS
    path: Path

    @property
    def pair(self) -> str:
        return f"{self.from_code}-{self.to_code}"

    def tokenizer_paths(self) -> tuple[Path, Path]:
        source, target = LAYOUTS[self.layout]
        return self.path / source, self.path / target


def detect_layout(root: Path) -> str:
    """The layout of a model directory; PackageError naming what is missing otherwise."""
    if not (root / "model.bin").is_file():
        raise PackageError(f"{root}: no CTranslate2 model (model.bin)")
    # config.json (CTranslate2's options, e.g. add_source_bos) is optional: older conversions lack it.
    if not any(all((root / name).is_file() for name in names) for names in _VOCABULARIES):
        raise PackageError(f"{root}: no vocabulary (shared_vocabulary.json, or source_ and target_vocabulary.json)")
    for layout, (source, target) in LAYOUTS.items():
        if (root / source).is_file() and (root / target).is_file():
            return layout
    raise PackageError(
        f"{root}: no SentencePiece models (src.spm.model + tgt.spm.model as quickmt "
        "ships them, or source.spm + target.spm as OPUS-MT does)"
    )


def pair_from_name(name: str) -> Pair | None:
    """'quickmt-zh-en', 'quickmt/quickmt-zh-en', 'opus-mt-de-en-ct2' -> the pair, if named."""
    parts = [p for p in re.split(r"[-_/.@]", name.lower()) if p]
    codes = [
        i
        for i, p in enumerate(parts)
        if p.isalpha() and 2 <= len(p) <= 3 and p not in {"mt", "ct", "hf", "big", "tc", "opus", "tiny", "int", "v"}
    ]
    for first, second in zip(codes[::-1][1:], codes[::-1], strict=False):
        if second == first + 1:
            return parts[first], parts[second]
    return None


def _read_metadata(root: Path) -> dict[str, Any]:
    try:
        data = json.loads((root / METADATA).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def list_models(models_dir: str | os.PathLike[str]) -> list[ModelInfo]:
    """Installed CTranslate2 pairs, sorted by pair; broken folders are skipped with a warning."""
    directory = Path(models_dir)
    if not directory.is_dir():
        return []
    found: list[ModelInfo] = []
    for child in sorted(directory.iterdir()):
        if not child.is_dir() or child.name.startswith("."):
            continue
        try:
            layout = detect_layout(child)
        except PackageError as exc:
            log.warning("skipping %s: %s", child, exc)
            continue
        meta = _read_metadata(child)
        pair = (
            (meta["from_code"], meta["to_code"])
            if meta.get("from_code") and meta.get("to_code")
            else pair_from_name(child.name)
        )
        if pair is None:
            log.warning("skipping %s: which pair it serves is unknown (reinstall it with --pair)", child)
            continue
        found.append(
            ModelInfo(
                pair[0],
                pair[1],
                child.name,
                str(meta.get("revision") or "local"),
                str(meta.get("source") or child),
                layout,
                child,
            )
        )
    return sorted(found, key=lambda m: (m.from_code, m.to_code, m.name))


def _model_root(directory: Path) -> Path:
    """The model directory inside an unpacked archive or download (itself, or its one subfolder)."""
    if (directory / "model.bin").exists():
        return directory
    subdirs = [c for c in directory.iterdir() if c.is_dir() and not c.name.startswith(".")]
    if len(subdirs) == 1 and (subdirs[0] / "model.bin").exists():
        return subdirs[0]
    raise PackageError(f"{directory}: no CTranslate2 model (model.bin) at the top or in one folder")


def _unpack(archive: Path, into: Path) -> Path:
    name = archive.name.lower()
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                if any(n.startswith("/") or ".." in n.split("/") for n in zf.namelist()):
                    raise PackageError(f"{archive}: unsafe paths in archive")
                zf.extractall(into)
        elif name.endswith((".tar.gz", ".tgz", ".tar", ".tar.xz", ".tar.bz2")):
            with tarfile.open(archive) as tf:
                tf.extractall(into, filter="data")  # refuses absolute paths, links out, devices
        else:
            raise PackageError(f"{archive}: not a model directory nor an archive (.zip, .tar.gz)")
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as exc:
        raise PackageError(f"{archive}: cannot unpack ({exc})") from None
    return _model_root(into)


def install_model(
    path: str | os.PathLike[str],
    models_dir: str | os.PathLike[str],
    *,
    pair: Pair | None = None,
    name: str | None = None,
    source: str | None = None,
    revision: str = "local",
) -> ModelInfo:
    """Install a model directory or archive; replaces an installed model of the same pair."""
    path = Path(path)
    if not path.exists():
        raise PackageError(f"{path}: no such file or directory")
    with tempfile.TemporaryDirectory(prefix="babelroom-model-") as tmp:
        root = path if path.is_dir() else _unpack(path, Path(tmp))
        if path.is_dir():
            root = _model_root(path)
        layout = detect_layout(root)
        meta = _read_metadata(root)
        folder = name or (root.name if root != Path(tmp) else path.name.split(".")[0])
        pair = (
            pair
            or ((meta["from_code"], meta["to_code"]) if meta.get("from_code") else None)
            or pair_from_name(source or folder)
            or pair_from_name(path.name)
        )
        if pair is None:
            raise PackageError(f"{path}: cannot tell which pair this model serves from its name; give it: --pair zh-en")
        folder = re.sub(r"[^\w.-]+", "-", folder).strip(".-") or f"ct2-{pair[0]}-{pair[1]}"
        models = Path(models_dir)
        models.mkdir(parents=True, exist_ok=True)
        for old in list_models(models):
            if (old.from_code, old.to_code) == pair and old.name != folder:
                log.info("replacing %s with %s", old.name, folder)
                shutil.rmtree(old.path)
        target = models / folder
        staging = models / f".{folder}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(root, staging, ignore=shutil.ignore_patterns(".cache", ".git*"))
        metadata = {
            "from_code": pair[0],
            "to_code": pair[1],
            "source": source or str(path),
            "revision": revision,
            "layout": layout,
        }
        (staging / METADATA).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)  # a half-copied model is never listed
    info = next(m for m in list_models(models) if m.name == folder)
    log.info("installed %s (%s)", info.pair, info.name)
    return info


def is_hub_name(text: str) -> bool:
    """'quickmt/quickmt-zh-en' or 'quickmt/quickmt-zh-en@<revision>' (and not a local path)."""
    return bool(_HUB_NAME.match(text.split("@", 1)[0])) and not Path(text).exists()


def pinned_revision(repo_id: str, settings: TranslationSettings) -> str | None:
    """The revision `[translation] hub_models` pins for this Hub name, if any."""
    for entry in settings.hub_models:
        name, _, revision = entry.partition("@")
        if name == repo_id and revision:
            return revision
    return None


def install_from_hub(
    spec: str,
    models_dir: str | os.PathLike[str],
    settings: TranslationSettings,
    *,
    pair: Pair | None = None,
    progress: bool = True,
) -> ModelInfo:
    """Download `NAMESPACE/NAME[@REVISION]` from the Hugging Face Hub and install it."""
    repo_id, _, revision = spec.partition("@")
    revision = revision or pinned_revision(repo_id, settings) or ""
    if not revision:
        log.warning(
            '%s: no revision pinned ([translation] hub_models = ["%s@COMMIT"]); taking the current main',
            repo_id,
            repo_id,
        )
        revision = "main"
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import (
            HfHubHTTPError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )

        # (lazily exported by huggingface_hub.utils, which mypy cannot see)
        hub_utils: Any = importlib.import_module("huggingface_hub.utils")
    except ModuleNotFoundError:
        raise PackageError("huggingface_hub is not installed; pip install huggingface_hub") from None
    if progress:
        hub_utils.enable_progress_bars()
    else:
        hub_utils.disable_progress_bars()
    with tempfile.TemporaryDirectory(prefix="babelroom-hub-") as tmp:
        try:
            path = snapshot_download(
                repo_id,
                revision=revision,
                local_dir=tmp,
                endpoint=settings.hub_endpoint or None,
                ignore_patterns=HUB_IGNORE,
            )
        except LocalEntryNotFoundError as exc:
            raise PackageError(
                f"cannot reach the Hugging Face Hub for {repo_id} ({exc.__class__.__name__}). " + offline_hint(repo_id)
            ) from None
        except RevisionNotFoundError:
            raise PackageError(f"{repo_id} has no revision {revision!r} on the Hub") from None
        except RepositoryNotFoundError:
            raise PackageError(f"no model {repo_id!r} on the Hub (names look like quickmt/quickmt-zh-en)") from None
        except HfHubHTTPError as exc:
            raise PackageError(f"{repo_id}@{revision}: the Hub refused ({str(exc).splitlines()[0]})") from None
        except OSError as exc:
            raise PackageError(f"{repo_id}: download failed ({exc}). " + offline_hint(repo_id)) from None
        commit = revision if _COMMIT.match(revision) else _downloaded_commit(Path(path)) or revision
        return install_model(path, models_dir, pair=pair, name=repo_id.split("/")[-1], source=repo_id, revision=commit)


def _downloaded_commit(local_dir: Path) -> str | None:
    # huggingface_hub records each file's commit in local_dir/.cache/huggingface/download/*.metadata
    for meta in sorted((local_dir / ".cache" / "huggingface" / "download").rglob("*.metadata")):
        first = meta.read_text(encoding="utf-8").splitlines()[:1]
        if first and _COMMIT.match(first[0].strip()):
            return first[0].strip()
    return None


def offline_hint(name: str) -> str:
    return (
        f"If this machine is offline, download {name} on one that is online "
        "(`huggingface-cli download NAME --local-dir DIR`, or `babelroom languages install NAME` "
        "there) and bring the directory: `babelroom languages install DIR`."
    )


def remove_model(pair_or_name: str, models_dir: str | os.PathLike[str]) -> list[ModelInfo]:
    """Remove the model(s) of a pair ('zh-en') or with a folder name; returns them."""
    pair = parse_pair(pair_or_name)
    doomed = [
        m for m in list_models(models_dir) if m.name == pair_or_name or (pair and (m.from_code, m.to_code) == pair)
    ]
    for info in doomed:
        shutil.rmtree(info.path)
        log.info("removed %s (%s)", info.pair, info.name)
    return doomed


class _SplitSentencePiece:
    """Source text through the source model, output through the target model."""

    def __init__(self, source: Path, target: Path) -> None:
        import sentencepiece as spm

        self._source = spm.SentencePieceProcessor(model_file=str(source))
        self._target = self._source if source == target else spm.SentencePieceProcessor(model_file=str(target))

    def encode(self, texts: list[str]) -> list[list[str]]:
        pieces: list[list[str]] = self._source.encode(texts, out_type=str)
        return pieces

    def decode(self, tokens: list[list[str]]) -> list[str]:
        return [self._target.decode_pieces(t) for t in tokens]


class Ct2PairModel(PairModel):
    """One installed CTranslate2 pair (blocking: call it from a worker thread)."""

    def __init__(self, info: ModelInfo, settings: TranslationSettings) -> None:
        import ctranslate2

        # Not PairModel.__init__: that one reads an Argos package's layout.
        self.info = info
        self.settings = settings
        self.tokenizer = _SplitSentencePiece(*info.tokenizer_paths())
        self.target_prefix = ""
        self.translator = ctranslate2.Translator(
            str(info.path),
            device="cpu",
            compute_type=settings.compute_type,
            inter_threads=settings.inter_threads,
            intra_threads=settings.intra_threads,
        )


class Ct2Engine(ArgosEngine):
    """CTranslate2 models from `models_dir`, batched per pair exactly as Argos packages are."""

    name = "ct2"

    what = "model"

    def _installed(self) -> list[ModelSource]:
        first: dict[Pair, ModelInfo] = {}  # one model per pair: the first listed
        for info in list_models(self.settings.models_dir):
            first.setdefault((info.from_code, info.to_code), info)
        return list(first.values())

    def _model(self, info: ModelSource) -> PairModel:
        assert isinstance(info, ModelInfo)
        return Ct2PairModel(info, self.settings)
