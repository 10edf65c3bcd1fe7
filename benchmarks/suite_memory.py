"""Wall time, CPU time and peak memory of a command's whole process tree (issue 21: `make test`).

Runs the command, and every --interval seconds sums the proportional set size (PSS: shared pages
split between the processes sharing them, so Chromium's and the pytest workers' shared libraries
count once) over the command and all its descendants: pytest and its xdist workers, Chromium,
test servers, redis-servers, pip. At the end it prints the wall time, the CPU time the tree used
(user + system of the command and every descendant it waited for, from wait4's rusage), the peak
PSS summed over the tree (and the largest processes at that moment), and exits with the command's
status.

    .venv/bin/python benchmarks/suite_memory.py -- make test
    .venv/bin/python benchmarks/suite_memory.py --top 8 -- .venv/bin/python -m pytest -q tests/e2e -x
    .venv/bin/python benchmarks/suite_memory.py --log memory.tsv -- make test   # every sample too

PSS needs /proc/PID/smaps_rollup of every process, readable for one's own processes. A process
that exits between listing and reading is skipped for that sample.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from typing import TextIO

import psutil


def tree(root: psutil.Process) -> list[psutil.Process]:
    try:
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def pss_of(process: psutil.Process) -> tuple[int, str] | None:
    """PSS in bytes and a short name, or None when it is gone or unreadable."""
    try:
        with process.oneshot():
            pss = process.memory_full_info().pss
            name = process.name()
            if name.startswith("python"):  # which python: `-m pytest`, `-m translation.testpkg`, `-c` ...
                command = process.cmdline()[1:4]
                if command[:1] == ["-c"]:
                    command = ["-c", command[1][:30].replace("\n", " ")] if len(command) > 1 else command
                name = " ".join(part.rsplit("/", 1)[-1] for part in command) or name
        return pss, name[:60]
    except (psutil.Error, OSError):
        return None


class Sampler(threading.Thread):
    def __init__(self, pid: int, interval: float, log: TextIO | None = None) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.log = pid, interval, log
        self.stopped = threading.Event()
        self.peak = 0
        self.peak_at = 0.0
        self.peak_processes: list[tuple[int, str]] = []
        self.peak_count = 0
        self.samples = 0
        self.started = time.monotonic()

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self.stopped.is_set():
            measured = [m for m in map(pss_of, tree(root)) if m is not None]
            total = sum(pss for pss, _ in measured)
            self.samples += 1
            if self.log is not None:  # seconds, total MiB, then the three largest processes
                largest = sorted(measured, reverse=True)[:3]
                self.log.write(
                    f"{time.monotonic() - self.started:.0f}\t{total >> 20}\t"
                    + "\t".join(f"{pss >> 20} {name}" for pss, name in largest)
                    + "\n"
                )
                self.log.flush()
            if total > self.peak:
                self.peak, self.peak_at = total, time.monotonic() - self.started
                self.peak_processes = sorted(measured, reverse=True)
                self.peak_count = len(measured)
            self.stopped.wait(self.interval)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between samples (default 1)")
    parser.add_argument("--top", type=int, default=6, help="how many of the largest processes at the peak to list")
    parser.add_argument("--log", type=argparse.FileType("w"), help="write every sample to this file (TSV)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given (put it after --)")

    started = time.monotonic()
    process = subprocess.Popen(command)
    sampler = Sampler(process.pid, args.interval, args.log)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    sampler.stopped.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)

    mib = 1024 * 1024
    print(f"\n--- suite_memory: {' '.join(command)}", file=sys.stderr)
    print(f"wall time    {wall // 60:.0f} min {wall % 60:04.1f} s ({wall:.1f} s)", file=sys.stderr)
    print(
        f"CPU time     {usage.ru_utime + usage.ru_stime:.1f} s (user {usage.ru_utime:.1f} s, "
        f"system {usage.ru_stime:.1f} s; the command and every descendant it waited for)",
        file=sys.stderr,
    )
    print(
        f"peak PSS     {sampler.peak / mib:.0f} MiB ({sampler.peak / 1e9:.2f} GB) over {sampler.peak_count} "
        f"processes at {sampler.peak_at:.0f} s ({sampler.samples} samples every {args.interval:g} s)",
        file=sys.stderr,
    )
    for pss, name in sampler.peak_processes[: args.top]:
        print(f"  {pss / mib:7.0f} MiB  {name}", file=sys.stderr)
    print(f"exit status  {process.returncode}", file=sys.stderr)
    return process.returncode


if __name__ == "__main__":
    sys.exit(main())
