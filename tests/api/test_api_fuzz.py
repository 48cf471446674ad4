"""The API fuzzed from its own OpenAPI document (schemathesis), as an admin and as an agency auditor.

Every operation the document declares is exercised with generated parameters and bodies, valid and not:
no answer may be a server error, and every answer must be one the document declares. A new endpoint is
fuzzed the moment it is declared; nobody adds it here. Bounded (a few examples an operation) so CI stays
quick; `FUZZ_EXAMPLES` raises it for a longer run.
"""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, status_code_conformance

from tests.factories import api_token, make_questionnaire, make_round

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)


def _runner(operation, token: str, calls: dict[str, int]):
    """A hypothesis test of one operation: generated requests, none answered with a server error."""

    @given(case=operation.as_strategy())
    @FUZZ_SETTINGS
    def run(case) -> None:
        calls[operation.label] = calls.get(operation.label, 0) + 1
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        case.validate_response(response, checks=[not_a_server_error, status_code_conformance])

    return run


def _fuzz(app, world, role: str) -> list[str]:
    """Fuzz every operation of the app's own document as ``role``; the failures, one line each."""
    version = make_questionnaire(world.partnership.id, library_key="cse_case_audit")
    make_round(world.partnership.id, version=version, agencies=[world.police], cases=2)
    token = api_token(world.user(role), world.partnership.id)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    calls: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        try:
            _runner(operation, token, calls)()
        except Exception as error:
            failures.append(f"{operation.label}: {str(error).strip().splitlines()[0][:300]}")
    # the fuzzer really ran: every declared operation was called
    assert len(calls) >= 40 and all(calls.values()), calls
    return failures


def test_as_an_admin_no_generated_request_gets_a_server_error(app, world, db_session):
    assert _fuzz(app, world, "admin") == []


def test_as_an_auditor_no_generated_request_gets_a_server_error(app, world, db_session):
    assert _fuzz(app, world, "auditor") == []
