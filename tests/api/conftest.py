"""API fixtures: the staff tests' app (``staff_app``, tests/fixtures/staff.py), a token per account, spec-checked calls."""

from __future__ import annotations

import pytest

from fixtures.openapi import check_against_spec
from fixtures.staff import ADMIN, audit_rows


@pytest.fixture
def api_app(staff_app):
    return staff_app


@pytest.fixture
def api_client(api_app):
    return api_app.test_client()


@pytest.fixture
def token_for(api_app):
    """An API token for a staff account (created the way the tokens page does)."""
    from broker.services import staff

    runtime = api_app.extensions["broker"]

    def make(email: str, name: str = "tests") -> str:
        with runtime.db.session() as s:
            return staff.create_api_token(runtime, s, staff.get_user(s, email), name, actor=email)

    return make


@pytest.fixture
def refused_without_writing(api, token_for, api_app):
    """``refused_without_writing(listing, audited, method, template, params, body, field)``: the network admin's
    call answers 400 naming ``field``, ``GET listing`` answers the same before and after, and the audit log holds
    no action of theirs starting with ``audited``."""

    def check(listing: str, audited: str | tuple[str, ...], method: str, template: str, params: dict, body,
              field: str) -> None:
        token = token_for(ADMIN[0])
        before = api("GET", listing, token=token).get_json()
        r = api(method, template, token=token, json=body, **params)
        assert r.status_code == 400 and r.get_json()["field"] == field, r.get_json()
        assert api("GET", listing, token=token).get_json() == before
        assert [e for e in audit_rows(api_app) if e[0] == ADMIN[0] and e[1].startswith(audited)] == []

    return check


@pytest.fixture(scope="session")
def openapi():
    from broker.web.api.spec import openapi_document

    return openapi_document()


@pytest.fixture
def api(api_client, openapi):
    """Call an operation by its spec path and check the answer against the spec."""

    def call(method: str, template: str, *, token: str | None = None, json=None, data=None,
             content_type: str | None = None, query: dict | None = None, **params):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        path = "/api/v1" + template.format(**params)
        kwargs = {"headers": headers, "query_string": query}
        if json is not None:
            kwargs["json"] = json
        elif data is not None:
            kwargs["data"] = data
            kwargs["content_type"] = content_type or "application/json"
        response = api_client.open(path, method=method, **kwargs)
        check_against_spec(openapi, template, method, response)
        return response

    return call
