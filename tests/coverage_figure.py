"""The coverage figure `make test` prints after the suite: the total, and each top-level package's.

    .venv/bin/python -m tests.coverage_figure [DATA_FILE]

Reads the data pytest-cov combined (the test processes', the xdist workers' and the nodes' the
tests started as processes: pyproject.toml `[tool.coverage.run]`), with coverage's own report, so
files no test imported count as not covered.
"""

from __future__ import annotations

import io
import sys

import coverage

PACKAGES = ("rooms", "chat", "web", "translation")


def figures(data_file: str = ".coverage") -> dict[str, float]:
    """Percent of statements (and branches, when measured) run: "total" and one per package."""
    measured = coverage.Coverage(data_file=data_file)
    measured.load()
    quiet = io.StringIO()  # coverage's report prints a line per file: only its total is kept
    result = {"total": measured.report(file=quiet)}
    for package in PACKAGES:
        result[package] = measured.report(include=[f"{package}/*"], file=quiet)
    return result


def main(argv: list[str]) -> int:
    shown = figures(*argv[:1])
    per_package = ", ".join(f"{package}/ {shown[package]:.0f}%" for package in PACKAGES)
    print(f"coverage: {shown['total']:.1f}% of statements ({per_package})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
