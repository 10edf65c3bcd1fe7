"""Build real `.argosmodel` packages offline, with random weights.

Tests and benchmarks need packages that go through exactly the code paths a real
Argos package does (zip layout, metadata.json, a CTranslate2 model directory, a
SentencePiece model) without downloading anything. This module makes them:

1. a SentencePiece model trained on a corpus generated here (several scripts, so
   CJK, Cyrillic, Arabic... tokenise like in real packages; byte fallback for the rest);
2. a Marian-style transformer with random weights built with `transformers`;
3. converted to int8 with `ctranslate2.converters.TransformersConverter`;
4. zipped with metadata.json inside one top-level folder, as Argos expects.

Random weights produce meaningless text of whatever length the decoder is allowed;
that is fine for testing routing, batching, caching and delivery, and it is the
worst case for speed (every output runs to the length cap).

    python -m translation.testpkg OUT_DIR [--size tiny|base] [--pairs de-en en-es ...]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import shutil
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("babelroom.translation")


@dataclass(frozen=True)
class ModelSize:
    """Shape of the generated transformer and its vocabulary."""

    d_model: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    corpus_lines: int
    chars_per_script: int  # how many distinct CJK/Hangul/... characters the corpus uses


SIZES: dict[str, ModelSize] = {
    # ~400 KB zipped: fast to build inside a test session.
    "tiny": ModelSize(d_model=64, layers=2, heads=2, ffn=256, vocab=1000, corpus_lines=4000, chars_per_script=60),
    # Transformer-base (the shape of Argos's own models), ~60 MB in int8.
    "base": ModelSize(
        d_model=512, layers=6, heads=8, ffn=2048, vocab=24000, corpus_lines=120_000, chars_per_script=1500
    ),
}

DEFAULT_PAIRS: tuple[tuple[str, str], ...] = (("de", "en"), ("en", "de"), ("en", "es"))

_NAMES = {
    "en": "English",
    "de": "German",
    "es": "Spanish",
    "fr": "French",
    "it": "Italian",
    "pt": "Portuguese",
    "ru": "Russian",
    "zh": "Chinese",
    "ja": "Japanese",
    "ar": "Arabic",
    "nl": "Dutch",
    "pl": "Polish",
}

# A few real chat phrases so that common words get whole pieces, as in a real model.
_SEED_PHRASES = (
    "Hello everyone, welcome to the session!",
    "Can you hear me?",
    "Thanks a lot.",
    "Guten Morgen zusammen!",
    "Wann beginnt der nächste Vortrag?",
    "Vielen Dank.",
    "¡Hola a todos!",
    "¿Dónde está la sala dos?",
    "Muchas gracias por la charla.",
    "Bonjour à tous !",
    "Merci beaucoup, c'était très intéressant.",
    "Ciao a tutti, come state?",
    "Olá pessoal, tudo bem?",
    "Goedemorgen allemaal.",
    "Dzień dobry wszystkim!",
    "Привет всем! Как дела?",
    "Добрый день, коллеги.",
    "大家好！今天的会议几点开始？",
    "こんにちは、よろしくお願いします。",
    "안녕하세요, 반갑습니다.",
    "مرحبا بالجميع، كيف حالكم؟",
    "שלום לכולם, מה שלומכם?",
    "नमस्ते, आप कैसे हैं?",
    "Merhaba arkadaşlar, nasılsınız?",
    "Γεια σας, τι κάνετε;",
)

_LATIN_ONSETS = (
    "b",
    "c",
    "d",
    "f",
    "g",
    "h",
    "j",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "w",
    "z",
    "ch",
    "sh",
    "th",
    "st",
    "tr",
    "br",
    "pl",
    "gr",
    "kr",
    "sz",
)
_LATIN_VOWELS = (
    "a",
    "e",
    "i",
    "o",
    "u",
    "a",
    "e",
    "i",
    "o",
    "y",
    "ä",
    "ö",
    "ü",
    "é",
    "è",
    "à",
    "ña",
    "ça",
    "ã",
    "õ",
    "ł",
    "ś",
    "ż",
    "ı",
    "ş",
    "ğ",
)
_CYR_ONSETS = ("б", "в", "г", "д", "ж", "з", "к", "л", "м", "н", "п", "р", "с", "т", "ф", "х", "ц", "ч", "ш", "щ")
_CYR_VOWELS = ("а", "е", "и", "о", "у", "ы", "я", "ю", "э", "ё", "і", "ї", "є", "ь")
_GREEK = "αβγδεζηθικλμνξοπρστυφχψω"
_ARABIC = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
_HEBREW = "אבגדהוזחטיכלמנסעפצקרשת"
_DEVANAGARI_C = "कखगघचछजझटठडढणतथदधनपफबभमयरलवशषसह"
_DEVANAGARI_V = ["", "ा", "ि", "ी", "ु", "ू", "े", "ै", "ो", "ौ"]


class _Corpus:
    """Deterministic generator of multi-script pseudo-sentences."""

    def __init__(self, seed: int, chars_per_script: int) -> None:
        self.rng = random.Random(seed)
        pick = self.rng.sample
        n = chars_per_script
        self.han = [chr(c) for c in pick(range(0x4E00, 0x4E00 + 6000), n)]
        self.hangul = [chr(c) for c in pick(range(0xAC00, 0xAC00 + 4000), n)]
        kana = list(range(0x3041, 0x3097)) + list(range(0x30A1, 0x30F7))
        self.kana = [chr(c) for c in pick(kana, min(n, len(kana)))]
        # A Zipf-like lexicon per alphabetic script: real text reuses words a lot,
        # which is what lets SentencePiece find whole-word pieces.
        self.lexicons = {
            "latin": [self._word(_LATIN_ONSETS, _LATIN_VOWELS) for _ in range(4 * n)],
            "cyrillic": [self._word(_CYR_ONSETS, _CYR_VOWELS) for _ in range(2 * n)],
            "greek": [self._letters(_GREEK) for _ in range(n)],
            "arabic": [self._letters(_ARABIC) for _ in range(n)],
            "hebrew": [self._letters(_HEBREW) for _ in range(n)],
            "devanagari": [self._devanagari() for _ in range(n)],
        }
        self.weights = {k: [1 / (i + 1) for i in range(len(v))] for k, v in self.lexicons.items()}

    def _word(self, onsets: Sequence[str], vowels: Sequence[str]) -> str:
        syllables = self.rng.randint(1, 4)
        return "".join(self.rng.choice(onsets) + self.rng.choice(vowels) for _ in range(syllables))

    def _letters(self, alphabet: str) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(self.rng.randint(2, 8)))

    def _devanagari(self) -> str:
        return "".join(
            self.rng.choice(_DEVANAGARI_C) + self.rng.choice(_DEVANAGARI_V) for _ in range(self.rng.randint(1, 4))
        )

    def line(self) -> str:
        rng = self.rng
        script = rng.choices(
            ["latin", "cyrillic", "greek", "arabic", "hebrew", "devanagari", "han", "kana", "hangul", "seed"],
            weights=[40, 10, 3, 5, 3, 3, 10, 6, 5, 15],
        )[0]
        if script == "seed":
            return rng.choice(_SEED_PHRASES)
        if script in ("han", "kana"):
            chars = self.han if script == "han" else self.kana + self.han
            text = "".join(rng.choice(chars) for _ in range(rng.randint(4, 30)))
            return text + rng.choice("。！？、")
        if script == "hangul":
            words = [
                "".join(rng.choice(self.hangul) for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(2, 8))
            ]
            return " ".join(words) + rng.choice(".?!")
        words = rng.choices(self.lexicons[script], self.weights[script], k=rng.randint(3, 14))
        text = " ".join(words)
        if rng.random() < 0.3:
            text += " " + str(rng.randint(0, 2030))
        return text[:1].upper() + text[1:] + rng.choice([".", ".", "?", "!", ",", "…", ":)"])


def train_sentencepiece(out_path: Path, size: ModelSize, seed: int = 0, extra_text: Sequence[str] = ()) -> Path:
    """Train a unigram SentencePiece model on generated text (plus extra_text, real
    lines weighted up so their words get whole pieces, as in a real model)."""
    import sentencepiece as spm

    corpus = _Corpus(seed, size.chars_per_script)
    lines = [corpus.line() for _ in range(size.corpus_lines)]
    lines += [line for line in extra_text if line.strip()] * 20
    with tempfile.TemporaryDirectory() as tmp:
        text_path = Path(tmp) / "corpus.txt"
        text_path.write_text("\n".join(lines), encoding="utf-8")
        prefix = Path(tmp) / "sp"
        spm.SentencePieceTrainer.train(
            input=str(text_path),
            model_prefix=str(prefix),
            vocab_size=size.vocab,
            model_type="unigram",
            character_coverage=1.0,
            byte_fallback=True,
            # Marian's convention: </s> is id 0, <unk> id 1; no <s>, no pad (the
            # converter appends <pad> as the last id and CTranslate2 drops it again).
            eos_id=0,
            unk_id=1,
            bos_id=-1,
            pad_id=-1,
            num_threads=2,
            minloglevel=2,
            hard_vocab_limit=False,
        )
        out_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f"{prefix}.model", out_path)
    return out_path


class _VocabOnlyTokenizer:
    """The tiny slice of a Hugging Face tokenizer that the CTranslate2 converter reads."""

    eos_token = "</s>"
    unk_token = "<unk>"
    bos_token = None

    def __init__(self, pieces: list[str]) -> None:
        self._vocab = {p: i for i, p in enumerate(pieces)}

    def get_vocab(self) -> dict[str, int]:
        return dict(self._vocab)

    def convert_ids_to_tokens(self, ids: int | list[int]) -> str | list[str]:
        inverse = {i: p for p, i in self._vocab.items()}
        return inverse[ids] if isinstance(ids, int) else [inverse[i] for i in ids]


def build_ct2_model(sp_model: Path, out_dir: Path, size: ModelSize, seed: int) -> Path:
    """Random-weight Marian transformer -> CTranslate2 int8 model directory."""
    import ctranslate2
    import sentencepiece as spm
    import torch
    from transformers import MarianConfig, MarianMTModel

    sp = spm.SentencePieceProcessor(model_file=str(sp_model))
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    pad_id = len(pieces)
    config = MarianConfig(
        vocab_size=pad_id + 1,
        decoder_vocab_size=pad_id + 1,
        d_model=size.d_model,
        encoder_layers=size.layers,
        decoder_layers=size.layers,
        encoder_attention_heads=size.heads,
        decoder_attention_heads=size.heads,
        encoder_ffn_dim=size.ffn,
        decoder_ffn_dim=size.ffn,
        activation_function="swish",
        max_position_embeddings=512,
        pad_token_id=pad_id,
        eos_token_id=0,
        forced_eos_token_id=0,
        decoder_start_token_id=pad_id,
        share_encoder_decoder_embeddings=True,
    )
    torch.manual_seed(seed)
    model = MarianMTModel(config).eval()  # type: ignore[no-untyped-call]  # transformers leaves eval() untyped
    tokenizer = _VocabOnlyTokenizer([*pieces, "<pad>"])

    class _InMemoryConverter(ctranslate2.converters.TransformersConverter):  # type: ignore[misc]  # untyped library
        # The stock converter loads model and tokenizer from the hub or a directory;
        # ours exist only in memory, so hand them over directly.
        def load_model(self, model_class: Any, model_name_or_path: str, **kwargs: Any) -> Any:
            return model

        def load_tokenizer(self, tokenizer_class: Any, model_name_or_path: str, **kwargs: Any) -> Any:
            return tokenizer

    with tempfile.TemporaryDirectory() as tmp:
        config.save_pretrained(tmp)  # the converter reads config.json to pick a loader
        _InMemoryConverter(tmp).convert(str(out_dir), quantization="int8", force=True)
    return out_dir


def build_package(
    from_code: str,
    to_code: str,
    out_dir: Path,
    *,
    size: str = "tiny",
    sp_model: Path | None = None,
    seed: int | None = None,
    version: str = "1.0",
) -> Path:
    """Build `translate-{from}_{to}-{version}.argosmodel` in out_dir and return its path.

    sp_model lets several packages share one SentencePiece model (training it is
    the slow part); without it one is trained here.
    """
    shape = SIZES[size]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if seed is None:
        seed = sum(map(ord, from_code + to_code))
    folder = f"translate-{from_code}_{to_code}-{version.replace('.', '_')}"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / folder
        root.mkdir()
        if sp_model is None:
            train_sentencepiece(root / "sentencepiece.model", shape, seed)
        else:
            shutil.copyfile(sp_model, root / "sentencepiece.model")
        build_ct2_model(root / "sentencepiece.model", root / "model", shape, seed)
        metadata = {
            "package_version": version,
            "argos_version": "1.11",
            "from_code": from_code,
            "from_name": _NAMES.get(from_code, from_code),
            "to_code": to_code,
            "to_name": _NAMES.get(to_code, to_code),
            "type": "translate",
            "links": [],
        }
        (root / "metadata.json").write_text(json.dumps(metadata, indent=2))
        (root / "README.md").write_text(
            f"Test package {from_code}->{to_code} ({size}) built by translation.testpkg.\n"
            "Random weights: the output is meaningless.\n"
        )
        target = out_dir / f"{folder}.argosmodel"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(root.rglob("*")):
                zf.write(path, path.relative_to(Path(tmp)).as_posix())
    return target


#: File names of the SentencePiece models in a CTranslate2 model directory, by layout (translation.ct2.LAYOUTS).
CT2_LAYOUTS: dict[str, tuple[str, str]] = {
    "quickmt": ("src.spm.model", "tgt.spm.model"),
    "opus-mt": ("source.spm", "target.spm"),
}


def build_ct2_model_dir(
    from_code: str,
    to_code: str,
    out_dir: Path,
    *,
    layout: str = "quickmt",
    size: str = "tiny",
    sp_model: Path | None = None,
    seed: int | None = None,
) -> Path:
    """A CTranslate2 model directory as quickmt (or converted OPUS-MT) ships one, random weights:
    `out_dir/{layout}-{from}-{to}/` with model.bin, config.json, the vocabulary and both
    SentencePiece models (the same model twice: the vocabulary is shared)."""
    shape = SIZES[size]
    if seed is None:
        seed = sum(map(ord, from_code + to_code))
    root = Path(out_dir) / f"{layout}-{from_code}-{to_code}"
    with tempfile.TemporaryDirectory() as tmp:
        spm_path = sp_model or train_sentencepiece(Path(tmp) / "sp.model", shape, seed)
        build_ct2_model(spm_path, root, shape, seed)
        for name in CT2_LAYOUTS[layout]:
            shutil.copyfile(spm_path, root / name)
    (root / "README.md").write_text(
        f"Test model {from_code}->{to_code} ({size}, {layout} layout) built by "
        "translation.testpkg. Random weights: the output is meaningless.\n"
    )
    return root


def build_packages(
    out_dir: Path,
    pairs: tuple[tuple[str, str], ...] = DEFAULT_PAIRS,
    *,
    size: str = "tiny",
    extra_text: Sequence[str] = (),
) -> list[Path]:
    """Build one package per pair, all sharing one SentencePiece model."""
    out_dir = Path(out_dir)
    with tempfile.TemporaryDirectory() as tmp:
        sp_model = train_sentencepiece(Path(tmp) / "sentencepiece.model", SIZES[size], extra_text=extra_text)
        return [build_package(f, t, out_dir, size=size, sp_model=sp_model) for f, t in pairs]


def read_lines(path: Path) -> list[str]:
    """Text lines of a file; for a TSV, the last column (header skipped)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    if path.suffix == ".tsv":
        lines = [line.rsplit("\t", 1)[-1] for line in lines[1:]]
    return [line for line in lines if line.strip()]


def _parse_pair(text: str) -> tuple[str, str]:
    from_code, _, to_code = text.replace("_", "-").partition("-")
    if not from_code or not to_code:
        raise argparse.ArgumentTypeError(f"expected a pair like de-en, got {text!r}")
    return from_code, to_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m translation.testpkg", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--size", choices=sorted(SIZES), default="tiny")
    parser.add_argument("--pairs", nargs="+", type=_parse_pair, default=list(DEFAULT_PAIRS))
    parser.add_argument(
        "--extra-text", type=Path, help="also train the tokenizer on this file's lines (TSV: last column)"
    )
    args = parser.parse_args(argv)
    extra = read_lines(args.extra_text) if args.extra_text else []
    started = time.perf_counter()
    for path in build_packages(args.out_dir, tuple(args.pairs), size=args.size, extra_text=extra):
        print(f"{path}  {path.stat().st_size / 1e6:.2f} MB")
    print(f"built in {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
