"""The coverage figure `make test` prints after the suite: the total, and each top-level package's.

    .venv/bin/python -m tests.coverage_figure [--floor PERCENT] [DATA_FILE]

With --floor, exits with status 1 when the total is under PERCENT (`make test` passes 93: the
figure was 94.4% on 2026-12-07), so code added without tests, or nodes no longer measured, fail
the run.

Reads the data pytest-cov combined (the test processes', the xdist workers' and the nodes' the
tests started as processes: pyproject.toml `[tool.coverage.run]`), with coverage's own report, so
files no test imported count as not covered.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import coverage

PACKAGES = ("rooms", "chat", "web", "translation")


def figures(data_file: str = ".coverage") -> dict[str, float]:
    """Percent of statements (and branches, when measured) run: "total" and one per package."""
    measured = coverage.Coverage(data_file=data_file)
    measured.load()
    # one pass over the files (a report per package analysed every file again: 8 s instead of 4)
    with tempfile.TemporaryDirectory() as directory:
        report = Path(directory) / "coverage.json"
        measured.json_report(outfile=str(report))
        files = json.loads(report.read_text(encoding="utf-8"))["files"]
    result = {"total": percent(summary["summary"] for summary in files.values())}
    for package in PACKAGES:
        result[package] = percent(
            summary["summary"] for name, summary in files.items() if name.startswith(f"{package}/")
        )
    return result


def percent(summaries: Iterable[dict[str, Any]]) -> float:
    """Covered of all, as coverage counts it: statements, plus branches when measured."""
    run = total = 0
    for summary in summaries:
        run += summary["covered_lines"] + summary.get("covered_branches", 0)
        total += summary["num_statements"] + summary.get("num_branches", 0)
    return 100.0 * run / total if total else 100.0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--floor", type=float, help="fail (status 1) when the total is under this percent")
    parser.add_argument("data_file", nargs="?", default=".coverage")
    options = parser.parse_args(argv)
    shown = figures(options.data_file)
    per_package = ", ".join(f"{package}/ {shown[package]:.0f}%" for package in PACKAGES)
    print(f"coverage: {shown['total']:.1f}% of statements ({per_package})")
    if options.floor is not None and shown["total"] < options.floor:
        print(f"coverage: under the floor of {options.floor:g}%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
