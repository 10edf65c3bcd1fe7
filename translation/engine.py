"""The Argos engine: installed packages loaded for the hot path (CTranslate2 + tokenizer).

We do not go through argostranslate's translate(): it translates one text at a
time, runs its sentence-boundary model (a download when offline) and gives no
control of batching or output length. Here a whole micro-batch of sentences is
tokenised, translated with one `translate_batch` call and detokenised, all inside
the model thread pool (CTranslate2 releases the GIL while it works).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from translation.batcher import PairBatcher
from translation.engines import Engine, Pair, Scored
from translation.packages import PackageInfo, list_packages
from translation.settings import TranslationSettings

log = logging.getLogger("babelroom.translation")


class Tokenizer(Protocol):
    def encode(self, texts: list[str]) -> list[list[str]]: ...

    def decode(self, tokens: list[list[str]]) -> list[str]: ...


class ModelSource(Protocol):
    """What a loaded model knows of where it came from (an Argos package, a CTranslate2 model)."""

    @property
    def from_code(self) -> str: ...
    @property
    def to_code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def path(self) -> Path: ...


class _SentencePiece:
    def __init__(self, path: Path) -> None:
        import sentencepiece as spm

        self._sp = spm.SentencePieceProcessor(model_file=str(path))

    def encode(self, texts: list[str]) -> list[list[str]]:
        pieces: list[list[str]] = self._sp.encode(texts, out_type=str)
        return pieces

    def decode(self, tokens: list[list[str]]) -> list[str]:
        return [self._sp.decode_pieces(t) for t in tokens]


class _ArgosBPE:
    """Older Argos packages ship bpe.model (Moses + BPE); argostranslate knows them."""

    def __init__(self, path: Path, from_code: str, to_code: str) -> None:
        from argostranslate.tokenizer import BPETokenizer

        self._bpe = BPETokenizer(path, from_code, to_code)
        self._lock = threading.Lock()  # sacremoses objects are not documented thread-safe

    def encode(self, texts: list[str]) -> list[list[str]]:
        with self._lock:
            return [self._bpe.encode(t) for t in texts]

    def decode(self, tokens: list[list[str]]) -> list[str]:
        with self._lock:
            return [self._bpe.decode(t) for t in tokens]


def output_cap(input_tokens: int, settings: TranslationSettings) -> int:
    """Most output tokens for an input of this length (stops runaway generation)."""
    return math.ceil(settings.max_output_ratio * input_tokens) + settings.max_output_extra


class PairModel:
    """Translate batches of sentences for one direct language pair (blocking: call
    it from a worker thread)."""

    info: ModelSource
    tokenizer: Tokenizer

    def __init__(self, info: PackageInfo, settings: TranslationSettings) -> None:
        import ctranslate2

        self.info = info
        self.settings = settings
        root = info.path
        if (root / "sentencepiece.model").exists():
            self.tokenizer = _SentencePiece(root / "sentencepiece.model")
        else:
            self.tokenizer = _ArgosBPE(root / "bpe.model", info.from_code, info.to_code)
        self.target_prefix = _target_prefix(root)
        self.translator = ctranslate2.Translator(
            str(root / "model"),
            device="cpu",
            compute_type=settings.compute_type,
            inter_threads=settings.inter_threads,
            intra_threads=settings.intra_threads,
        )

    def translate_batch(self, sentences: list[str]) -> list[str]:
        return [text for text, _ in self.translate_batch_scored(sentences)]

    def translate_batch_scored(self, sentences: list[str]) -> list[Scored]:
        """Each translation with its confidence: exp of the mean log-probability per output token
        (see token_confidence)."""
        if not sentences:
            return []
        tokens = self.tokenizer.encode(sentences)
        caps = [output_cap(len(t), self.settings) for t in tokens]
        outputs: list[list[str]] = [[] for _ in tokens]
        confidences: list[float] = [0.0 for _ in tokens]
        # CTranslate2 has one length limit per call. Calls per group of similar
        # length keep a short sentence from decoding as long as the longest one
        # when the model rambles; asynchronous calls let inter_threads > 1 run
        # the groups side by side.
        pending = []
        for group in length_groups(caps):
            limit = max(caps[i] for i in group)
            pending.append(
                (
                    group,
                    self.translator.translate_batch(
                        [tokens[i] for i in group],
                        target_prefix=[[self.target_prefix]] * len(group) if self.target_prefix else None,
                        beam_size=self.settings.beam_size,
                        max_decoding_length=limit + (1 if self.target_prefix else 0),
                        replace_unknowns=True,
                        length_penalty=LENGTH_PENALTY,
                        return_scores=True,
                        asynchronous=True,
                    ),
                )
            )
        for group, results in pending:
            for i, result in zip(group, results, strict=False):
                done = result.result()
                hyp = done.hypotheses[0]
                confidences[i] = token_confidence(done.scores[0] if done.scores else None, len(hyp))
                if self.target_prefix and hyp and hyp[0] == self.target_prefix:
                    hyp = hyp[1:]
                outputs[i] = hyp[: caps[i]]  # each output within its own cap
        texts = self.tokenizer.decode(outputs)
        return [(text.strip(), confidence) for text, confidence in zip(texts, confidences, strict=True)]


#: Argos's setting: slightly favours complete sentences in beam search.
LENGTH_PENALTY = 0.2


def token_confidence(score: float | None, length: int) -> float:
    """A CTranslate2 hypothesis score as a confidence in 0-1.

    CTranslate2 returns the hypothesis's summed log-probability divided by length**length_penalty;
    undone, that is the mean log-probability per output token, and its exp the geometric mean of
    the probabilities the model gave its own tokens: 1 when it was sure of every one, ~0.5-0.8 for
    a good model on fluent input, near 0 for a model guessing (random weights: ~0.002).
    """
    if score is None or not math.isfinite(score):
        return 0.0
    tokens = max(1, length)
    mean_log_prob = score * tokens**LENGTH_PENALTY / tokens
    return max(0.0, min(1.0, math.exp(mean_log_prob)))


#: A group is never split below this many sentences: per-call overhead would eat the gain.
MIN_GROUP = 8


def length_groups(caps: list[int], ratio: float = 1.5) -> list[list[int]]:
    """Indices grouped by similar output cap (a new group starts when the cap
    grows past ratio x the group's smallest and the group has MIN_GROUP items)."""
    order = sorted(range(len(caps)), key=caps.__getitem__)
    groups: list[list[int]] = []
    for i in order:
        if groups and not (len(groups[-1]) >= MIN_GROUP and caps[i] > ratio * caps[groups[-1][0]]):
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _target_prefix(root: Path) -> str:
    import json

    try:
        return json.loads((root / "metadata.json").read_text()).get("target_prefix", "") or ""
    except (OSError, ValueError):
        return ""


class ArgosEngine(Engine):
    """Argos packages from `packages_dir`, micro-batched per pair on a model thread pool."""

    name = "argos"

    def __init__(self, settings: TranslationSettings, on_batch: Callable[[str, int], None] | None = None) -> None:
        self.settings = settings
        self.models: dict[Pair, PairModel] = {}
        self.batchers: dict[Pair, PairBatcher[Scored]] = {}
        self._tags: dict[Pair, str] = {}
        self._on_batch = on_batch
        self._executor = ThreadPoolExecutor(max(1, settings.inter_threads), thread_name_prefix="babelroom-model")

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.models = await loop.run_in_executor(self._executor, self._load)
        for pair, model in self.models.items():
            name = f"{pair[0]}-{pair[1]}"
            self._tags[pair] = package_tag(model.info)
            self.batchers[pair] = PairBatcher(
                name,
                model.translate_batch_scored,
                self._executor,
                batch_max=self.settings.batch_max,
                wait_s=self.settings.batch_wait_ms / 1000,
                max_in_flight=self.settings.inter_threads,
                on_batch=None if self._on_batch is None else (lambda n, name=name: self._on_batch(name, n)),  # type: ignore[misc]
            )

    what = "package"  # how the log names one installed pair

    def _installed(self) -> list[ModelSource]:
        """The installed pairs, in the order they are loaded (a later one of the same pair wins)."""
        return list(list_packages(self.settings.packages_dir))

    def _model(self, info: ModelSource) -> PairModel:
        assert isinstance(info, PackageInfo)
        return PairModel(info, self.settings)

    def _load(self) -> dict[Pair, PairModel]:
        # CTranslate2's worker threads are created here and inherit this thread's
        # priority: lowered, so the event loop thread (delivering originals) gets a
        # core first when the model saturates the machine.
        lower_thread_priority(self.settings.model_nice)
        models: dict[Pair, PairModel] = {}
        for info in self._installed():
            try:
                model = self._model(info)
                model.translate_batch(["Hello."])  # first call allocates; pay it now
            except Exception:
                log.exception("translation: cannot load %s %s; skipping it", self.what, info.path)
                continue
            models[(info.from_code, info.to_code)] = model
        return models

    def pairs(self) -> dict[Pair, str]:
        return dict(self._tags)

    async def translate_scored(self, pair: Pair, sentences: list[str]) -> list[Scored]:
        return await self.batchers[pair].translate(sentences)

    def depth(self) -> int:
        return sum(b.depth for b in list(self.batchers.values()))

    async def close(self) -> None:
        for batcher in self.batchers.values():
            await batcher.close()
        self._executor.shutdown(wait=False, cancel_futures=True)


def package_tag(info: ModelSource) -> str:
    """Short identity of a package's version, for cache keys."""
    text = f"{info.name}:{info.version}"
    return hashlib.blake2b(text.encode(), digest_size=4).hexdigest()


def lower_thread_priority(nice: int) -> None:
    """Raise the calling thread's nice value by `nice` (Linux: per thread; threads
    it starts inherit it). Best effort: elsewhere it does nothing."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        tid = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, current + nice))
    except OSError as exc:
        log.debug("could not lower model thread priority: %s", exc)
