# The two commands a new machine needs:
#   make serve   install into .venv and start the server on http://127.0.0.1:8000 (sqlite file in data/)
#   make test    install the test tools too (Chromium, Redis if missing), run ruff and mypy, then the whole
#                suite under coverage, and print its coverage figure
VENV ?= .venv
PIP := $(VENV)/bin/pip --disable-pip-version-check -q
# pytest-xdist workers for `make test`: four on this 2-core machine. A test spends much of its time
# waiting (node processes starting, a redis-server, Chromium, a timeout it checks): with three the
# cores were busy under half the run (its CPU time against twice its wall time), so a fourth runs
# another test meanwhile (2026-12-07: 7 min 03 s with four, 10-11 min with three). Browser tests stay
# on one worker (tests/e2e/conftest.py); the groups that hold the most memory share one
# (tests/conftest.py MEMORY_HEAVY_GROUPS), and py3langid's model is mapped shared by every process
# (translation/langid_model.py): 2.7 GB at the peak with four, under the 3 GB goal.
TEST_WORKERS ?= 4

.PHONY: serve test check install install-test build-deps system-deps bench

ARGOSTRANSLATE := argostranslate==1.11.0

$(VENV)/.installed: pyproject.toml | build-deps
	python3 -m venv $(VENV)
	$(PIP) install -e .
	# argostranslate's package code only: its dependencies (stanza, spacy, torch) are not used to serve.
	# Last: pip checks requirements only of what it installs with dependencies, so installed after the
	# project it prints no resolver ERROR about the stanza, spacy and minisbd it was not given.
	$(PIP) install --no-deps $(ARGOSTRANSLATE)
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	# the tests build translation packages with torch: pinned, CPU wheel first (else gigabytes of CUDA wheels)
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

serve: install
	$(VENV)/bin/babelroom serve

# PyICU builds against ICU: libicu-dev, pkg-config and g++ (apt-get when missing)
build-deps:
	@bash .ci/build-deps

system-deps:
	bash .ci/system-deps

# the edit loop (under a minute): lint, types, and the tests that need no server, browser or Redis
# (the core's rules, frames, catalogues, and every store contract on the memory backend)
# the browser app's modules are `// @ts-check`ed by TypeScript (tests/e2e/package.json, installed by system-deps)
TSC := tests/e2e/node_modules/.bin/tsc --noEmit -p web/static/jsconfig.json
UNIT_TESTS := tests/rooms tests/test_units.py tests/test_frames.py tests/test_i18n.py tests/backend
check: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(TSC)
	$(VENV)/bin/python -m pytest -q $(UNIT_TESTS) -k "memory or not (sqlite or redis)"

# system packages first (PyICU builds against libicu-dev); then lint and types (configured in
# pyproject.toml): a finding fails the run before the suite starts. The suite runs under coverage
# (pytest-cov; the nodes the tests start as processes are measured too: [tool.coverage] there) and
# the figure prints after it; under COVERAGE_FLOOR percent of statements fails the run.
COVERAGE_FLOOR ?= 93
test: system-deps install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(TSC)
	$(VENV)/bin/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --cov --cov-report=
	$(VENV)/bin/python -m tests.coverage_figure --floor $(COVERAGE_FLOOR)
