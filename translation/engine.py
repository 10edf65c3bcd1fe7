"""One installed package, loaded for the hot path: CTranslate2 + its tokenizer.

We do not go through argostranslate's translate(): it translates one text at a
time, runs its sentence-boundary model (a download when offline) and gives no
control of batching or output length. Here a whole micro-batch of sentences is
tokenised, translated with one `translate_batch` call and detokenised, all inside
the model thread pool (CTranslate2 releases the GIL while it works).
"""

from __future__ import annotations

import logging
import math
import threading
from pathlib import Path

from .packages import PackageInfo
from .settings import TranslationSettings

log = logging.getLogger("babelroom.translation")


class _SentencePiece:
    def __init__(self, path: Path) -> None:
        import sentencepiece as spm

        self._sp = spm.SentencePieceProcessor(model_file=str(path))

    def encode(self, texts: list[str]) -> list[list[str]]:
        return self._sp.encode(texts, out_type=str)

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

    def __init__(self, info: PackageInfo, settings: TranslationSettings) -> None:
        import ctranslate2

        self.info = info
        self.settings = settings
        root = info.path
        self.tokenizer: _SentencePiece | _ArgosBPE
        if (root / "sentencepiece.model").exists():
            self.tokenizer = _SentencePiece(root / "sentencepiece.model")
        else:
            self.tokenizer = _ArgosBPE(root / "bpe.model", info.from_code, info.to_code)
        self.target_prefix = _target_prefix(root)
        self.translator = ctranslate2.Translator(
            str(root / "model"), device="cpu", compute_type=settings.compute_type,
            inter_threads=settings.inter_threads, intra_threads=settings.intra_threads,
        )

    def translate_batch(self, sentences: list[str]) -> list[str]:
        if not sentences:
            return []
        tokens = self.tokenizer.encode(sentences)
        caps = [output_cap(len(t), self.settings) for t in tokens]
        outputs: list[list[str]] = [[] for _ in tokens]
        # CTranslate2 has one length limit per call. Calls per group of similar
        # length keep a short sentence from decoding as long as the longest one
        # when the model rambles; asynchronous calls let inter_threads > 1 run
        # the groups side by side.
        pending = []
        for group in length_groups(caps):
            limit = max(caps[i] for i in group)
            pending.append((group, self.translator.translate_batch(
                [tokens[i] for i in group],
                target_prefix=[[self.target_prefix]] * len(group) if self.target_prefix else None,
                beam_size=self.settings.beam_size,
                max_decoding_length=limit + (1 if self.target_prefix else 0),
                replace_unknowns=True,
                length_penalty=0.2,  # Argos's setting: slightly favours complete sentences
                asynchronous=True,
            )))
        for group, results in pending:
            for i, result in zip(group, results):
                hyp = result.result().hypotheses[0]
                if self.target_prefix and hyp and hyp[0] == self.target_prefix:
                    hyp = hyp[1:]
                outputs[i] = hyp[: caps[i]]  # each output within its own cap
        return [text.strip() for text in self.tokenizer.decode(outputs)]


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
