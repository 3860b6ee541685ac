"""GET /api/v1/stats/{libraries,networks}/…/titles: the titles page's lines as JSON, scoped and documented."""

from __future__ import annotations

import pytest
import requests
from jsonschema import Draft202012Validator
from test_titles import setup_titles

from broker.web import stats_openapi
from fixtures import stats as statskit
from fixtures.stats import ADMIN, BAYEUX, PORT_EN_BESSIN, REFERENT, VIRE

SPEC = stats_openapi.document()
NETWORK = {"Le Monde": {"Total_Item_Requests": 90, "Total_Item_Investigations": 120, "No_License": 3},
           "Télérama": {"Total_Item_Requests": 6, "Total_Item_Investigations": 300}}


def _check(template: str, status: int, body) -> None:
    documented = SPEC["paths"][template]["get"]["responses"].get(str(status))
    assert documented, f"{template} answered {status}, which the spec does not list"
    schema = {**documented["content"]["application/json"]["schema"], "components": SPEC["components"]}
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = list(validator.iter_errors(body))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


@pytest.fixture
def titles_api(stats_app, serve_app):
    """A served app with a network title report and a member's database report; ``call`` checks the spec."""
    setup_titles(stats_app, network=NETWORK, patrons={BAYEUX: 1, VIRE: 2})
    setup_titles(stats_app, report_id="DR", members={VIRE: {"Europresse": {"Searches_Regular": 12}}})
    stats_app.config["TESTING"] = False
    url = serve_app(stats_app)
    tokens = {email: statskit.token_for(stats_app, email) for email in (REFERENT, ADMIN)}

    def call(template: str, *, token: str | None = None, query: dict | None = None, **params):
        headers = {"Authorization": f"Bearer {tokens[token]}"} if token else {}
        r = requests.get(f"{url}/api/v1{template.format(**params)}", params=query, headers=headers, timeout=10)
        _check(template, r.status_code, r.json())
        return r

    call.app = stats_app
    return call


def test_a_library_gets_its_share_of_each_title(titles_api):
    r = titles_api("/stats/libraries/{code}/titles", token=REFERENT, query={"month": "2026-11"}, code=BAYEUX)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    body = r.json()
    assert body["selection"] == {"network": "calvados", "library": BAYEUX, "label": "Médiathèque Les 7 Lieux"}
    assert (body["report"], body["ranked_by"], body["period"]) == ("TR", "Total_Item_Requests", "2026-11")
    first = body["lines"][0]
    assert first["name"] == "Le Monde" and first["supplier"] == "cafeyn"
    assert first["metrics"] == {"Total_Item_Requests": 30, "Total_Item_Investigations": 40, "No_License": 1}
    assert (first["method"], first["method_label"]) == ("prorata", "réparti au prorata des accès")
    assert {"id": "No_License", "label": "Refus : contenu hors abonnement"} in body["metrics"]
    # ranked by another metric, limited
    r = titles_api("/stats/libraries/{code}/titles", token=REFERENT, code=BAYEUX,
                   query={"month": "2026-11", "metric": "Total_Item_Investigations", "limit": "1"})
    assert [line["name"] for line in r.json()["lines"]] == ["Télérama"]
    # a year adds up its months
    r = titles_api("/stats/libraries/{code}/titles", token=REFERENT, query={"year": "2026"}, code=BAYEUX)
    assert r.json()["period"] == "2026" and r.json()["lines"][0]["metrics"]["Total_Item_Requests"] == 30


def test_the_network_admin_sees_the_network_and_its_databases(titles_api):
    r = titles_api("/stats/networks/{slug}/titles", token=ADMIN, query={"month": "2026-11"}, slug="calvados")
    assert r.json()["lines"][0]["metrics"]["Total_Item_Requests"] == 90
    r = titles_api("/stats/networks/{slug}/titles", token=ADMIN, slug="calvados",
                   query={"month": "2026-11", "report": "dr", "metric": "Searches_Regular"})
    lines = r.json()["lines"]
    assert r.json()["report"] == "DR" and [(t["name"], t["metrics"], t["method"]) for t in lines] == [
        ("Europresse", {"Searches_Regular": 12}, "member")]


def test_a_referent_sees_only_their_library(titles_api):
    r = titles_api("/stats/libraries/{code}/titles", token=REFERENT, query={"month": "2026-11"}, code=VIRE)
    assert r.status_code == 403 and r.json()["error"] == "out_of_scope"
    assert (REFERENT, "stats.api", VIRE, "denied") in statskit.audit_rows(titles_api.app)
    assert titles_api("/stats/networks/{slug}/titles", token=REFERENT, slug="calvados").status_code == 403
    assert titles_api("/stats/networks/{slug}/titles", token=ADMIN, slug="caen-la-mer").status_code == 403
    # a library without a share of the network's report sees no line of it
    r = titles_api("/stats/libraries/{code}/titles", token=ADMIN, query={"month": "2026-11"}, code=PORT_EN_BESSIN)
    assert r.status_code == 200 and r.json()["lines"] == []


def test_no_token_and_bad_parameters(titles_api):
    r = titles_api("/stats/libraries/{code}/titles", code=BAYEUX)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    for query in ({"report": "pr"}, {"report": "tr", "metric": "Searches_Regular"}, {"month": "2026-13"},
                  {"month": "2026-11", "year": "2026"}, {"limit": "0"}, {"limit": "x"}, {"year": "20x6"}):
        r = titles_api("/stats/libraries/{code}/titles", token=ADMIN, query=query, code=BAYEUX)
        assert r.status_code == 400, query
        assert r.json()["message"]
    assert titles_api("/stats/libraries/{code}/titles", token=ADMIN, code="FR-404").status_code == 404


def test_the_documented_api_examples_answer(titles_api):
    """The ``GET /api/v1/stats/…/titles`` examples of docs/statistics.md, as written, for the network admin."""
    import re
    from pathlib import Path
    from urllib.parse import parse_qsl, urlsplit

    text = (Path(__file__).parents[2] / "docs" / "statistics.md").read_text(encoding="utf-8")
    examples = re.findall(r"^GET /api/v1(/stats/\S+/titles\?\S+)$", text, re.MULTILINE)
    assert len(examples) == 2
    for example in examples:
        parts = urlsplit(example)
        kind, key = parts.path.split("/")[2:4]
        template = "/stats/libraries/{code}/titles" if kind == "libraries" else "/stats/networks/{slug}/titles"
        r = titles_api(template, token=ADMIN, query=dict(parse_qsl(parts.query)),
                       **({"code": key} if kind == "libraries" else {"slug": key}))
        assert r.status_code == 200, (example, r.text)
        assert r.json()["lines"], example
