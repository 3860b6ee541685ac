"""Two nodes, one PostgreSQL, one Redis: flows begun on one node finish on the other; a lost node loses only its own flows."""

from __future__ import annotations

import base64
import json
import threading
import time
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from lxml import html as lxml_html

from bench import loadgen
from bench import population as P
from scale.cluster import MAIN, PUBLIC, Browser

pytestmark = pytest.mark.xdist_group("scale")


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def saml_sp(idp_metadata: str):
    """The supplier's SP as OneLogin's python3-saml implements it (strict: checks signature, audience, destination)."""
    from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
    from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser

    idp = OneLogin_Saml2_IdPMetadataParser.parse(idp_metadata)["idp"]
    return {"strict": True, "debug": False, "idp": idp,
            "sp": {"entityId": P.SP_ENTITY, "NameIDFormat": C.NAMEID_PERSISTENT,
                   "assertionConsumerService": {"url": P.SP_ACS, "binding": C.BINDING_HTTP_POST}},
            "security": {"wantMessagesSigned": True, "wantAssertionsSigned": False, "requestedAuthnContext": False,
                         "allowSingleLabelDomains": True, "signatureAlgorithm": C.RSA_SHA256}}


def sp_auth(settings, post=None):
    from onelogin.saml2.auth import OneLogin_Saml2_Auth

    return OneLogin_Saml2_Auth({"https": "on", "http_host": urlsplit(P.SP_ACS).hostname,
                                "script_name": urlsplit(P.SP_ACS).path, "get_data": {}, "post_data": post or {}},
                               settings)


def test_a_saml_login_begun_on_node_a_finishes_on_node_b(cluster, browser):
    a, b = cluster.node("a"), cluster.node("b")
    settings = saml_sp(requests.get(b.base + "/saml/metadata", timeout=10).text)
    auth = sp_auth(settings)
    url = auth.login(return_to="https://sp.bench.example.org/resource/1")
    request_id = auth.get_last_request_id()
    assert url.startswith(PUBLIC + "/saml/sso?")

    started = browser.get(a, path_of(url))  # node A keeps the request in Redis and asks for a login
    assert started.status_code == 302, started.text[:300]
    next_url = parse_qs(urlsplit(started.headers["Location"]).query)["next"][0]
    patron = cluster.patrons_of(MAIN)[0]
    logged = browser.login(b, patron, next_url)  # …which node B does
    assert logged.status_code == 302, logged.text[:300]
    answer = browser.get(b, path_of(logged.headers["Location"]))  # …and B answers the request A received
    assert answer.status_code == 200, answer.text[:300]
    form = lxml_html.fromstring(answer.content).forms[0]
    fields = {i.name: i.value for i in form.inputs if i.name}
    assert form.action == P.SP_ACS
    assert fields["RelayState"] == "https://sp.bench.example.org/resource/1"

    consumer = sp_auth(settings, post=fields)
    consumer.process_response(request_id=request_id)
    assert consumer.get_errors() == [], consumer.get_last_error_reason()
    assert consumer.is_authenticated()
    assert consumer.get_nameid() and patron.card not in consumer.get_nameid()


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify_rs256(token: str, jwks: dict) -> dict:
    """Check a JWT's RS256 signature against the published JWKS (no JOSE library: nothing shared with the server)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    head, body, signature = token.split(".")
    header = json.loads(_b64(head))
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    public = rsa.RSAPublicNumbers(int.from_bytes(_b64(key["e"]), "big"), int.from_bytes(_b64(key["n"]), "big")).public_key()
    public.verify(_b64(signature), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return json.loads(_b64(body))


def test_an_oidc_code_flow_begun_on_node_a_finishes_on_node_b(cluster, browser):
    a, b = cluster.node("a"), cluster.node("b")
    patron = cluster.patrons_of(MAIN)[1]
    assert browser.login(a, patron).status_code == 302
    verifier, challenge = loadgen.pkce_pair()
    client_id = cluster.loaded.oidc_client_id
    authorize = browser.get(a, f"/oidc/authorize?response_type=code&client_id={quote(client_id)}"
                               f"&redirect_uri={quote(P.OIDC_REDIRECT, safe='')}&scope=openid%20library"
                               f"&state=st-1&nonce=nonce-1&code_challenge={challenge}&code_challenge_method=S256")
    assert authorize.status_code == 302, authorize.text[:300]
    query = parse_qs(urlsplit(authorize.headers["Location"]).query)
    assert query["state"] == ["st-1"]

    basic = loadgen.basic_auth(client_id, cluster.loaded.oidc_client_secret)
    token = requests.post(b.base + "/oidc/token", timeout=10, headers={"Authorization": basic}, data={
        "grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": P.OIDC_REDIRECT,
        "code_verifier": verifier})
    assert token.status_code == 200, token.text
    tokens = token.json()
    claims = verify_rs256(tokens["id_token"], requests.get(b.base + "/oidc/jwks", timeout=10).json())
    assert claims["iss"] == PUBLIC and claims["aud"] in (client_id, [client_id])
    assert claims["nonce"] == "nonce-1"
    info = requests.get(a.base + "/oidc/userinfo", timeout=10,
                        headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 200, info.text
    assert info.json()["sub"] == claims["sub"]
    # the code was used on B: A refuses it too (one Redis for both nodes)
    again = requests.post(a.base + "/oidc/token", timeout=10, headers={"Authorization": basic}, data={
        "grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": P.OIDC_REDIRECT,
        "code_verifier": verifier})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def cas_flow(node, sid: str, ip: str, n: int) -> str:
    """One CAS login + serviceValidate on ``node``: "ok", or what went wrong."""
    service = quote(f"{P.CAS_SERVICE}?r={n}", safe="")
    headers = {"X-Forwarded-For": ip, "Cookie": f"sesame={sid}"}
    try:
        login = requests.get(f"{node.base}/cas/login?service={service}", headers=headers, allow_redirects=False,
                             timeout=5)
        if login.status_code != 302:
            return f"login {login.status_code}"
        ticket = parse_qs(urlsplit(login.headers["Location"]).query)["ticket"][0]
        check = requests.get(f"{node.base}/cas/serviceValidate?service={service}&ticket={ticket}",
                             headers={"X-Forwarded-For": ip}, timeout=5)
        return "ok" if check.status_code == 200 and "authenticationSuccess" in check.text else f"validate {check.status_code}"
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
        return "connection"  # refused, reset, or cut in the middle of a response by the node's death
    except requests.Timeout:
        return "timeout"


def test_killing_a_node_under_load_fails_only_the_flows_that_touched_it(cluster):
    a = cluster.node("a")
    doomed = cluster.node("doomed")
    sessions = []
    for i, patron in enumerate(cluster.patrons_of(MAIN)[2:8]):
        browser = Browser(ip=f"10.9.1.{i}")
        assert browser.login(a, patron).status_code == 302
        sessions.append((browser.http.cookies["sesame"], browser.ip))

    results: dict[str, list[str]] = {"a": [], "doomed": []}
    stop = threading.Event()

    def worker(name: str, node, sid: str, ip: str) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            results[name].append(cas_flow(node, sid, ip, n))

    threads = [threading.Thread(target=worker, args=(name, node, sid, ip))
               for k, (sid, ip) in enumerate(sessions)
               for name, node in ((("a", a),) if k % 2 == 0 else (("doomed", doomed),))]
    for t in threads:
        t.start()
    time.sleep(1.5)
    before_kill = len(results["doomed"])
    doomed.kill()
    cluster.nodes.pop("doomed")
    time.sleep(1.5)
    stop.set()
    for t in threads:
        t.join(15)

    assert len(results["a"]) > 10
    assert set(results["a"]) == {"ok"}, [r for r in results["a"] if r != "ok"][:5]
    assert before_kill > 0 and results["doomed"][:before_kill].count("ok") >= before_kill - 3
    assert set(results["doomed"]) <= {"ok", "connection", "timeout"}
    assert results["doomed"][-1] == "connection"
