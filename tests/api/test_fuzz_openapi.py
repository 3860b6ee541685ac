"""Schemathesis against the served /api/v1/openapi.json, as a network admin and as a referent.

Every operation gets generated requests, valid and not: no answer may be a 500,
and every answer must match the spec (documented status, content type, headers
and JSON schema). Bounded and derandomized: the same cases each run, quickly.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.staff import ADMIN, REFERENT

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
#: examples per operation and account; BROKER_TEST_FUZZ_EXAMPLES raises it for a longer run
EXAMPLES = int(os.environ.get("BROKER_TEST_FUZZ_EXAMPLES", "12"))


def _known_values(app) -> dict[str, list]:
    """Path parameter values that exist in the demo network, so generated requests also reach past the 404."""
    from sqlalchemy import select

    from broker.db.models import Library, Membership, Network, Partner, StaffUser, Supplier

    with app.extensions["broker"].db.session() as s:
        return {
            "code": list(s.scalars(select(Library.code))),
            "slug": [*s.scalars(select(Network.slug)), *s.scalars(select(Supplier.slug)),
                     *s.scalars(select(Partner.slug))],
            "membership_id": list(s.scalars(select(Membership.id).limit(20))),
            "email": list(s.scalars(select(StaffUser.email))),
        }


def _fuzz(app, token: str) -> list[str]:
    """Run every operation of the served document; returns the failures, one line each."""
    from schemathesis.core.failures import FailureGroup

    known = {name: values for name, values in _known_values(app).items() if values}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(), data=st.data())
        def run(case, data):
            for name in list(case.path_parameters or {}):
                if name in known and data.draw(st.booleans()):
                    case.path_parameters[name] = data.draw(st.sampled_from(known[name]))
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except (AssertionError, FailureGroup) as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:1500]}")
    return failures


@pytest.mark.parametrize("account", [REFERENT, ADMIN], ids=["referent", "admin"])
def test_every_operation_holds_against_generated_requests(api_app, token_for, account):
    failures = _fuzz(api_app, token_for(account[0]))
    assert not failures, "\n\n".join(failures)
