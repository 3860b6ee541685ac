"""Browser security headers on every route of the app (its URL map walked), for each kind of visitor.

The same checks run in Chromium (tests/browser/test_csp.py), where a
Content-Security-Policy violation fails the test.
"""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from fixtures.routes import client_as, route_paths

#: endpoints whose answers are public documents a cache may keep (no personal data)
PUBLIC = {"static", "oidc.discovery", "oidc.jwks", "saml.metadata", "portal.libraries_suggest", "ops.metrics"}
PROTOCOL = ("/saml/", "/oidc/", "/cas/", "/go/", "/login", "/logout", "/register", "/staff/login")
_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.S | re.I)
_STYLE = re.compile(r"<style(?P<attrs>[^>]*)>", re.I)


def directives(policy: str) -> dict[str, list[str]]:
    found = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            found[words[0]] = words[1:]
    return found


def check(response, path: str, endpoint: str, logged_in: bool) -> list[str]:
    """What is wrong with one response's headers (empty when all is right)."""
    wrong = []
    headers = response.headers
    policy = directives(headers.get("Content-Security-Policy", ""))
    if policy.get("default-src") != ["'self'"]:
        wrong.append(f"default-src {policy.get('default-src')}")
    if policy.get("frame-ancestors") != ["'none'"]:
        wrong.append(f"frame-ancestors {policy.get('frame-ancestors')}")
    scripts = policy.get("script-src", [])
    if "'self'" not in scripts or any(s in scripts for s in ("'unsafe-inline'", "'unsafe-eval'", "*", "https:")):
        wrong.append(f"script-src {scripts}")
    if "'self'" not in policy.get("form-action", []) or "*" in policy.get("form-action", []):
        wrong.append(f"form-action {policy.get('form-action')}")
    if policy.get("object-src") != ["'none'"]:
        wrong.append("object-src")
    if headers.get("X-Frame-Options") != "DENY":
        wrong.append(f"X-Frame-Options {headers.get('X-Frame-Options')}")
    if headers.get("X-Content-Type-Options") != "nosniff":
        wrong.append("nosniff")
    referrer = headers.get("Referrer-Policy")
    expected = "no-referrer" if path.startswith(PROTOCOL) else "strict-origin-when-cross-origin"
    if referrer != expected and not (referrer == "no-referrer" and expected != "no-referrer"):
        wrong.append(f"Referrer-Policy {referrer} (expected {expected})")
    if "Strict-Transport-Security" in headers:
        wrong.append("HSTS over http")
    personal = response.mimetype == "text/html" or logged_in or path.startswith(("/api/", "/staff/", *PROTOCOL))
    if personal and endpoint not in PUBLIC and "no-store" not in headers.get("Cache-Control", ""):
        wrong.append(f"Cache-Control {headers.get('Cache-Control')}")
    if response.mimetype == "text/html":
        nonce = next((s[7:-1] for s in scripts if s.startswith("'nonce-")), None)
        for match in _SCRIPT.finditer(response.get_data(as_text=True)):
            if "src=" in match.group("attrs"):
                continue
            digest = "'sha256-" + base64.b64encode(hashlib.sha256(match.group("body").encode()).digest()).decode() + "'"
            if f'nonce="{nonce}"' not in match.group("attrs") and digest not in scripts:
                wrong.append("inline script without the nonce or an allowed hash")
        styles = policy.get("style-src", [])
        for match in _STYLE.finditer(response.get_data(as_text=True)):
            if not nonce or f'nonce="{nonce}"' not in match.group("attrs") or f"'nonce-{nonce}'" not in styles:
                wrong.append("<style> without the nonce")
    return wrong


def test_every_route_sends_the_security_headers(demo_app, identities):
    failures, seen = [], 0
    rules = [r for r in demo_app.url_map.iter_rules()]
    assert len(rules) > 40
    nonces = set()
    for rule in rules:
        path = route_paths(rule)[0]
        if rule.endpoint == "static":
            path = "/static/sesame.css"
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            for who, (data, bearer) in identities.items():
                client, _token = client_as(demo_app, data, bearer)
                response = client.open(path, method=method)
                seen += 1
                for problem in check(response, path, rule.endpoint, who != "anonymous"):
                    failures.append(f"{method} {path} [{who}] {response.status_code}: {problem}")
                nonce = re.search(r"'nonce-([^']+)'", response.headers.get("Content-Security-Policy", ""))
                if nonce:
                    nonces.add(nonce.group(1))
                response.close()
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(failures[:60])
    assert len(nonces) == seen  # a new nonce for every response


def test_hsts_when_the_base_url_is_https(make_app):
    app = make_app(base_url="https://sesame.example.org")
    response = app.test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert int(response.headers["Strict-Transport-Security"].split("=")[1].split(";")[0]) >= 180 * 24 * 3600


def test_the_saml_auto_post_page_allows_its_script_and_its_acs_only():
    from flask import Flask

    from broker.providers.saml.outbound import AUTO_SUBMIT, post_form
    from broker.web import security_headers

    app = Flask("t")
    app.config["BABEL_DEFAULT_LOCALE"] = "fr"
    from flask_babel import Babel

    Babel(app)
    security_headers.init_app(app, https=False)

    @app.get("/post")
    def post():
        return post_form("https://sp.example.org/Shibboleth.sso/SAML2/POST", "SAMLResponse", b"<x/>", "r")

    response = app.test_client().get("/post")
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["form-action"] == ["'self'", "https://sp.example.org"]
    assert security_headers.script_hash(AUTO_SUBMIT) in policy["script-src"]
    assert f"<script>{AUTO_SUBMIT}</script>" in response.get_data(as_text=True)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("url", ["https://rp.example.org/cb?x=1", "http://127.0.0.1:8080/cb"])
def test_a_form_target_becomes_an_origin(url):
    from broker.web.security_headers import origin_of

    assert origin_of(url) == url.split("/cb")[0]


@pytest.mark.parametrize("url", ["javascript:alert(1)", "https://a b/", "https://x.org;script-src *", "/local",
                                 "https://u@evil.example/", "data:text/html,x", ""])
def test_nothing_else_reaches_form_action(url):
    from broker.web.security_headers import origin_of

    assert origin_of(url) is None
