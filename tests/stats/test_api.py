"""/api/v1/stats: token-scoped like the pages, every answer matching its OpenAPI description."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from broker.services.stats import Month, aggregate
from broker.web import stats_openapi
from fixtures import stats as statskit
from fixtures.stats import ADMIN, REFERENT, paris

SPEC = stats_openapi.document()


def _routes(app) -> set[tuple[str, str]]:
    import re

    out = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/stats/"):
            path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule[len("/api/v1"):])
            out |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return out


def _check(template: str, response) -> None:
    operation = SPEC["paths"][template]["get"]
    documented = operation["responses"].get(str(response.status_code))
    assert documented, f"{template} answered {response.status_code}, which the spec does not list"
    schema = {**documented["content"]["application/json"]["schema"], "components": SPEC["components"]}
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = list(validator.iter_errors(response.get_json()))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


@pytest.fixture
def api(stats_app):
    known = statskit.ids(stats_app)
    statskit.insert_events(stats_app, [
        {"network_id": known["network"]["calvados"], "library_id": known["library"]["FR-140476101"],
         "supplier_id": known["supplier"][slug], "patron_key": f"{i:032x}", "at": paris(2025, 3, 5 + i),
         "outcome": outcome}
        for i, (slug, outcome) in enumerate([("cafeyn", "granted"), ("pnb", "granted"), ("pnb", "age")])])
    aggregate(stats_app.extensions["broker"])
    client = stats_app.test_client()
    tokens = {email: statskit.token_for(stats_app, email) for email in (REFERENT, ADMIN)}

    def call(template: str, *, token: str | None = None, query: dict | None = None, **params):
        headers = {"Authorization": f"Bearer {tokens.get(token, token)}"} if token else {}
        response = client.get("/api/v1" + template.format(**params), headers=headers, query_string=query)
        _check(template, response)
        return response

    call.app = stats_app
    return call


def test_the_description_is_valid_openapi_and_matches_the_routes(stats_app):
    validate(SPEC)
    documented = {(path, method) for path, ops in SPEC["paths"].items() for method in ops}
    assert _routes(stats_app) == documented
    merged = stats_openapi.merge_into({"paths": {"/me": {}}, "components": {"schemas": {"Error": {}}}})
    assert "/me" in merged["paths"] and "/stats/months" in merged["paths"] and "StatsMonth" in merged["components"]["schemas"]


def test_figures_of_a_library_and_a_network(api):
    r = api("/stats/libraries/{code}", token=REFERENT, query={"month": "2025-03"}, code="FR-140476101")
    assert r.status_code == 200
    body = r.get_json()
    assert body["totals"]["accesses"] == 2 and body["totals"]["unique_patrons"] == 2
    assert body["refusals"] == {"age": 1}
    assert body["selection"] == {"network": "calvados", "library": "FR-140476101", "label": "Médiathèque Les 7 Lieux"}
    r = api("/stats/networks/{slug}", token=ADMIN, query={"month": "2025-03"}, slug="calvados")
    assert r.status_code == 200 and r.get_json()["totals"]["accesses"] == 2
    r = api("/stats/networks/{slug}/trend", token=ADMIN, query={"end": "2025-03", "months": 3}, slug="calvados")
    assert [p["accesses"] for p in r.get_json()["items"]] == [0, 0, 2]
    r = api("/stats/libraries/{code}/counter", token=REFERENT, query={"year": "2025"}, code="FR-140476101")
    assert r.status_code == 200 and r.get_json()["Report_Header"]["Release"] == "5"
    r = api("/stats/months", token=REFERENT)
    assert "2025-03" in {m["month"] for m in r.get_json()["items"]}


def test_scope_is_enforced_and_audited(api):
    r = api("/stats/libraries/{code}", token=REFERENT, code="FR-143346101")
    assert r.status_code == 403 and r.get_json()["error"] == "out_of_scope"
    assert (REFERENT, "stats.api", "FR-143346101", "denied") in statskit.audit_rows(api.app)
    assert api("/stats/networks/{slug}", token=REFERENT, slug="calvados").status_code == 403
    assert api("/stats/networks/{slug}/trend", token=ADMIN, slug="caen-la-mer").status_code == 403
    assert (ADMIN, "stats.api", "caen-la-mer", "denied") in statskit.audit_rows(api.app)


def test_tokens_and_bad_input(api):
    r = api("/stats/months")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    assert api("/stats/months", token="sst_not-a-real-token-at-all").status_code == 401
    assert api("/stats/libraries/{code}", token=ADMIN, query={"month": "2025-13"}, code="FR-140476101").status_code == 400
    future = str(Month.current().next())
    assert api("/stats/libraries/{code}", token=ADMIN, query={"month": future}, code="FR-140476101").status_code == 400
    assert api("/stats/libraries/{code}", token=ADMIN, code="FR-404").status_code == 404
    assert api("/stats/networks/{slug}", token=ADMIN, slug="NOT A SLUG").status_code == 404
    assert api("/stats/networks/{slug}/trend", token=ADMIN, query={"months": "0"}, slug="calvados").status_code == 400
    assert api("/stats/networks/{slug}/trend", token=ADMIN, query={"months": "x"}, slug="calvados").status_code == 400
    assert api("/stats/networks/{slug}/counter", token=ADMIN, query={"month": "2025-03", "year": "2025"},
               slug="calvados").status_code == 400
    empty = api("/stats/libraries/{code}", token=ADMIN, query={"month": "2024-02"}, code="FR-140476101")
    assert empty.status_code == 200 and empty.get_json()["aggregated"] is False
