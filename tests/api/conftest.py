"""API fixtures: the staff tests' demo database (built once per session) and a token per account."""

from __future__ import annotations

import pytest

from web.staff import staffkit


@pytest.fixture(scope="session")
def api_template(tmp_path_factory):
    return staffkit.shared_template(tmp_path_factory)


@pytest.fixture
def api_app(make_app, api_template, sip2_emulator, tmp_path, smtp_sink):
    app = staffkit.app_from_template(make_app, api_template, tmp_path, sip2_port=sip2_emulator.port,
                                     **smtp_sink.settings)
    app.smtp = smtp_sink
    return app


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


@pytest.fixture(scope="session")
def openapi():
    from broker.web.api.spec import openapi_document

    return openapi_document()


def check_against_spec(spec: dict, template: str, method: str, response) -> None:
    """The response's status is documented for this operation and its JSON body matches the schema."""
    from jsonschema import Draft202012Validator

    operation = spec["paths"][template][method.lower()]
    documented = operation["responses"].get(str(response.status_code))
    assert documented, f"{method} {template} answered {response.status_code}, which the spec does not list"
    assert response.mimetype == "application/json", response.mimetype
    schema = {**documented["content"]["application/json"]["schema"], "components": spec["components"]}
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(response.get_json()), key=lambda e: list(e.path))
    assert not errors, f"{method} {template} {response.status_code}: " + "; ".join(
        f"{list(e.path)}: {e.message}" for e in errors[:5])


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
