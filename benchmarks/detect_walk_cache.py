"""Would a cache make py3langid's DFA walk cheaper on chat text? Hit rates of two exact caches (issue 27).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/detect_walk_cache.py [--warm-lines 1000]
    PYTHONPATH=$PWD valgrind --tool=callgrind .venv/bin/python benchmarks/detect_walk_cache.py --detections N

A detection walks the line's bytes through py3langid's DFA in Python (translation/detect.py,
_Py3langidBest.__call__), ~1.3k instructions a byte. The walk is deterministic, so two exact caches
are possible; this prints the share of the walk each would have answered (a hit), per language:

- chunk: (state, a word with its following space) -> (end state, features). The state a word starts
  in holds the end of the word before (the DFA's state is the longest suffix of the text, up to 6
  bytes, that starts a feature), so a word hits only after the same word followed the same ending.
- edge: (state, byte) -> next state, the finest an exact cache keyed on the state can be: a byte
  hits when the same 1-6 byte context was seen before.

Lines: benchmarks/data/chat_lines.tsv (376 chat lines, 13 languages). Cold: an empty cache for
each line. Stream: one cache over the language's lines in order. Warm: after the language's other
chat lines (every second line warms, the others are measured) and, where Debian's fortunes
packages are installed (/usr/share/games/fortunes: en, de, es, ru, it, pt, pl), after
--warm-lines lines of them in the same language.

--detections N runs N passes of the chat lines through the detector's py3langid scorer (20
languages) and nothing else: callgrind's total at N less its total at 0, divided by N x 376, is a
detection's instructions. Prints figures; not a pass/fail test.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from translation.detect import LanguageDetector
from translation.langid_model import load_identifier
from translation.settings import DEFAULT_LANGUAGES

DATA = Path(__file__).parent / "data" / "chat_lines.tsv"
FORTUNES = Path("/usr/share/games/fortunes")
FORTUNE_FILES = {  # Debian's fortunes, fortunes-de, -es, -ru, -it, -br, -pl
    "en": ("fortunes", "people", "computers", "work", "wisdom", "love", "food", "politics", "science", "literature"),
    "de": ("de/*",),
    "es": ("es/*.fortunes",),
    "ru": ("ru/20*",),  # IRC chat quotes
    "it": ("italia", "definizioni", "formiche", "leggi"),
    "pt": ("brasil",),
    "pl": ("pl/*",),
}


def chat_lines() -> list[tuple[str, str]]:
    with open(DATA, encoding="utf-8") as file:
        next(file)  # header
        return [(lang, text) for lang, text in (line.rstrip("\n").split("\t", 1) for line in file)]


def fortune_lines(lang: str, count: int) -> list[str]:
    lines: list[str] = []
    for pattern in FORTUNE_FILES.get(lang, ()):
        for path in sorted(FORTUNES.glob(pattern)):
            if path.suffix in (".dat", ".u8") or not path.is_file():
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            lines += [line.strip() for line in text.splitlines() if len(line.split()) >= 3]
    random.Random(27).shuffle(lines)
    return lines[:count]


class Walk:
    """The DFA walk with a hit/miss count of one cache."""

    def __init__(self, kind: str) -> None:
        self._identifier = load_identifier()
        self._nextmove = self._identifier.tk_nextmove
        self._rowbase: list[int] = self._identifier._rowbase
        self._output: list[int] = self._identifier.tk_output
        self.kind = kind
        self.cache: dict[tuple[int, bytes], tuple[int, tuple[int, ...]]] = {}
        self.edges: set[tuple[int, int]] = set()
        self.hit_bytes = self.bytes = 0

    def walk(self, state: int, data: bytes) -> tuple[int, tuple[int, ...]]:
        nextmove, rowbase, output = self._nextmove, self._rowbase, self._output
        found = []
        for byte in data:
            state = nextmove[rowbase[state] + byte]
            if output[state] >= 0:
                found.append(output[state])
        return state, tuple(found)

    def line(self, text: str) -> list[int]:
        data = self._identifier._encode(text)
        self.bytes += len(data)
        found: list[int] = []
        state = 0
        if self.kind == "chunk":
            words = data.split(b" ")
            for index, word in enumerate(words):
                chunk = word + b" " if index < len(words) - 1 else word
                known = self.cache.get((state, chunk))
                if known is None:
                    known = self.cache[state, chunk] = self.walk(state, chunk)
                else:
                    self.hit_bytes += len(chunk)
                state = known[0]
                found += known[1]
            return found
        nextmove, rowbase, output = self._nextmove, self._rowbase, self._output
        for byte in data:
            if (state, byte) in self.edges:
                self.hit_bytes += 1
            else:
                self.edges.add((state, byte))
            state = nextmove[rowbase[state] + byte]
            if output[state] >= 0:
                found.append(output[state])
        return found

    def reset(self) -> None:
        self.cache.clear()
        self.edges.clear()

    def share(self, lines: Iterable[str], *, cold: bool = False) -> float:
        self.hit_bytes = self.bytes = 0
        for text in lines:
            if cold:
                self.reset()
            self.line(text)
        return self.hit_bytes / max(self.bytes, 1)


def report(warm_lines: int) -> None:
    rows = chat_lines()
    print(f"share of the walk's bytes a cache answers; warm = after the other chat lines | {warm_lines} fortunes")
    print("lang | cache | cold | stream | warm (chat) | warm (fortunes) | entries (fortunes)")
    for lang in sorted({lang for lang, _ in rows}):
        lines = [text for code, text in rows if code == lang]
        for kind in ("chunk", "edge"):
            walk = Walk(kind)
            cold = walk.share(lines, cold=True)
            walk.reset()
            stream = walk.share(lines)
            walk.reset()
            walk.share(lines[1::2])
            warm_chat = walk.share(lines[::2])
            warm_fortunes, entries = "-", "-"
            fortunes = fortune_lines(lang, warm_lines) if FORTUNES.is_dir() else []
            if fortunes:
                walk.reset()
                walk.share(fortunes)
                warm_fortunes = f"{walk.share(lines):.0%}"
                entries = str(len(walk.cache) + len(walk.edges))
            print(f"{lang} | {kind} | {cold:.0%} | {stream:.0%} | {warm_chat:.0%} | {warm_fortunes} | {entries}")


def detections(passes: int) -> None:
    detector = LanguageDetector(DEFAULT_LANGUAGES)
    _, _, scorer = detector._for_script("latin")
    cyrillic = detector._for_script("cyrillic")[2]
    assert scorer is not None and cyrillic is not None
    # the scorer of each line's script, chosen before the passes: only scoring is counted
    pairs = [(cyrillic if any("\u0400" <= ch <= "\u04ff" for ch in text) else scorer, text) for _, text in chat_lines()]
    for _ in range(passes):
        for score, text in pairs:
            score(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warm-lines", type=int, default=1000)
    parser.add_argument("--detections", type=int, default=None, help="only run N passes of detections")
    args = parser.parse_args()
    if args.detections is not None:
        detections(args.detections)
    else:
        report(args.warm_lines)


if __name__ == "__main__":
    main()
