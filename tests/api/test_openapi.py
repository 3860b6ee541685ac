"""The OpenAPI document: valid OpenAPI 3.1, served, and in step with the routes in both directions."""

from __future__ import annotations

import re

from openapi_spec_validator import validate


def _routes(app, blueprint: str | None = None) -> set[tuple[str, str]]:
    """The /api/v1 routes: all of them, or those of one blueprint (not those mounted under it)."""
    out = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        if blueprint and rule.endpoint.rpartition(".")[0] != blueprint:
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule[len("/api/v1"):])
        out |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return out


def _served(app) -> dict:
    return app.test_client().get("/api/v1/openapi.json").get_json()


def test_document_is_valid_openapi_3_1(openapi):
    validate(openapi)
    assert openapi["openapi"].startswith("3.1")


def test_document_is_served_and_valid(api_app):
    r = api_app.test_client().get("/api/v1/openapi.json")
    assert r.status_code == 200 and r.is_json
    validate(r.get_json())


def test_every_route_is_in_the_spec_and_every_operation_is_routed(api_app):
    """Every /api/v1 route of the running app: the API's own and those mounted under it (administration,
    statistics, the SAML and signed-link providers' supplier routes)."""
    served = _served(api_app)
    documented = {(path, method) for path, ops in served["paths"].items() for method in ops}
    routed = _routes(api_app)
    assert routed - documented == set(), "routes missing from the spec"
    assert documented - routed == set(), "spec operations without a route"
    assert len(_routes(api_app, "api")) >= 13
    for mounted, example in [("api.admin_api", ("/partners", "get")), ("api.stats_api", ("/stats/months", "get")),
                             ("api.saml_api", ("/suppliers/saml", "post")), ("api.link_api", ("/suppliers/link", "get"))]:
        assert example in _routes(api_app, mounted), mounted
    assert all(rule.endpoint.startswith("api.") for rule in api_app.url_map.iter_rules()
               if rule.rule.startswith("/api/v1/")), "an /api/v1 route outside the API blueprint"


def test_one_guard_and_one_error_shape_everywhere(api_app):
    """Without a token, every part of /api/v1 answers the same 401, with its challenge, never cached."""
    client = api_app.test_client()
    for method, path in [("GET", "/me"), ("GET", "/partners"), ("GET", "/stats/months"),
                         ("GET", "/suppliers/saml"), ("POST", "/suppliers/saml/x/refresh"), ("GET", "/suppliers/link")]:
        r = client.open("/api/v1" + path, method=method)
        assert r.status_code == 401, path
        assert r.get_json()["error"] == "unauthorized", path
        assert r.headers["WWW-Authenticate"] == 'Bearer realm="sesame"', path
        assert r.headers["Cache-Control"] == "no-store", path


def test_every_operation_documents_its_errors_and_schemas(openapi):
    for path, ops in openapi["paths"].items():
        for method, op in ops.items():
            assert op.get("summary"), (path, method)
            assert {"200", "201"} & set(op["responses"]), (path, method)
            if op.get("security", openapi["security"]):
                assert "401" in op["responses"], (path, method)
            for status, response in op["responses"].items():
                assert "application/json" in response["content"], (path, method, status)
            for param in op.get("parameters", []):
                if param["in"] == "path":
                    assert "{" + param["name"] + "}" in path


def test_every_operation_answers_as_documented(api, api_app, token_for):
    """One call per operation with an admin token; each answer is checked against its schema by ``api``."""
    from fixtures.staff import ADMIN, BAYEUX, VIRE_LIB, add_pending, membership_id

    token = token_for(ADMIN[0])
    pending = membership_id(api_app, VIRE_LIB, "V0002")
    suspended = membership_id(api_app, BAYEUX, "29001000000041")
    active = membership_id(api_app, BAYEUX, "29001000000017")
    other = add_pending(api_app, "V5001", "Spec Check")
    third = add_pending(api_app, "V5002", "Spec Bulk")
    seen = {
        ("/openapi.json", "get"): api("GET", "/openapi.json"),
        ("/me", "get"): api("GET", "/me", token=token),
        ("/libraries", "get"): api("GET", "/libraries", token=token),
        ("/libraries/{code}/counts", "get"): api("GET", "/libraries/{code}/counts", token=token, code=BAYEUX),
        ("/libraries/{code}/memberships", "get"): api("GET", "/libraries/{code}/memberships", token=token,
                                                       code=BAYEUX),
        ("/libraries/{code}/lookup", "post"): api("POST", "/libraries/{code}/lookup", token=token, code=VIRE_LIB,
                                                  json={"card": "V0001"}),
        ("/memberships/{membership_id}", "get"): api("GET", "/memberships/{membership_id}", token=token,
                                                     membership_id=active),
        ("/memberships/{membership_id}/lookup", "get"): api("GET", "/memberships/{membership_id}/lookup",
                                                            token=token, membership_id=pending),
        ("/memberships/{membership_id}/validate", "post"): api("POST", "/memberships/{membership_id}/validate",
                                                               token=token, membership_id=pending),
        ("/memberships/{membership_id}/refuse", "post"): api("POST", "/memberships/{membership_id}/refuse",
                                                             token=token, membership_id=other,
                                                             json={"reason": "test"}),
        ("/memberships/{membership_id}/suspend", "post"): api("POST", "/memberships/{membership_id}/suspend",
                                                              token=token, membership_id=active,
                                                              json={"reason": "test"}),
        ("/memberships/{membership_id}/reactivate", "post"): api("POST", "/memberships/{membership_id}/reactivate",
                                                                 token=token, membership_id=suspended),
        ("/memberships/validate", "post"): api("POST", "/memberships/validate", token=token, json={"ids": [third]}),
        ("/providers", "get"): api("GET", "/providers", token=token),
    }
    assert all(r.status_code == 200 for r in seen.values()), {k: r.status_code for k, r in seen.items()}
    assert set(seen) == _routes(api_app, "api")
