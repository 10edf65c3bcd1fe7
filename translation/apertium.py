"""Apertium pairs from Debian packages: one persistent pipeline per pair.

As apertium-apy runs them: the pair's mode file (/usr/share/apertium/modes/X-Y.mode)
is a shell pipeline of lttoolbox/apertium programs; each runs with `-z` (null
flush), so a NUL-terminated request comes out as one NUL-terminated answer and the
processes stay up between messages. `$1` becomes `-g` (generation with the marks on
words the pair does not know: `*` unknown to the analyser, `@` missing from the bilingual
dictionary, `#` not generated) and `$2` (tagger options) nothing. The marks give the
translation's confidence, the share of its words not marked, and are then removed: readers
see what `apertium -u` would give them.

User text is escaped for the stream format (a `^`, `$`, `[` or `/` typed in chat
would otherwise start a lexical unit or a superblank) and NULs are dropped.

lttoolbox 3.7's lt-proc does not flush its output on a NUL in -b/-g/-n modes when
stdout is a pipe, so lt-proc stages run under `stdbuf -o0`.

A pipeline is driven by one worker thread (the event loop never blocks on it). A
pipeline that dies or stops answering is restarted, and the sentences it had not
answered are sent once more to the new one; a second failure is an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import select
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from translation.batcher import PairBatcher
from translation.engines import Engine, Pair, Scored

log = logging.getLogger("babelroom.translation")

MODES_DIR = Path("/usr/share/apertium/modes")

#: Apertium's three-letter codes (and variants) -> our two-letter reading languages.
_CODES = {
    "eng": "en",
    "spa": "es",
    "cat": "ca",
    "fra": "fr",
    "por": "pt",
    "ita": "it",
    "deu": "de",
    "nld": "nl",
    "glg": "gl",
    "eus": "eu",
    "oci": "oc",
    "ron": "ro",
    "hbs": "sh",
    "srp": "sr",
    "hrv": "hr",
    "bos": "bs",
    "slv": "sl",
    "mkd": "mk",
    "bul": "bg",
    "rus": "ru",
    "ukr": "uk",
    "bel": "be",
    "pol": "pl",
    "ces": "cs",
    "slk": "sk",
    "swe": "sv",
    "dan": "da",
    "nor": "no",
    "nob": "nb",
    "nno": "nn",
    "isl": "is",
    "fao": "fo",
    "epo": "eo",
    "ara": "ar",
    "mlt": "mt",
    "kaz": "kk",
    "tat": "tt",
    "tur": "tr",
    "kir": "ky",
    "uzb": "uz",
    "afr": "af",
    "ind": "id",
    "msa": "ms",
    "cym": "cy",
    "bre": "br",
    "gle": "ga",
    "gla": "gd",
    "arg": "an",
    "ast": "ast",
    "hin": "hi",
    "urd": "ur",
    "eng_US": "en",
}
_TWO_TO_THREE = {two: three for three, two in _CODES.items() if "_" not in three}

#: Characters the stream format treats as markup (destxt escapes most of them;
#: the rest are tags or marks inside lexical units).
_MARKUP = re.compile(r"([\[\]\\^$/<>{}@*#+|])")
#: In output: an escaped character, or a superblank (text passed through verbatim).
_OUTPUT = re.compile(r"\\(.)|\[((?:[^\]\\]|\\.)*)\]", re.S)

#: Marks Apertium puts before a word it could not handle (a user's own "*" arrives escaped).
_MARKS = frozenset("*@#")
_WORD = re.compile(r"[^\W\d_]+")

#: Sentence-final punctuation, kept aside: the pipelines drop or detach a final "."
#: depending on what follows it, so it is put back as the user wrote it.
_FINAL = re.compile(r"[\s.!?…:;。！？]*$")

#: Seconds a pipeline may take for one batch before it is taken to be stuck.
TIMEOUT_S = 10.0
#: Most bytes written before reading answers back (pipes hold ~64 KiB each).
_CHUNK_BYTES = 16384


def to_code(apertium_code: str) -> str:
    """'eng' -> 'en', 'pt_BR' -> 'pt'; unknown codes are returned as they are."""
    base = apertium_code.split("_", 1)[0]
    return _CODES.get(apertium_code) or _CODES.get(base) or base


#: Debian's Apertium pair packages (each serves both directions where the pair has them).
DEBIAN_PACKAGES: tuple[str, ...] = (
    "apertium-af-nl",
    "apertium-arg-cat",
    "apertium-bel-rus",
    "apertium-br-fr",
    "apertium-ca-it",
    "apertium-cat-ita",
    "apertium-dan-nor",
    "apertium-en-ca",
    "apertium-en-gl",
    "apertium-eng-cat",
    "apertium-eng-spa",
    "apertium-eo-ca",
    "apertium-eo-en",
    "apertium-eo-es",
    "apertium-eo-fr",
    "apertium-es-ast",
    "apertium-es-gl",
    "apertium-es-it",
    "apertium-es-pt",
    "apertium-es-ro",
    "apertium-eu-en",
    "apertium-eu-es",
    "apertium-fr-es",
    "apertium-fra-cat",
    "apertium-hbs-eng",
    "apertium-hbs-mkd",
    "apertium-hbs-slv",
    "apertium-id-ms",
    "apertium-is-sv",
    "apertium-isl-eng",
    "apertium-isl-swe",
    "apertium-mk-bg",
    "apertium-mk-en",
    "apertium-mkd-eng",
    "apertium-nno-nob",
    "apertium-oc-ca",
    "apertium-oc-es",
    "apertium-oci-fra",
    "apertium-pol-szl",
    "apertium-por-cat",
    "apertium-pt-ca",
    "apertium-pt-gl",
    "apertium-rus-ukr",
    "apertium-spa-arg",
    "apertium-spa-cat",
    "apertium-spa-ita",
    "apertium-swe-dan",
    "apertium-swe-nor",
)


def debian_package(source: str, target: str) -> str | None:
    """The Debian package that adds a pair ('en', 'es' -> 'apertium-eng-spa'), if any.
    Three-letter packages are preferred: they are the maintained ones."""
    best: str | None = None
    for name in DEBIAN_PACKAGES:
        parts = name.split("-")[1:]
        if len(parts) != 2:
            continue
        if {to_code(parts[0]), to_code(parts[1])} == {source, target}:
            if best is None or len(parts[0]) == 3:
                best = name
    return best


@dataclass(frozen=True)
class ApertiumPair:
    source: str  # our two-letter code
    target: str
    mode: str  # the mode's name, e.g. eng-spa
    path: Path  # the mode file


def discover(modes_dir: Path = MODES_DIR) -> list[ApertiumPair]:
    """Installed pairs, one mode per (source, target); plain modes win over variants."""
    if not modes_dir.is_dir() or shutil.which("lt-proc") is None:
        return []
    found: dict[tuple[str, str], ApertiumPair] = {}
    for path in sorted(modes_dir.glob("*.mode")):
        name = path.stem
        parts = name.split("-")
        if len(parts) != 2:
            continue  # eco-es-fr and other non-pair modes
        source, target = to_code(parts[0]), to_code(parts[1])
        if source == target or len(source) > 3 or len(target) > 3:
            continue
        plain = "_" not in name
        known = found.get((source, target))
        if known is None or (plain and "_" in known.mode):
            found[(source, target)] = ApertiumPair(source, target, name, path)
    return sorted(found.values(), key=lambda p: (p.source, p.target))


def pipeline_commands(mode_path: Path) -> list[list[str]]:
    """The mode file's programs, each with -z (and lt-proc unbuffered)."""
    text = mode_path.read_text(encoding="utf-8").strip()
    commands: list[list[str]] = []
    for part in text.split("|"):
        part = part.replace("$2", "").replace("$1", "-g")
        words = [w.strip("'\"") for w in part.split()]
        if not words:
            continue
        program, args = words[0], words[1:]
        command = [program, "-z", *args]
        if os.path.basename(program) == "lt-proc" and shutil.which("stdbuf"):
            command = ["stdbuf", "-o0", *command]
        commands.append(command)
    if not commands:
        raise ValueError(f"{mode_path}: no pipeline in the mode file")
    return commands


def escape(text: str) -> str:
    """User text as plain text in Apertium's stream format."""
    # A tilde joins words even when escaped; inside a superblank it is left alone.
    return _MARKUP.sub(r"\\\1", text.replace("\0", " ")).replace("~", "[\\~]")


def unescape(text: str) -> str:
    """Apertium output as plain text: escapes undone, superblanks unwrapped."""
    return _OUTPUT.sub(lambda m: m.group(1) if m.group(1) is not None else unescape(m.group(2)), text)


def read_marks(output: str) -> tuple[str, float]:
    """Apertium output (still in stream format) without its unknown-word marks, and the share
    of its words that carried none: 1.0 when the pair knew every word."""
    kept: list[str] = []
    marks = 0
    i = 0
    while i < len(output):
        char = output[i]
        if char == "\\":  # an escaped character: the user's, never a mark
            kept.append(output[i : i + 2])
            i += 2
            continue
        if (
            char in _MARKS
            and i + 1 < len(output)
            and output[i + 1].isalnum()
            and not (kept and kept[-1][-1:].isalnum())
        ):
            marks += 1
        else:
            kept.append(char)
        i += 1
    clean = "".join(kept)
    words = len(_WORD.findall(unescape(clean)))
    if not words:
        return clean, 1.0
    return clean, max(0.0, 1.0 - marks / words)


class PipelineError(Exception):
    """An Apertium pipeline died or stopped answering."""


class Pipeline:
    """One running pair (blocking calls: use it from one worker thread)."""

    def __init__(self, pair: ApertiumPair, timeout_s: float = TIMEOUT_S) -> None:
        self.pair = pair
        self.timeout_s = timeout_s
        self._commands = pipeline_commands(pair.path)
        self._procs: list[subprocess.Popen[bytes]] = []
        self._lock = threading.Lock()
        self.restarts = 0

    # ------------------------------------------------------------ processes

    def start(self) -> None:
        procs: list[subprocess.Popen[bytes]] = []
        try:
            for i, command in enumerate(self._commands):
                stdin = subprocess.PIPE if i == 0 else procs[-1].stdout
                procs.append(
                    subprocess.Popen(
                        command, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, close_fds=True
                    )
                )
                if i > 0 and procs[-2].stdout is not None:
                    procs[-2].stdout.close()  # the next process holds it now
        except OSError:
            for proc in procs:
                proc.kill()
            raise
        self._procs = procs

    def stop(self) -> None:
        """Kill every process of the pipeline (the next request starts it again)."""
        for proc in self._procs:
            if proc.poll() is None:
                proc.kill()
        for proc in self._procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=2)
        for stream in (self._procs[0].stdin if self._procs else None, self._procs[-1].stdout if self._procs else None):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._procs = []

    def pids(self) -> list[int]:
        return [p.pid for p in self._procs]

    def _exit_status(self) -> str:
        codes = [p.poll() for p in self._procs]
        dead = [
            f"{os.path.basename(self._commands[i][2 if self._commands[i][0] == 'stdbuf' else 0])}={code}"
            for i, code in enumerate(codes)
            if code is not None
        ]
        return ", ".join(dead) or "no answer"

    # ------------------------------------------------------------ requests

    def translate(self, texts: list[str]) -> list[str]:
        """Translate each text (one NUL-terminated request each); restarts a dead
        pipeline and retries what it had not answered, once."""
        return [text for text, _ in self.translate_scored(texts)]

    def translate_scored(self, texts: list[str]) -> list[Scored]:
        """translate(), each with its confidence (see read_marks)."""
        with self._lock:
            if not self._procs:
                self.start()
            out: list[Scored] = []
            try:
                self._run(texts, out)
            except PipelineError as exc:
                pending = len(texts) - len(out)
                log.warning(
                    "apertium %s: pipeline failed (%s); restarted it, retrying %d pending sentence(s)",
                    self.pair.mode,
                    exc,
                    pending,
                )
                self.stop()
                self.restarts += 1
                self.start()
                self._run(texts[len(out) :], out)  # a second failure propagates
            return out

    def _run(self, texts: list[str], out: list[Scored]) -> None:
        i = 0
        while i < len(texts):
            # Write a chunk, then read its answers: never more in the pipes than they hold.
            chunk: list[bytes] = []
            size = 0
            tails: list[str] = []
            while i + len(chunk) < len(texts) and (not chunk or size < _CHUNK_BYTES):
                text = texts[i + len(chunk)]
                tail = _FINAL.search(text)
                cut = tail.start() if tail and tail.start() > 0 else len(text)
                tails.append(text[cut:].strip())
                data = escape(text[:cut]).encode("utf-8") + b"\0"
                chunk.append(data)
                size += len(data)
            self._check_alive()
            self._write(b"".join(chunk))
            answers = self._read(len(chunk))
            # Stages that lose their input flush what they hold and exit: answers
            # read while any stage died cannot be trusted. The kernel closes a killed
            # process's pipes a moment before it can be seen dead, so an empty answer
            # gets a moment's grace before the check.
            if any(not answer.strip() for answer in answers):
                time.sleep(0.05)
            self._check_alive()
            for raw, final in zip(answers, tails, strict=False):
                answer, confidence = read_marks(raw.decode("utf-8", "replace"))
                out.append((unescape(answer).strip() + final, confidence))
            i += len(chunk)

    def _check_alive(self) -> None:
        if any(proc.poll() is not None for proc in self._procs):
            raise PipelineError(f"exited: {self._exit_status()}")

    def _write(self, data: bytes) -> None:
        stdin = self._procs[0].stdin
        assert stdin is not None
        try:
            stdin.write(data)
            stdin.flush()
        except (BrokenPipeError, ValueError, OSError) as exc:
            raise PipelineError(f"cannot write: {self._exit_status()}") from exc

    def _read(self, count: int) -> list[bytes]:
        stdout = self._procs[-1].stdout
        assert stdout is not None
        fd = stdout.fileno()
        answers: list[bytes] = []
        buffer = b""
        deadline = time.monotonic() + self.timeout_s
        while len(answers) < count:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(0.0, remaining))
            if not ready:
                raise PipelineError(f"no answer within {self.timeout_s:g} s")
            data = os.read(fd, 65536)
            if not data:
                raise PipelineError(f"exited: {self._exit_status()}")
            buffer += data
            while b"\0" in buffer and len(answers) < count:
                answer, buffer = buffer.split(b"\0", 1)
                answers.append(answer)
        return answers


class ApertiumEngine(Engine):
    """Every installed Apertium pair; a pair's pipeline starts on its first use."""

    name = "apertium"

    def __init__(
        self,
        modes_dir: str | Path = MODES_DIR,
        *,
        batch_max: int = 32,
        wait_s: float = 0.002,
        timeout_s: float = TIMEOUT_S,
        on_batch: Callable[[str, int], None] | None = None,
    ) -> None:
        self.modes_dir = Path(modes_dir)
        self.pipelines: dict[Pair, Pipeline] = {}
        self._batchers: dict[Pair, PairBatcher[Scored]] = {}
        self._executors: list[ThreadPoolExecutor] = []
        self._tags: dict[Pair, str] = {}
        self._batch_max, self._wait_s, self._timeout_s = batch_max, wait_s, timeout_s
        self._on_batch = on_batch

    async def start(self) -> None:
        for found in discover(self.modes_dir):
            pair = (found.source, found.target)
            pipeline = Pipeline(found, self._timeout_s)
            # One thread per pipeline: its requests go in order, off the event loop.
            executor = ThreadPoolExecutor(1, thread_name_prefix=f"babelroom-apertium-{found.mode}")
            self._executors.append(executor)
            self.pipelines[pair] = pipeline
            name = f"{found.source}-{found.target}"
            self._batchers[pair] = PairBatcher(
                name,
                pipeline.translate_scored,
                executor,
                batch_max=self._batch_max,
                wait_s=self._wait_s,
                on_batch=None if self._on_batch is None else (lambda n, name=name: self._on_batch(name, n)),  # type: ignore[misc]
            )
            stat = found.path.stat()
            self._tags[pair] = f"{found.mode}@{int(stat.st_mtime)}"

    def pairs(self) -> dict[Pair, str]:
        return dict(self._tags)

    def mode(self, pair: Pair) -> str:
        return self.pipelines[pair].pair.mode

    async def translate_scored(self, pair: Pair, sentences: list[str]) -> list[Scored]:
        return await self._batchers[pair].translate(sentences)

    def depth(self) -> int:
        return sum(b.depth for b in list(self._batchers.values()))

    async def close(self) -> None:
        for batcher in self._batchers.values():
            await batcher.close()
        loop = asyncio.get_running_loop()
        for pipeline in self.pipelines.values():
            await loop.run_in_executor(None, pipeline.stop)
        for executor in self._executors:
            executor.shutdown(wait=False, cancel_futures=True)
