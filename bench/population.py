"""Load a benchmark network: libraries on the SIP2 emulator, patrons with active memberships, suppliers.

Networks, partners and suppliers go through the services (as the CLI does);
libraries, patrons and memberships are written with bulk SQL so that 100,000
patrons load in seconds. The patrons are those of the emulator's CSV file
(``bench.sip2_bench.write_patrons``): patron *i* belongs to library *i mod L*.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import insert, select, text

NETWORK = "bench"
SCOPE = "bench.sesame.example.org"
SP_ENTITY = "https://sp.bench.example.org/shibboleth"
SP_ACS = "https://sp.bench.example.org/Shibboleth.sso/SAML2/POST"
OIDC_REDIRECT = "https://rp.bench.example.org/callback"
CAS_SERVICE = "https://cas.bench.example.org/login"
SIP2_TIMEOUT = 2.0  # seconds: every library's SIP2 connector timeout
PARTNER_SIZE = 10  # libraries per partner (an EPCI covering several communes)


@dataclass(frozen=True)
class Patron:
    library: str
    card: str
    pin: str


@dataclass
class Loaded:
    """What the scenarios need to know about the loaded network."""

    libraries: list[str]
    patrons: list[Patron]
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    counts: dict[str, int] = field(default_factory=dict)


def library_code(index: int) -> str:
    return f"FR-BENCH{index:05d}"


def sp_metadata() -> bytes:
    """The benchmark SP's metadata: one HTTP-POST ACS, unsigned requests (as most suppliers send)."""
    return f"""<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{SP_ENTITY}">
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="false">
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{SP_ACS}" index="0" isDefault="true"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>""".encode()


def load(runtime, *, libraries: int, patrons: list[tuple[str, str]], sip2_port: int, sip2_login: str,
         sip2_password: str, last_library_port: int | None = None) -> Loaded:
    """Write the whole network into an empty, migrated database.

    ``last_library_port``: the last library's SIGB is this other emulator (the one a fault run silences).
    """
    from broker.db.models import Agreement, Library, Membership, Partner
    from broker.db.models import Patron as PatronRow
    from broker.domain.identifiers import card_digest
    from broker.domain.patrons import normalize_card
    from broker.services import network
    from broker.sigb import validate_connector_settings

    codes = [library_code(i) for i in range(libraries)]
    with runtime.db.session() as s:
        network.add_network(runtime, s, NETWORK, "Réseau de mesure", scope=SCOPE, actor="bench")
    net_id = _scalar(runtime, "SELECT id FROM networks WHERE slug = :s", s=NETWORK)

    public, secret = validate_connector_settings(runtime.sigb.spec("sip2"), {
        "host": "127.0.0.1", "port": sip2_port, "login": sip2_login, "password": sip2_password,
        "institution": "BENCH", "timeout": SIP2_TIMEOUT, "pool_size": 2})
    sealed = runtime.keys.encrypt_json(secret)
    last_public = dict(public, port=last_library_port) if last_library_port else public
    partners = (libraries + PARTNER_SIZE - 1) // PARTNER_SIZE
    with runtime.db.engine.begin() as conn:
        conn.execute(insert(Partner.__table__), [
            {"slug": f"bench-partner-{p}", "name": f"Communauté {p}", "kind": "epci", "population": 20000,
             "network_id": net_id} for p in range(partners)])
        partner_ids = dict(conn.execute(select(Partner.slug, Partner.id).where(Partner.network_id == net_id)).all())
        conn.execute(insert(Agreement.__table__), [
            {"partner_id": pid, "start": date(2020, 1, 1), "end": date(2099, 12, 31), "rate": 0.15}
            for pid in partner_ids.values()])
        conn.execute(insert(Library.__table__), [
            {"code": code, "name": f"Médiathèque {i}", "commune": f"Commune {i}",
             "partner_id": partner_ids[f"bench-partner-{i // PARTNER_SIZE}"], "connector": "sip2",
             "connector_settings": last_public if i == libraries - 1 else public, "connector_secrets": sealed,
             "registration": "referent",
             "card_case": "upper", "contact_email": "", "contact_phone": "", "address": "", "website": ""}
            for i, code in enumerate(codes)])
        lib_ids = dict(conn.execute(select(Library.code, Library.id)).all())
        key = runtime.keys.cards
        rows = []
        for i, (card, _pin) in enumerate(patrons):
            code = codes[i % libraries]
            normal = normalize_card(card, case="upper")
            rows.append({"uid": secrets.token_hex(16), "library_id": lib_ids[code],
                         "card_digest": card_digest(key, code, normal), "card_hint": normal[-4:],
                         "display_name": f"Usager {i}", "email": f"u{i}@example.org", "birth_year": 1990,
                         "category": "ADULTE", "card_expires": date(2099, 12, 31)})
        for start in range(0, len(rows), 20000):
            conn.execute(insert(PatronRow.__table__), rows[start:start + 20000])
        conn.execute(text(
            "INSERT INTO memberships (patron_id, library_id, state, consent_at, created_at, updated_at) "
            "SELECT id, library_id, 'active', now(), now(), now() FROM patrons"))
        conn.execute(text("ANALYZE"))
    _ = Membership  # the table is filled by the statement above

    loaded = Loaded(codes, [Patron(codes[i % libraries], card, pin) for i, (card, pin) in enumerate(patrons)])
    _register_suppliers(runtime, loaded)
    keys = runtime.key_store
    for purpose in ("saml-signing", "oidc-rs256"):
        keys.current(purpose)  # made once here, not raced by the workers' first requests
    loaded.counts = {"libraries": libraries, "patrons": len(patrons), "partners": partners}
    return loaded


def _register_suppliers(runtime, loaded: Loaded) -> None:
    """One supplier per protocol, registered as `broker suppliers add-saml/add-oidc/add-cas` would."""
    from broker.providers.cas.services import register as add_cas
    from broker.providers.oidc.clients import register as add_oidc
    from broker.providers.saml.registry import add_saml

    with runtime.db.session() as s:
        add_saml(runtime, s, "bench-saml", metadata_xml=sp_metadata(), networks=[NETWORK], name="SP de mesure")
    with runtime.db.session() as s:
        reg = add_oidc(runtime, s, "bench-oidc", redirect_uris=[OIDC_REDIRECT], networks=[NETWORK],
                       name="RP de mesure", release="library,network")
        loaded.oidc_client_id, loaded.oidc_client_secret = reg.client_id, reg.client_secret or ""
    with runtime.db.session() as s:
        add_cas(runtime, s, "bench-cas", patterns=[r"https://cas\.bench\.example\.org/.*"], networks=[NETWORK],
                name="Service CAS de mesure")


def _scalar(runtime, sql: str, **params):
    with runtime.db.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def write_patrons_csv(folder: Path, count: int) -> tuple[Path, list[tuple[str, str]]]:
    """The emulator's patron file (``bench.sip2_bench.write_patrons``) and its (card, PIN) pairs."""
    from .sip2_bench import write_patrons

    return write_patrons(folder, count)
