"""SAML fixtures: the demo broker as IdP, and service providers played by OneLogin's python3-saml.

python3-saml is independent of pysaml2 (which the IdP is built on), so what it
accepts is what a real supplier would accept. Keys are generated once per
test session: RSA-3072 key generation would otherwise dominate the run.
"""

from __future__ import annotations

import base64
import re
import shutil
import zlib
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import html as lxml_html

from fixtures.broker import SECRET
from fixtures.demo import VIRE

IDP = "http://localhost"


# -- keys made once ------------------------------------------------------------------------
@pytest.fixture(scope="session")
def idp_key_rows():
    """Generated IdP keys (signing, encryption), inserted into each test's fresh database."""
    from broker.keys import generate

    return {purpose: generate(purpose, "Sésame test") for purpose in ("saml-signing", "saml-encryption")}


def install_idp_keys(runtime, rows) -> None:
    from broker.db.models import CryptoKey
    from broker.keys import PURPOSES

    with runtime.db.session() as s:
        for purpose, (_key, pem, cert, jwk) in rows.items():
            s.add(CryptoKey(kid=jwk["kid"], purpose=purpose, algorithm=PURPOSES[purpose].algorithm, status="current",
                            private_encrypted=runtime.keys.encrypt(pem.encode()), certificate=cert, public_jwk=jwk))


_SP_KEYS: dict[str, tuple[str, str]] = {}


def sp_keypair(name: str) -> tuple[str, str]:
    """(private key PEM, certificate PEM) of a test SP, made once per name."""
    if name not in _SP_KEYS:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        from broker.keys import _self_signed

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        _SP_KEYS[name] = (pem, _self_signed(key, f"{name}.example.org"))
    return _SP_KEYS[name]


# -- the service provider ------------------------------------------------------------------
@dataclass
class ServiceProvider:
    """A supplier's SP, as python3-saml implements it."""

    name: str
    idp_metadata: bytes
    sign_requests: bool = False
    want_encrypted: bool = False
    want_assertions_signed: bool = False
    want_messages_signed: bool = False
    slo: bool = True
    settings: dict = field(init=False)

    def __post_init__(self) -> None:
        from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
        from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser

        key, cert = sp_keypair(self.name)
        self.key_pem, self.cert_pem = key, cert
        idp = OneLogin_Saml2_IdPMetadataParser.parse(self.idp_metadata.decode())["idp"]
        sp = {"entityId": self.entity_id,
              "assertionConsumerService": {"url": self.acs, "binding": C.BINDING_HTTP_POST},
              "NameIDFormat": C.NAMEID_PERSISTENT, "x509cert": cert, "privateKey": key}
        if self.slo:
            sp["singleLogoutService"] = {"url": self.slo_url, "binding": C.BINDING_HTTP_REDIRECT}
        self.settings = {
            "strict": True, "debug": False, "sp": sp, "idp": idp,
            "security": {"authnRequestsSigned": self.sign_requests, "logoutRequestSigned": True,
                         "logoutResponseSigned": True, "wantAssertionsSigned": self.want_assertions_signed,
                         "wantAssertionsEncrypted": self.want_encrypted, "wantMessagesSigned": self.want_messages_signed,
                         "signatureAlgorithm": C.RSA_SHA256, "digestAlgorithm": C.SHA256,
                         "allowSingleLabelDomains": True, "requestedAuthnContext": False},
        }

    @property
    def entity_id(self) -> str:
        return f"https://{self.name}.example.org/shibboleth"

    @property
    def acs(self) -> str:
        return f"https://{self.name}.example.org/Shibboleth.sso/SAML2/POST"

    @property
    def slo_url(self) -> str:
        return f"https://{self.name}.example.org/Shibboleth.sso/SLO/Redirect"

    def metadata(self) -> bytes:
        from onelogin.saml2.settings import OneLogin_Saml2_Settings

        xml = OneLogin_Saml2_Settings(self.settings, sp_validation_only=True).get_sp_metadata()
        return xml if isinstance(xml, bytes) else xml.encode()

    def auth(self, *, path: str, get=None, post=None, query: str = ""):
        from onelogin.saml2.auth import OneLogin_Saml2_Auth

        return OneLogin_Saml2_Auth({"https": "on", "http_host": f"{self.name}.example.org",
                                    "script_name": path, "get_data": get or {}, "post_data": post or {},
                                    "query_string": query, "validate_signature_from_qs": bool(query)},
                                   self.settings)

    def login_url(self, relay: str | None = None, **kw) -> tuple[str, str]:
        """(IdP URL carrying the AuthnRequest over HTTP-Redirect, request ID)."""
        auth = self.auth(path="/login")
        url = auth.login(return_to=relay, **kw)
        return url, auth.get_last_request_id()

    def authn_request_post(self, *, sign: bool | None = None) -> tuple[dict, str]:
        """Form fields of an AuthnRequest for the HTTP-POST binding, and its ID."""
        from onelogin.saml2.authn_request import OneLogin_Saml2_Authn_Request
        from onelogin.saml2.settings import OneLogin_Saml2_Settings
        from onelogin.saml2.utils import OneLogin_Saml2_Utils

        settings = OneLogin_Saml2_Settings(self.settings)
        request = OneLogin_Saml2_Authn_Request(settings)
        xml = request.get_xml()
        if self.sign_requests if sign is None else sign:
            xml = OneLogin_Saml2_Utils.add_sign(xml, self.key_pem, self.cert_pem)
        xml = xml if isinstance(xml, bytes) else xml.encode()
        return {"SAMLRequest": base64.b64encode(xml).decode()}, request.get_id()

    def accept(self, fields: dict, request_id: str | None):
        """Process a posted SAMLResponse as the SP's ACS would; returns the python3-saml Auth."""
        auth = self.auth(path=urlsplit(self.acs).path, post=fields)
        auth.process_response(request_id=request_id)
        return auth


@pytest.fixture(scope="session")
def idp_template(tmp_path_factory, demo_db, idp_key_rows):
    """``demo_db(sip2="offline")`` with the IdP keys, made once and copied for each test."""
    from broker.app import create_app

    folder = tmp_path_factory.mktemp("saml-idp")
    path = folder / "idp.db"
    shutil.copy(demo_db(sip2="offline"), path)
    app = create_app({"secret_key": SECRET, "stats_flush_ms": 0, "database_url": f"sqlite:///{path}", "base_url": IDP,
                      "instance_path": str(folder / "instance"), "log_level": "WARNING"})
    runtime = app.extensions["broker"]
    install_idp_keys(runtime, idp_key_rows)
    runtime.close()
    return path


@pytest.fixture
def idp(make_app, idp_template, tmp_path, movable_clock):
    """The demo network served as a SAML IdP at http://localhost, on its own copy of the database.

    Its clock is ``idp.clock`` (the ``movable_clock`` fixture).
    """
    target = tmp_path / "idp.db"
    shutil.copy(idp_template, target)
    app = make_app(secret_key=SECRET, database_url=f"sqlite:///{target}", clock=movable_clock)
    app.clock = movable_clock
    return app


@pytest.fixture
def idp_metadata(idp):
    response = idp.test_client().get("/saml/metadata")
    assert response.status_code == 200, response.text
    return response.data


@pytest.fixture
def make_sp(idp, idp_metadata):
    """Create a python3-saml SP and register it as a supplier of the Calvados network."""
    from broker.providers.saml import registry

    runtime = idp.extensions["broker"]

    def factory(name: str, *, register: bool = True, release: str | None = None, encrypt: bool = False,
                nameid: str = "persistent", sign: str = "response", networks=("calvados",), **kw) -> ServiceProvider:
        sp = ServiceProvider(name, idp_metadata, want_encrypted=encrypt, **kw)
        if register:
            with runtime.db.session() as s:
                registry.add_saml(runtime, s, name, metadata_xml=sp.metadata(), networks=list(networks),
                                  name=name.title(), release=release, encrypt=encrypt, nameid=nameid, sign=sign)
        return sp

    return factory


# -- the browser ---------------------------------------------------------------------------------
def form_of(response) -> tuple[str, dict]:
    """(action, fields) of the auto-submitting form page."""
    assert response.status_code == 200, (response.status_code, response.text[:500])
    doc = lxml_html.fromstring(response.data)
    form = doc.forms[0]
    return form.action, {i.name: i.value for i in form.inputs if i.name}


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def portal_login(client, *, card: str = "V0001", pin: str = "4321", library: str = VIRE, next_url: str | None = None):
    """Log in through the portal's real form (CSRF token and all)."""
    page = client.get("/login" + (f"?next={next_url}" if next_url else ""))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    data = {"library": library, "card": card, "password": pin, "csrf_token": token}
    if next_url:
        data["next"] = next_url
    return client.post("/login", data=data)


def follow_login(client, response, **login):
    """From a redirect to the login page: log in there, then follow the way back to the SAML flow."""
    assert response.status_code == 302, (response.status_code, response.text[:300])
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login", response.headers["Location"]
    next_url = parse_qs(location.query)["next"][0]
    page = client.get(path_of(response.headers["Location"]))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    data = {"library": login.get("library", VIRE), "card": login.get("card", "V0001"),
            "password": login.get("pin", "4321"), "csrf_token": token, "next": next_url}
    done = client.post("/login", data=data)
    if done.status_code != 302:
        return done
    return client.get(path_of(done.headers["Location"]))


def sso(client, sp: ServiceProvider, *, relay: str | None = None, login: dict | None = None, **kw):
    """SP-initiated SSO over HTTP-Redirect up to the posted response: (python3-saml auth, form fields)."""
    url, request_id = sp.login_url(relay, **kw)
    response = client.get(path_of(url))
    if response.status_code == 302 and "/login" in response.headers["Location"]:
        response = follow_login(client, response, **(login or {}))
    action, fields = form_of(response)
    assert action == sp.acs
    return sp.accept(fields, request_id), fields


def decoded(fields: dict) -> bytes:
    return base64.b64decode(fields["SAMLResponse"])


def inflate_param(url: str, name: str) -> bytes:
    value = parse_qs(urlsplit(url).query)[name][0]
    return zlib.decompress(base64.b64decode(value), -15)


@pytest.fixture
def flows():
    """The browser helpers above, for test modules (importlib mode: conftest is not importable)."""
    from types import SimpleNamespace

    return SimpleNamespace(form_of=form_of, path_of=path_of, portal_login=portal_login, follow_login=follow_login,
                           sso=sso, decoded=decoded, inflate_param=inflate_param, VIRE=VIRE,
                           install_idp_keys=install_idp_keys, ServiceProvider=ServiceProvider, SECRET=SECRET)
