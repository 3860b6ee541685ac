"""Hostile requests against every route of the demo broker: none may end in a server error.

Each route of ``app.url_map`` gets, for each of its methods, a handful of
malformed requests (odd query strings, bodies of the wrong kind, invalid
UTF-8, garbage credentials) from three clients: anonymous, a logged-in
patron, a logged-in network admin. Any answer of 500 or more fails the test,
except 503, the honest answer of a backing service that is down.
"""

from __future__ import annotations

from fixtures.routes import PROTOCOL_QUERIES, client_as, route_paths

#: every parameter name the views read, each given a hostile value
PARAMS = ["RelayState", "SAMLRequest", "SAMLResponse", "access_token", "action", "all", "back", "before", "birth_date", "blocked", "card", "category", "client_id", "code", "code_challenge", "code_challenge_method", "confirm", "consent", "email", "encrypt", "end", "enrol", "entity_id", "error", "expires", "format", "id", "id_token_hint", "k", "lang", "library", "login_hint", "max_age", "membership", "memberships", "metadata_url", "month", "name", "nameid", "network", "networks", "next", "nonce", "page", "password", "patron_id", "post_logout_redirect_uri", "prompt", "providerId", "q", "reason", "redirect_uri", "release", "renew", "request", "request_uri", "response_mode", "response_type", "service", "shire", "sign", "slug", "state", "suppliers", "table", "target", "ticket", "token", "ui_locales", "url", "year", "from", "to", "fmt", "grant_type", "refresh_token", "client_secret", "client_assertion", "client_assertion_type", "scope", "gateway"]

#: raw (already percent-encoded) values: invalid UTF-8, NUL, long, right-to-left, numbers out of range…
RAW_VALUES = (
    "%FF%FE", "%00", "A" * 3000, "%E2%80%AE%F0%9F%92%A9", "-1", "99999999999999999999999", "1e309",
    "//evil.example/%2F..", "[]", "%C0%AE%C0%AE", "%0D%0ASet-Cookie:x=1",
)

#: form / JSON bodies of the wrong shape
JSON_BODIES = ('[]', '"x"', '1', 'null', '{"card": 1, "library": [], "email": {}, "slug": 5, "networks": "x", '
               '"reason": null, "state": true, "memberships": [null, 1, "x"]}', '{"a": ' * 400 + '1' + '}' * 400,
               '{not json', )

def _query(value: str) -> str:
    return "&".join(f"{name}={value}" for name in PARAMS)


def _requests(path: str, method: str, token: str, bearer: str):
    """(description, kwargs for client.open) of the hostile requests for one path and method."""
    yield "plain", {}
    for value in RAW_VALUES[:5] if method == "GET" else RAW_VALUES[:2]:
        yield f"query {value[:12]}", {"query_string": _query(value)}
    yield "repeated params", {"query_string": "&".join(f"{p}=1&{p}=2" for p in PARAMS[:30])}
    for query in PROTOCOL_QUERIES if path.startswith(("/oidc/", "/cas/", "/saml/", "/go/")) else ():
        yield f"protocol {query[:20]}", {"query_string": query}
    yield "broken percent", {"query_string": "next=%&target=%G1&service=%%%&q=%u0041"}
    yield "garbage headers", {"headers": {"Authorization": "Bearer " + "Z" * 40, "Accept-Language": "\u00ff;q=x,*;q=",
                                          "Cookie": "sesame=" + "A" * 40 + "; library=%FF; lang=zz",
                                          "If-Modified-Since": "yesterday", "Range": "bytes=9-1",
                                          "X-Forwarded-For": "not-an-ip"}}
    yield "basic auth garbage", {"headers": {"Authorization": "Basic %%%not-base64"}}
    if method == "GET":
        return
    form = {name: "\u202e" + "é" * 50 for name in PARAMS}
    form["csrf_token"] = token
    yield "form unicode", {"data": form}
    yield "form empty", {"data": {"csrf_token": token}}
    yield "form long", {"data": {**{name: "x" * 20000 for name in PARAMS[:20]}, "csrf_token": token}}
    yield "non-utf8 form", {"data": b"card=%FF%FE&library=\xff\xfe&password=\x00&csrf_token=" + token.encode(),
                            "content_type": "application/x-www-form-urlencoded"}
    yield "raw bytes", {"data": b"\xff\xfe\x00\x01" * 64, "content_type": "application/octet-stream"}
    yield "multipart garbage", {"data": b"--x\r\nContent-Disposition: form-data\r\n\r\n\xff\r\n",
                                "content_type": "multipart/form-data; boundary=x"}
    yield "multipart no boundary", {"data": b"abc", "content_type": "multipart/form-data"}
    for body in JSON_BODIES:
        yield f"json {body[:12]}", {"data": body.encode(), "content_type": "application/json"}
    yield "json non-utf8", {"data": b'{"card": "\xff"}', "content_type": "application/json"}
    yield "json with bearer", {"data": JSON_BODIES[4].encode(), "content_type": "application/json",
                               "headers": {"Authorization": "Bearer " + "Y" * 40}}
    if bearer:
        yield "json with token", {"data": JSON_BODIES[4].encode(), "content_type": "application/json"}
        yield "json odd fields", {"data": b'{"memberships": [{"id": "x"}], "reason": "' + b"r" * 5000 + b'", '
                                          b'"card": "\\u0000", "library": "\\ud800", "slug": "a b", "metadata": "<x/>",'
                                          b' "networks": [1], "release": 5}', "content_type": "application/json"}


def test_no_route_answers_a_server_error(demo_app, identities):
    failures = []
    rules = [r for r in demo_app.url_map.iter_rules() if r.endpoint != "static"]
    assert len(rules) > 40  # the portal, staff, API and the three protocols are all there
    for rule in rules:
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        for path in route_paths(rule):
            for method in methods:
                for who, (data, bearer) in identities.items():
                    if who != "anonymous" and path != route_paths(rule)[0]:
                        continue  # hostile path variables: the anonymous client is enough
                    if (who == "patron") == rule.rule.startswith(("/staff", "/api/")) and who != "anonymous":
                        continue  # patrons on the patron and protocol pages, the admin on staff pages and the API
                    # a new session per route: a logout or a close among the requests must not end the others
                    client, token = client_as(demo_app, data, bearer)
                    for what, kwargs in _requests(path, method, token, bearer):
                        try:
                            response = client.open(path, method=method, **kwargs)
                        except Exception as exc:  # the test client re-raises what the app did not catch
                            failures.append(f"{method} {path[:80]} [{who}, {what}]: {type(exc).__name__}: {exc}"[:300])
                            continue
                        if response.status_code >= 500 and response.status_code != 503:
                            failures.append(f"{method} {path[:80]} [{who}, {what}]: {response.status_code}")
                        response.close()
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(failures[:60])
