"""``broker demo`` registers the three demo suppliers, and refreshes their addresses when the base URL changes.

Run again, it changes nothing when the addresses are the same; with another
``base_url`` (the demo served on another port) it updates the SAML metadata,
the OIDC redirect URI and the CAS service pattern in place: the suppliers,
their client ID and their pairwise identifiers stay the same.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Network, Supplier
from ..errors import InvalidInput
from ..providers.registry_cache import invalidate
from ..services import audit
from .kinds import CAS, NETWORKS, OIDC, SAML, Kind

if TYPE_CHECKING:
    from ..runtime import Runtime


def oidc_client_secret(runtime: Runtime) -> str:
    """The demo relying party's client secret, derived from the instance secret (never stored in clear)."""
    digest = hmac.new(runtime.keys.tokens, b"demo-suppliers\x1foidc-client-secret", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def cas_pattern(base_url: str) -> str:
    return "^" + re.escape(CAS.url(base_url)) + ".*$"


def _networks(session: Session) -> list[str]:
    found = set(session.scalars(select(Network.slug).where(Network.slug.in_(NETWORKS))))
    if not found:
        raise InvalidInput("the demo suppliers need the demo network: none of "
                           f"{', '.join(NETWORKS)} exists")
    return [n for n in NETWORKS if n in found]


def _row(session: Session, kind: Kind) -> Supplier | None:
    return session.scalar(select(Supplier).where(Supplier.slug == kind.slug))


def _describe(row: Supplier, kind: Kind, status: str) -> dict[str, str]:
    if not row.description:
        row.description = kind.description
    return {"slug": row.slug, "protocol": row.protocol, "status": status}


def register_saml(runtime: Runtime, session: Session, base_url: str, networks: list[str], actor: str) -> dict[str, str]:
    from ..providers.saml import registry
    from .saml_sp import sp_metadata

    metadata = sp_metadata(base_url)
    row = _row(session, SAML)
    if row is not None and row.protocol == "saml" and (row.config or {}).get("metadata") == metadata.decode():
        return _describe(row, SAML, "unchanged")
    status = "added" if row is None else "updated"
    row = registry.add_saml(runtime, session, SAML.slug, metadata_xml=metadata, networks=networks, name=SAML.name,
                            actor=actor)
    return _describe(row, SAML, status)


def register_oidc(runtime: Runtime, session: Session, base_url: str, networks: list[str], actor: str) -> dict[str, str]:
    from ..providers.oidc import clients

    redirect_uri = OIDC.url(base_url, "callback")
    login_url = OIDC.url(base_url, "login")
    secret_hash = runtime.keys.token_hash(oidc_client_secret(runtime))
    row = _row(session, OIDC)
    if row is None or row.protocol in ("none", ""):
        status = "added" if row is None else "updated"
        reg = clients.register(runtime, session, OIDC.slug, redirect_uris=[redirect_uri], networks=networks,
                               name=OIDC.name, login_url=login_url, actor=actor)
        row = _row(session, OIDC)
        assert row is not None and row.oidc_client_id == reg.client_id
        row.config = {**row.config, "oidc": {**row.config["oidc"], "secret_hash": secret_hash}}
        session.flush()
        return _describe(row, OIDC, status)
    conf = dict((row.config or {}).get("oidc") or {})
    if row.protocol != "oidc":
        raise InvalidInput(f"supplier '{OIDC.slug}' already uses {row.protocol}")
    if conf.get("redirect_uris") == [redirect_uri] and row.login_url == login_url \
            and conf.get("secret_hash") == secret_hash:
        return _describe(row, OIDC, "unchanged")
    clients.check_redirect_uri(redirect_uri, public=False)
    conf.update(redirect_uris=[redirect_uri], secret_hash=secret_hash, public=False)
    row.config = {**row.config, "oidc": conf}
    row.login_url = login_url
    session.flush()
    audit.record(runtime, session, actor, "supplier.oidc", row.slug, redirect_uri=redirect_uri)
    invalidate(runtime, "oidc")
    return _describe(row, OIDC, "updated")


def register_cas(runtime: Runtime, session: Session, base_url: str, networks: list[str], actor: str) -> dict[str, str]:
    from ..providers.cas import services

    pattern = cas_pattern(base_url)
    login_url = CAS.url(base_url)
    row = _row(session, CAS)
    if row is None or row.protocol in ("none", ""):
        status = "added" if row is None else "updated"
        row = services.register(runtime, session, CAS.slug, patterns=[pattern], networks=networks, name=CAS.name,
                                login_url=login_url, actor=actor)
        return _describe(row, CAS, status)
    if row.protocol != "cas":
        raise InvalidInput(f"supplier '{CAS.slug}' already uses {row.protocol}")
    if ((row.config or {}).get("cas") or {}).get("service_patterns") == [pattern] and row.login_url == login_url:
        return _describe(row, CAS, "unchanged")
    row.config = {**row.config, "cas": {"service_patterns": [services.check_pattern(pattern)]}}
    row.login_url = login_url
    session.flush()
    audit.record(runtime, session, actor, "supplier.cas", row.slug, service_pattern=pattern)
    invalidate(runtime, "cas")
    return _describe(row, CAS, "updated")


def register(runtime: Runtime, session: Session, base_url: str | None = None, *, actor: str = "demo") -> list[dict]:
    """Register (or refresh) the three demo suppliers for ``base_url`` (default: the setting)."""
    base_url = (base_url or runtime.settings.base_url).rstrip("/")
    networks = _networks(session)
    return [register_saml(runtime, session, base_url, networks, actor),
            register_oidc(runtime, session, base_url, networks, actor),
            register_cas(runtime, session, base_url, networks, actor)]
