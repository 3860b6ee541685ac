"""Registering SAML suppliers from their metadata, and keeping URL metadata fresh.

Metadata given as a URL must be signed (as federations publish it): the
certificate to check it with is given at registration and kept with the
supplier; every refresh verifies it again and keeps the previous metadata
when anything is wrong.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...clock import Clock
from ...db.models import Supplier
from ...errors import Conflict, InvalidInput, NotFound, OperationFailed
from ...services import audit
from ...services import suppliers as supplier_service
from .. import registry_cache
from . import signing, spmeta
from .encryption import cbc_only, choose_algorithm
from .names import NAMEID_FORMATS

if TYPE_CHECKING:
    from ...runtime import Runtime
from .xmlsafe import MAX_METADATA, SamlInputError, parse

log = logging.getLogger("broker.saml")

FETCH_TIMEOUT = (5, 20)
MIN_REFRESH = 600
MAX_REFRESH = 4 * 3600
SIGN_CHOICES = ("response", "assertion", "both")


def is_url(source: str) -> bool:
    return source.startswith(("https://", "http://"))


def fetch(url: str) -> bytes:
    """Download metadata with timeouts and a size limit."""
    try:
        with requests.get(url, timeout=FETCH_TIMEOUT, stream=True, allow_redirects=False,
                          headers={"Accept": "application/samlmetadata+xml, application/xml"}) as resp:
            if resp.status_code != 200:
                raise OperationFailed(f"metadata at {url}: HTTP {resp.status_code}")
            data = b""
            for chunk in resp.iter_content(65536):
                data += chunk
                if len(data) > MAX_METADATA:
                    raise SamlInputError(f"metadata at {url}: larger than {MAX_METADATA} bytes")
            return data
    except requests.RequestException as exc:
        raise OperationFailed(f"metadata at {url}: cannot be fetched ({type(exc).__name__})") from None


def read_source(source: str) -> bytes:
    if is_url(source):
        return fetch(source)
    path = Path(source)
    try:
        if path.stat().st_size > MAX_METADATA:
            raise SamlInputError(f"metadata file {source}: larger than {MAX_METADATA} bytes")
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"metadata file {source}: {exc.strerror or exc}") from None


def certificate(pem_or_path: str) -> str:
    """A PEM certificate given inline or as a file path, normalised."""
    text = pem_or_path
    if "-----BEGIN" not in pem_or_path:
        try:
            text = Path(pem_or_path).read_text()
        except OSError as exc:
            raise InvalidInput(f"metadata certificate {pem_or_path}: {exc.strerror or exc}") from None
    try:
        cert = x509.load_pem_x509_certificate(text.encode())
    except ValueError:
        raise InvalidInput("the metadata certificate is not a PEM X.509 certificate") from None
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def check_signed(data: bytes, cert_pem: str) -> None:
    """Refuse metadata that is not signed, as a whole, by ``cert_pem``."""
    root = parse(data, limit=MAX_METADATA, what="metadata")
    if not signing.verify(root, (cert_pem,)):
        raise SamlInputError("metadata: not signed, but it comes from a URL and must be")


def _next_refresh(meta: spmeta.SpMetadata, clock: Clock) -> float:
    delay = float(MAX_REFRESH)
    if meta.cache_duration:
        delay = min(delay, 0.75 * meta.cache_duration)
    if meta.valid_until:
        delay = min(delay, 0.75 * (meta.valid_until - clock.utcnow()).total_seconds())
    return clock.wall() + max(MIN_REFRESH, delay)


def add_saml(runtime: Runtime, session: Session, slug: str, *, metadata: str | None = None,
             metadata_xml: bytes | None = None, networks: list[str], name: str | None = None,
             release: str | list[str] | None = None, encrypt: bool = False, nameid: str = "persistent",
             metadata_cert: str | None = None, entity_id: str | None = None, sign: str = "response",
             category: str = "", actor: str = "cli") -> Supplier:
    """Register (or give SAML to) a supplier from its metadata; nothing is written on any error."""
    if nameid not in NAMEID_FORMATS:
        raise InvalidInput(f"nameid {nameid!r}: expected persistent or transient")
    if sign not in SIGN_CHOICES:
        raise InvalidInput(f"sign {sign!r}: expected one of {', '.join(SIGN_CHOICES)}")
    if (metadata is None) == (metadata_xml is None):
        raise InvalidInput("give the metadata as a file or URL, or as a document")
    url = metadata if metadata and is_url(metadata) else ""
    if url and urlsplit(url).scheme != "https" and urlsplit(url).hostname not in ("localhost", "127.0.0.1"):
        raise InvalidInput("a metadata URL must use https")
    cert = certificate(metadata_cert) if metadata_cert else ""
    if url and not cert:
        raise InvalidInput("metadata from a URL must be signed: give the certificate that signs it (--metadata-cert)")
    data = metadata_xml if metadata_xml is not None else read_source(metadata)
    if cert:
        check_signed(data, cert)
    meta = spmeta.read(data, entity_id, now=runtime.clock.utcnow())
    if encrypt and not meta.encryption_certs:
        raise InvalidInput(f"metadata of {meta.entity_id}: no encryption certificate, so assertions cannot be encrypted")
    taken = session.scalar(select(Supplier).where(Supplier.saml_entity_id == meta.entity_id))
    if taken is not None and taken.slug != slug:
        raise Conflict(f"entity {meta.entity_id} is already registered as supplier '{taken.slug}'")
    config = {**encryption_fields(meta), "metadata": data.decode("utf-8"), "metadata_url": url, "metadata_cert": cert, "encrypt": bool(encrypt),
              "nameid": nameid, "sign": sign, "refreshed_at": runtime.clock.utcnow().isoformat(timespec="seconds"),
              "next_refresh": _next_refresh(meta, runtime.clock) if url else None}
    existing = session.scalar(select(Supplier).where(Supplier.slug == slug))
    if existing is None:
        supplier = supplier_service.add_supplier(
            runtime, session, slug, name=name or slug, networks=networks, category=category, protocol="saml",
            release=release, config=config, saml_entity_id=meta.entity_id, actor=actor)
    elif existing.protocol in ("none", "") or (existing.protocol == "saml" and existing.saml_entity_id == meta.entity_id):
        supplier = existing
        supplier.protocol = "saml"
        supplier.saml_entity_id = meta.entity_id
        supplier.config = {**(existing.config or {}), **config}
        supplier_service.update_common(session, supplier, name=name, release=release, networks=networks)
        session.flush()
    else:
        raise Conflict(f"supplier '{slug}' already exists with protocol {existing.protocol}")
    audit.record(runtime, session, actor, "supplier.saml", slug, entity_id=meta.entity_id,
                 metadata_url=url, encrypt=bool(encrypt), nameid=nameid)
    _warn_cbc(slug, meta)
    session.info.setdefault("after_commit", []).append(lambda: registry_cache.invalidate(runtime, "saml"))
    return supplier


def refresh(runtime: Runtime, session: Session, supplier: Supplier, *, actor: str = "scheduler") -> bool:
    """Fetch a supplier's URL metadata again; True when it changed. Keeps the old one on any error."""
    config = dict(supplier.config or {})
    url = config.get("metadata_url")
    if not url:
        raise InvalidInput(f"supplier '{supplier.slug}' has no metadata URL to refresh from")
    try:
        data = fetch(url)
        if config.get("metadata_cert"):
            check_signed(data, config["metadata_cert"])
        meta = spmeta.read(data, supplier.saml_entity_id, now=runtime.clock.utcnow())
        if config.get("encrypt") and not meta.encryption_certs:
            raise SamlInputError("the new metadata has no encryption certificate")
    except (InvalidInput, OperationFailed) as exc:
        config["next_refresh"] = runtime.clock.wall() + MIN_REFRESH
        config["refresh_error"] = exc.message[:300]
        supplier.config = config
        audit.record(runtime, session, actor, "supplier.saml.refresh", supplier.slug, outcome="failed",
                     error=exc.message[:300])
        log.warning("SAML metadata refresh of %s failed: %s", supplier.slug, exc.message)
        return False
    text = data.decode("utf-8")
    changed = text != config.get("metadata")
    config.update(encryption_fields(meta))
    if config["cbc_only"] and text != config.get("metadata"):
        _warn_cbc(supplier.slug, meta)
    config.update(metadata=text, refreshed_at=runtime.clock.utcnow().isoformat(timespec="seconds"),
                  next_refresh=_next_refresh(meta, runtime.clock), refresh_error="")
    supplier.config = config
    if changed:
        audit.record(runtime, session, actor, "supplier.saml.refresh", supplier.slug)
    session.info.setdefault("after_commit", []).append(lambda: registry_cache.invalidate(runtime, "saml"))
    return changed


def refresh_due(runtime: Runtime, *, force: bool = False, slug: str | None = None) -> list[dict[str, Any]]:
    """Refresh every URL-registered supplier whose refresh time has come (or all with ``force``)."""
    results = []
    with runtime.db.session() as s:
        query = select(Supplier).where(Supplier.protocol == "saml")
        if slug:
            query = query.where(Supplier.slug == slug)
        rows = list(s.scalars(query))
        if slug and not rows:
            raise NotFound(f"unknown SAML supplier '{slug}'")
        for supplier in rows:
            config = supplier.config or {}
            if not config.get("metadata_url"):
                continue
            if not force and (config.get("next_refresh") or 0) > runtime.clock.wall():
                continue
            changed = refresh(runtime, s, supplier)
            results.append({"slug": supplier.slug, "changed": changed,
                            "error": (supplier.config or {}).get("refresh_error", "")})
    return results


_TICK = "saml:metadata-refresh"


class RefreshTick:
    """When this process may next look for due metadata (``runtime.saml_metadata_refresh``)."""

    def __init__(self) -> None:
        #: monotonic time
        self.next = 0.0


def maybe_refresh_in_background(runtime: Runtime) -> None:
    """At most once a minute across all nodes, refresh due metadata in a background thread."""
    tick = runtime.saml_metadata_refresh
    now = runtime.clock.monotonic()
    if now < tick.next:
        return
    tick.next = now + 60
    try:
        if not runtime.state.add(_TICK, {"at": runtime.clock.wall()}, 60):
            return
    except Exception:  # the state store being down must not break a login
        return

    def work() -> None:
        try:
            refresh_due(runtime)
        except Exception:  # pragma: no cover - logged, retried on the next tick
            log.exception("SAML metadata refresh failed")

    threading.Thread(target=work, name="saml-metadata-refresh", daemon=True).start()


def encryption_fields(meta: spmeta.SpMetadata) -> dict[str, Any]:
    """What the metadata say of assertion encryption: the data algorithm used, and whether only CBC is left."""
    return {"encryption_algorithm": choose_algorithm(meta.encryption_methods),
            "cbc_only": cbc_only(meta.encryption_methods)}


def _warn_cbc(slug: str, meta: spmeta.SpMetadata) -> None:
    if cbc_only(meta.encryption_methods):
        log.warning("SAML supplier %s (%s) lists only AES-CBC for encryption: its encrypted assertions use %s, "
                    "which only the response signature protects; ask the supplier to support AES-GCM",
                    slug, meta.entity_id, choose_algorithm(meta.encryption_methods))


def encryption_of(supplier: Supplier) -> dict[str, Any]:
    """``encryption_fields`` of a SAML supplier: from its config, else from its stored metadata."""
    config = supplier.config or {}
    if "cbc_only" in config:
        return {"encryption_algorithm": config.get("encryption_algorithm", ""), "cbc_only": bool(config["cbc_only"])}
    try:
        return encryption_fields(spmeta.read((config.get("metadata") or "").encode(), supplier.saml_entity_id))
    except (InvalidInput, SamlInputError):
        return {"encryption_algorithm": "", "cbc_only": False}


def describe(supplier: Supplier) -> dict[str, Any]:
    config = supplier.config or {}
    row = {"slug": supplier.slug, "name": supplier.name, "entity_id": supplier.saml_entity_id or "",
           "networks": ",".join(n.slug for n in supplier.networks), "release": ",".join(supplier.release or []),
           "nameid": config.get("nameid", "persistent"), "encrypt": bool(config.get("encrypt")),
           "sign": config.get("sign", "response"), "metadata_url": config.get("metadata_url", ""),
           "refreshed_at": config.get("refreshed_at", ""), **encryption_of(supplier)}
    if config.get("refresh_error"):
        row["refresh_error"] = config["refresh_error"]
    return row
