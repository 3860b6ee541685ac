"""Signed links end to end: add-link, /go/<slug>, and a supplier's own check with the standard library only."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
from sqlalchemy import select

from broker.db.models import Supplier, UsageEvent
from broker.testing import capture_logs, query_of
from fixtures.live import VIRE, Browser
from providers.link.linkkit import OTHER_CARD, OTHER_PIN, SECRET, SECRET_VAR, VOD

TEMPLATE = f"{VOD}/sso?u={{uid}}&t={{ts}}&s={{sig}}"


def supplier_check(url: str, secret: str, *, lifetime: int = 300) -> str:
    """What the supplier runs: recompute HMAC-SHA256(secret, u + t), compare, check freshness; the uid."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    expected = hmac.new(secret.encode(), (query["u"] + query["t"]).encode(), hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, query["s"]), "signature refused"
    assert abs(time.time() - int(query["t"])) <= lifetime, "stale link"
    return query["u"]


def usage(live, slug: str) -> list[str]:
    with live.runtime.db.session() as s:
        supplier_id = s.scalar(select(Supplier.id).where(Supplier.slug == slug))
        return list(s.scalars(select(UsageEvent.outcome).where(UsageEvent.supplier_id == supplier_id,
                                                               UsageEvent.protocol == "link")
                              .order_by(UsageEvent.id)))


def go(browser: Browser, slug: str, **query):
    return browser.get(browser.live.url(f"/go/{slug}" + (f"?{urlencode(query)}" if query else "")))


def test_add_link_then_go_gives_a_link_the_supplier_accepts(live, patron, add_link):
    slug, result, data = add_link(None, "--network", "calvados", "--url-template", TEMPLATE,
                                  "--secret-env", SECRET_VAR)
    assert result.exit_code == 0, result.output
    assert data["protocol"] == "link" and data["algorithm"] == "hmac-sha256" and data["message"] == "{uid}{ts}"
    assert data["secret"] == f"environment variable {SECRET_VAR}" and SECRET not in result.output
    answer = go(patron, slug)
    assert answer.status_code == 303, answer.text[:300]
    location = answer.headers["Location"]
    assert location.startswith(f"{VOD}/sso?u=") and answer.headers["Cache-Control"] == "no-store"
    uid = supplier_check(location, SECRET)
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,}", uid) and "V0001" not in location
    assert usage(live, slug) == ["granted"]
    # a forged or replayed-with-another-time link fails the same check
    forged = re.sub(r"t=(\d+)", lambda m: f"t={int(m.group(1)) + 1}", location)
    with pytest.raises(AssertionError, match="signature refused"):
        supplier_check(forged, SECRET)
    with pytest.raises(AssertionError, match="signature refused"):
        supplier_check(location, SECRET + "x")


def test_uid_is_stable_per_patron_and_supplier(live, patron, add_link):
    first, _, _ = add_link(None, "--network", "calvados", "--url-template", TEMPLATE, "--secret-env", SECRET_VAR)
    second, _, _ = add_link(None, "--network", "calvados", "--url-template", TEMPLATE, "--secret-env", SECRET_VAR)
    a1 = supplier_check(go(patron, first).headers["Location"], SECRET)
    a2 = supplier_check(go(patron, first).headers["Location"], SECRET)
    b1 = supplier_check(go(patron, second).headers["Location"], SECRET)
    other = Browser(live)
    assert other.login(OTHER_CARD, OTHER_PIN).status_code == 302
    c1 = supplier_check(go(other, first).headers["Location"], SECRET)
    assert a1 == a2, "the same patron must keep the same identifier at a supplier"
    assert a1 != b1, "two suppliers must not be able to link a patron's identifiers"
    assert a1 != c1, "two patrons must not share an identifier"
    assert usage(live, first) == ["granted", "granted", "granted"]


def test_a_pending_patron_gets_no_link(live, add_link, pending_patron):
    slug, result, _ = add_link(None, "--network", "calvados", "--url-template", TEMPLATE, "--secret-env", SECRET_VAR)
    assert result.exit_code == 0
    answer = go(pending_patron, slug)
    assert answer.status_code == 403 and "Location" not in answer.headers
    assert "attend sa validation" in answer.text and "vod.example.org" not in answer.text
    assert usage(live, slug) == ["membership_pending"]


def test_a_logged_out_patron_logs_in_then_gets_the_link(live, add_link):
    slug, _, _ = add_link(None, "--network", "calvados", "--url-template", TEMPLATE, "--secret-env", SECRET_VAR)
    browser = Browser(live)
    answer = go(browser, slug)
    assert answer.status_code == 302 and urlsplit(answer.headers["Location"]).path == "/login"
    assert usage(live, slug) == []
    final = browser.login_via(answer)
    assert final.status_code == 303
    supplier_check(final.headers["Location"], SECRET)


def test_deep_links_stay_on_the_registered_origins(live, patron, add_link):
    template = f"{VOD}/sso?u={{uid}}&t={{ts}}&n={{nonce}}&to={{target}}&s={{sig}}"
    slug, result, data = add_link(None, "--network", "calvados", "--url-template", template,
                                  "--message", "{uid}|{ts}|{nonce}|{target}", "--secret-env", SECRET_VAR,
                                  "--target-origin", VOD, "--target-origin", "https://films.example.org:8443")
    assert result.exit_code == 0, result.output
    assert data["target_origins"] == [VOD, "https://films.example.org:8443"]
    wanted = f"{VOD}/film/42?lang=fr&q=a%20b"
    answer = go(patron, slug, target=wanted)
    assert answer.status_code == 303
    location = answer.headers["Location"]
    assert f"to={quote(wanted, safe='')}&" in location
    q = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    message = f"{q['u']}|{q['t']}|{q['n']}|{q['to']}"
    assert q["to"] == wanted and re.fullmatch(r"[0-9a-f]{32}", q["n"])
    assert hmac.compare_digest(hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest(), q["s"])
    other = go(patron, slug, target="https://films.example.org:8443/x")
    assert other.status_code == 303
    nonces = {q["n"], parse_qs(urlsplit(other.headers["Location"]).query)["n"][0]}
    assert len(nonces) == 2, "every link has its own nonce"
    before = usage(live, slug)
    for target in ("https://evil.example.org/", "https://vod.example.org.evil.example/", "http://vod.example.org/x",
                   "https://vod.example.org@evil.example/", "https://films.example.org/x", "javascript:alert(1)",
                   "//evil.example.org/", "/relative", "https://vod.example.org:444/", "https://vod.example.org\\@x/"):
        refused = go(patron, slug, target=target)
        assert refused.status_code == 400 and "Location" not in refused.headers, target
        assert "hors du site du fournisseur" in refused.text
    assert usage(live, slug) == before, "a refused deep link is not an access"
    english = patron.get(live.url(f"/go/{slug}?" + urlencode({"target": "https://evil.example.org/"})),
                         headers={"Accept-Language": "en"})
    assert english.status_code == 400 and "This link leads outside the supplier" in english.text


def test_a_template_without_target_refuses_any_deep_link(live, patron, add_link):
    slug, _, _ = add_link(None, "--network", "calvados", "--url-template", TEMPLATE, "--secret-env", SECRET_VAR)
    assert go(patron, slug, target=f"{VOD}/film/1").status_code == 400
    assert go(patron, slug).status_code == 303


def test_released_attributes_and_other_placeholders(live, patron, add_link):
    template = (f"{VOD}/in?u={{uid}}&lib={{library}}&net={{network}}&iso={{iso_ts}}&exp={{exp}}&mail={{email}}"
                "&t={ts}&s={sig}")
    slug, result, _ = add_link(None, "--network", "calvados", "--url-template", template, "--secret-env",
                               SECRET_VAR, "--release", "library,network", "--lifetime", "120")
    assert result.exit_code == 2 and "{email}" in result.stderr and "--release" in result.stderr
    slug, result, data = add_link(None, "--network", "calvados", "--url-template", template, "--secret-env",
                                  SECRET_VAR, "--release", "library,network,email", "--lifetime", "120",
                                  "--message", "{uid}{library}{ts}")
    assert result.exit_code == 0 and data["lifetime"] == 120
    q = {k: v[0] for k, v in parse_qs(urlsplit(go(patron, slug).headers["Location"]).query).items()}
    assert q["lib"] == VIRE and q["net"] == "calvados" and q["mail"] == "sarah.fontaine@example.org"
    assert int(q["exp"]) - int(q["t"]) == 120
    assert time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(q["t"]))) == q["iso"]
    expected = hmac.new(SECRET.encode(), (q["u"] + VIRE + q["t"]).encode(), hashlib.sha256).hexdigest()
    assert q["s"] == expected


@pytest.mark.parametrize("algorithm,digest", [
    ("hmac-sha1", lambda m: hmac.new(SECRET.encode(), m.encode(), hashlib.sha1).hexdigest()),
    ("md5-concat", lambda m: hashlib.md5((m + SECRET).encode()).hexdigest()),
    ("sha1-concat", lambda m: hashlib.sha1((m + SECRET).encode()).hexdigest()),
])
def test_other_algorithms(live, patron, add_link, algorithm, digest):
    args = ("--network", "calvados", "--url-template", TEMPLATE, "--secret-env", SECRET_VAR, "--algorithm", algorithm)
    legacy = algorithm.endswith("-concat")
    if legacy:
        _, refused, _ = add_link(None, *args)
        assert refused.exit_code == 2 and "legacy" in refused.stderr and "--allow-legacy" in refused.stderr
        args = (*args, "--allow-legacy")
    slug, result, data = add_link(None, *args)
    assert result.exit_code == 0, result.output
    assert data["algorithm"] == (f"{algorithm} (legacy)" if legacy else algorithm)
    q = {k: v[0] for k, v in parse_qs(urlsplit(go(patron, slug).headers["Location"]).query).items()}
    assert q["s"] == digest(q["u"] + q["t"])


def test_secret_kept_encrypted_works_without_the_variable_and_is_never_in_clear(live, patron, add_link):
    slug, result, data = add_link(None, "--network", "calvados", "--url-template", TEMPLATE, "--secret-env",
                                  SECRET_VAR, "--store-secret")
    assert result.exit_code == 0 and data["secret"] == "encrypted store"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(SECRET_VAR)
        supplier_check(go(patron, slug).headers["Location"], SECRET)
    with live.runtime.db.session() as s:
        config = s.scalar(select(Supplier.config).where(Supplier.slug == slug))
    assert SECRET not in json.dumps(config) and config["link"]["secret_encrypted"]
    database = urlsplit(live.runtime.settings.effective_database_url).path.lstrip("/")
    live.runtime.db.engine.dispose()
    assert SECRET.encode() not in open("/" + database if not database.startswith("/") else database, "rb").read()


def test_missing_secret_at_issuance_is_a_clear_503_and_no_link(live, patron, add_link):
    slug, _, _ = add_link(None, "--network", "calvados", "--url-template", TEMPLATE, "--secret-env", SECRET_VAR)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(SECRET_VAR)
        answer = go(patron, slug)
    assert answer.status_code == 503 and "Location" not in answer.headers
    assert usage(live, slug) == []


def test_logs_never_hold_the_secret_the_uid_or_the_signature(live, patron, add_link):
    with capture_logs() as logs:
        slug, result, _ = add_link(None, "--network", "calvados", "--url-template", TEMPLATE,
                                   "--secret-env", SECRET_VAR, env_extra={"BROKER_LOG_LEVEL": "DEBUG"})
        assert result.exit_code == 0
        location = go(patron, slug).headers["Location"]
        with pytest.MonkeyPatch.context() as mp:  # and when the secret is missing
            mp.delenv(SECRET_VAR)
            go(patron, slug)
    q = query_of(location)
    text = logs.text + result.output
    for needle in (SECRET, q["u"], q["s"], location):
        assert needle not in text, needle[:12]
    issued = [json.loads(line) for line in logs.text.splitlines() if "signed link issued" in line]
    assert issued and re.fullmatch(re.escape(f"{VOD}/sso?u=[uid]&t=") + r"(\d+|\[number\])&s=\[sig\]",
                                   issued[0]["event"]["url"]), issued
    assert f"environment variable {SECRET_VAR} is not set" in logs.text
