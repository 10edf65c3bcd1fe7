"""Loaded into the schemathesis CLI by tests/test_openapi.py (SCHEMATHESIS_HOOKS names this file): a
check that sends each case schemathesis made for one backend's server to the other backends' servers
too, and runs every other check of the run on their answers there. Schemathesis spends most of its CPU
making the cases (hypothesis; the coverage phase's boundary values): made once, checked on all three.

Not in the stateful phase: its cases carry what the first server answered (a meeting's id), which the
others never handed out; the test runs that phase on each backend by itself. Imports no project code."""

from __future__ import annotations

import os
from typing import Any

import requests
import schemathesis
from schemathesis import Case, CheckContext, Response
from schemathesis.checks import run_checks
from schemathesis.core.failures import Failure

# their names are in tests/test_openapi.py too, which sets them
# "kind=base-url kind=base-url": the servers that get every case too
ALSO_ENV = "BABELROOM_SCHEMATHESIS_ALSO"
# a file each case sent to another backend adds a line to ("kind<TAB>operation<TAB>status"): the test
# reads it to see that each backend was sent cases of every operation
LOG_ENV = "BABELROOM_SCHEMATHESIS_LOG"

OTHER_BACKENDS = [tuple(entry.split("=", 1)) for entry in os.environ.get(ALSO_ENV, "").split()]
SESSIONS = {kind: requests.Session() for kind, _ in OTHER_BACKENDS}  # a keep-alive connection to each server
# per backend, as the engine keeps one for its server: the operations `ignored_auth` has seen refuse a
# request without and with a wrong token (it sends those two once per operation, not once per case)
AUTH_ENFORCED: dict[str, set[str]] = {kind: set() for kind, _ in OTHER_BACKENDS}


@schemathesis.check
def on_the_other_backends_too(ctx: CheckContext, response: Response, case: Case[Any]) -> None:
    """The case, sent to each other backend as it was sent to the first (the same headers: the host
    token is valid on every node of the same secret), passes there every check the run has.

    Checked as the engine checks the first server's answer: its checks, its options, a context of the
    same settings (what `ctx.internals` holds: the engine's own, undocumented; a schemathesis that
    changes it fails this check loudly, not silently)."""
    if ctx.phase == "stateful":
        return
    checks = [check for check in ctx.internals.checks if check is not on_the_other_backends_too]
    for kind, base_url in OTHER_BACKENDS:
        # the options the run sends requests with (the CLI's --header among them); checks that send
        # requests of their own (ignored_auth) send them to this base URL too
        transport_kwargs = {**(ctx.internals.transport_kwargs or {}), "base_url": base_url, "session": SESSIONS[kind]}
        answer = case.call(**transport_kwargs)
        with open(os.environ[LOG_ENV], "a", encoding="utf-8") as log:
            log.write(f"{kind}\t{case.operation.label}\t{answer.status_code}\n")
        there = CheckContext(
            override=ctx.internals.override,
            auth=ctx.internals.auth,
            headers=ctx.internals.headers,
            config=ctx.config,
            transport_kwargs=transport_kwargs,
            response_checks=None,  # already among `checks`
            phase=ctx.phase,
            auth_enforced_operations=AUTH_ENFORCED[kind],
        )
        failures = run_checks(
            case=case,
            response=answer,
            ctx=there,
            checks=checks,
            on_failure=lambda _name, collected, failure: collected.add(failure),
        )
        if failures:
            raise AssertionError(failure_report(kind, answer, failures))


def failure_report(kind: str, answer: Response, failures: set[Failure]) -> str:
    request = answer.request
    lines = [f"on the {kind} backend: {request.method} {request.url} answered {answer.status_code}"]
    lines += [f"{failure.title}: {failure.message}" for failure in failures]
    lines.append(f"body: {answer.text[:500]}")
    return "\n".join(lines)
