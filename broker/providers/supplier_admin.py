"""Network admins' suppliers, whatever their protocol: add, edit, the bundle, disable, the release preview.

The staff pages and the admin API both call these functions; each checks its
input field by field (a :class:`~broker.services.field_errors.FieldError`
names the field at fault, nothing is written) and records one audit entry
with the values before and after (secrets masked). Protocol details are left
to each protocol's own registration code (SAML metadata, OIDC clients, CAS
services, signed links): this module only maps their errors to fields.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .. import clock
from ..db.models import Library, Membership, Network, Patron, Supplier
from ..errors import BrokerError, Conflict, InvalidInput, NotFound
from ..services import audit
from ..services.field_errors import FieldError
from ..services.suppliers import CATEGORIES, RELEASABLE, check_slug
from . import registry_cache

if TYPE_CHECKING:
    from ..runtime import Runtime

PROTOCOLS = ("saml", "oidc", "cas", "link")
MASK = "***"
#: what a JSON body or a form may give, besides the protocol's settings
COMMON = ("name", "networks", "release", "category", "login_url", "enabled")
SETTINGS = {
    "saml": ("metadata", "metadata_url", "metadata_cert", "entity_id", "nameid", "sign", "encrypt"),
    "oidc": ("redirect_uris", "post_logout_redirect_uris", "public", "refresh", "backchannel_logout_uri",
             "id_token_alg"),
    "cas": ("service_patterns", "single_logout"),
}


def link_fields() -> tuple[str, ...]:
    from .link.settings import LinkSettings

    return tuple(LinkSettings.model_fields)


def settings_names(protocol: str) -> tuple[str, ...]:
    return link_fields() if protocol == "link" else SETTINGS.get(protocol, ())


# -- reading ---------------------------------------------------------------------------------------
def in_scope(session: Session, slug: Any, network_ids: frozenset[int]) -> Supplier:
    """The supplier ``slug``, loaded with its networks; NotFound when unknown. Scope is the caller's to check."""
    if not isinstance(slug, str) or len(slug) > 64:
        raise NotFound("unknown supplier", code="unknown_supplier")
    row = session.scalar(select(Supplier).where(Supplier.slug == slug).options(selectinload(Supplier.networks)))
    if row is None:
        raise NotFound(f"unknown supplier '{slug[:64]}'", code="unknown_supplier")
    return row


def offered_in(row: Supplier, network_ids: frozenset[int]) -> bool:
    return any(n.id in network_ids for n in row.networks)


def settings_view(row: Supplier) -> dict[str, Any]:
    """A supplier's protocol settings as an admin sees them: never a secret, only whether one is set."""
    config = row.config or {}
    if row.protocol == "saml":
        from .saml.registry import encryption_of

        next_refresh = config.get("next_refresh")
        return {"entity_id": row.saml_entity_id or "", "metadata_url": config.get("metadata_url", ""),
                "metadata_cert_set": bool(config.get("metadata_cert")),
                "nameid": config.get("nameid", "persistent"), "sign": config.get("sign", "response"),
                "encrypt": bool(config.get("encrypt")), "refreshed_at": config.get("refreshed_at", ""),
                "next_refresh": _iso(next_refresh) if next_refresh else "",
                "refresh_error": config.get("refresh_error", ""),
                "acs": _acs(row), **encryption_of(row)}
    if row.protocol == "oidc":
        conf = config.get("oidc") or {}
        until = float(conf.get("previous_until") or 0)
        return {"client_id": row.oidc_client_id or "", "redirect_uris": list(conf.get("redirect_uris") or []),
                "post_logout_redirect_uris": list(conf.get("post_logout_redirect_uris") or []),
                "public": bool(conf.get("public")), "refresh": bool(conf.get("refresh")),
                "backchannel_logout_uri": conf.get("backchannel_logout_uri", ""),
                "id_token_alg": conf.get("id_token_alg") or "RS256", "client_secret_set": bool(conf.get("secret_hash")),
                "previous_secret_until": _iso(until) if conf.get("previous_secret_hash")
                and until > clock.utcnow().timestamp() else ""}
    if row.protocol == "cas":
        conf = config.get("cas") or {}
        return {"service_patterns": list(conf.get("service_patterns") or []),
                "single_logout": bool(conf.get("single_logout"))}
    if row.protocol == "link":
        conf = config.get("link") or {}
        return {"url_template": conf.get("url_template", ""), "message": conf.get("message", ""),
                "algorithm": conf.get("algorithm", ""), "lifetime": conf.get("lifetime", 300),
                "target_origins": list(conf.get("target_origins") or []),
                "allow_legacy": bool(conf.get("allow_legacy")), "allow_http": bool(conf.get("allow_http")),
                "secret_env": conf.get("secret_env") or conf.get("secret_from") or "",
                "secret_set": bool(conf.get("secret_encrypted"))}
    return {}


def _acs(row: Supplier) -> list[str]:
    from ..clock import utcnow
    from .saml import spmeta

    try:  # no runtime here: the page only lists the locations
        return [e.location for e in spmeta.sp_metadata(row, utcnow()).acs][:5]
    except InvalidInput:  # damaged or expired metadata: the page still shows the rest
        return []


def _iso(seconds: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(float(seconds), UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def describe(row: Supplier) -> dict[str, Any]:
    """A supplier as the admin API answers it."""
    return {"slug": row.slug, "name": row.name, "protocol": row.protocol, "enabled": bool(row.enabled),
            "networks": sorted(n.slug for n in row.networks), "release": list(row.release or []),
            "category": row.category or "", "login_url": row.login_url or "", "settings": settings_view(row)}


def state(row: Supplier) -> dict[str, Any]:
    """What an audit entry compares: every setting an admin can change, secrets and documents reduced."""
    out = {k: v for k, v in describe(row).items() if k not in ("settings", "slug")}
    settings = dict(settings_view(row))
    for key in ("refreshed_at", "next_refresh", "refresh_error", "acs", "encryption_algorithm", "cbc_only",
                "previous_secret_until"):
        settings.pop(key, None)
    if row.protocol == "saml":
        metadata = (row.config or {}).get("metadata") or ""
        settings["metadata_sha256"] = hashlib.sha256(metadata.encode()).hexdigest()[:16] if metadata else ""
    conf = (row.config or {}).get(row.protocol) or {}
    for secret in ("secret_hash", "secret_encrypted"):
        if conf.get(secret):
            settings[secret.split("_")[0]] = MASK + hashlib.sha256(conf[secret].encode()).hexdigest()[:6]
    out.update({f"settings.{k}": v for k, v in settings.items()})
    return out


def record_change(runtime: Runtime, session: Session, actor: str, action: str, row: Supplier, before: dict[str, Any]) -> dict:
    """One audit entry with the fields that changed, before and after; nothing when nothing changed."""
    after_all = state(row)
    before_d = {k: before.get(k) for k in after_all if before.get(k) != after_all[k]}
    after_d = {k: after_all[k] for k in before_d}
    for side in (before_d, after_d):  # a secret's value is never written: only that it changed
        for key in list(side):
            if key in ("settings.secret",):
                side[key] = MASK if side[key] else ""
    if after_d:
        audit.record(runtime, session, actor, action, row.slug, before=before_d, after=after_d)
    return after_d


# -- checking the common fields -----------------------------------------------------------------------
def _text(data: dict, name: str, *, required: bool = False, max_len: int = 200, field: str | None = None,
          lines: bool = False) -> str | None:
    field = field or name
    value = data.get(name)
    if value is None:
        if required:
            raise FieldError(field, "required", f"{field}: required")
        return None
    if not isinstance(value, str):
        raise FieldError(field, "wrong_type", f"{field}: expected a string", name=field)
    value = value.strip()
    if required and not value:
        raise FieldError(field, "required", f"{field}: required")
    if len(value) > max_len or any(ord(c) < 32 and not (lines and c in "\r\n\t") for c in value):
        raise FieldError(field, "bad_text", f"{field}: {max_len} printable characters at most")
    return value


def _setting(settings: dict, name: str, *, max_len: int = 500, lines: bool = False) -> str | None:
    return _text(settings, name, max_len=max_len, field=f"settings.{name}", lines=lines)


def _list(data: dict, name: str, *, max_items: int = 50, field: str | None = None) -> list[str] | None:
    """A list of texts; a text is split on lines (and on commas for the common fields)."""
    field = field or name
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        value = (value if field.startswith("settings.") else value.replace(",", "\n")).splitlines()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FieldError(field, "wrong_type", f"{field}: expected a list of strings", name=field)
    value = [v.strip() for v in value if v.strip()]
    if len(value) > max_items:
        raise FieldError(field, "too_many", f"{field}: {max_items} items at most", name=field)
    return value


def _bool(data: dict, name: str, *, field: str | None = None) -> bool | None:
    field = field or name
    value = data.get(name)
    if value is None or isinstance(value, bool):
        return value
    raise FieldError(field, "wrong_type", f"{field}: expected true or false", name=field)


def _networks(session: Session, slugs: list[str], network_ids: frozenset[int]) -> list[Network]:
    found = []
    for slug in slugs:
        net = session.scalar(select(Network).where(Network.slug == slug))
        if net is None or net.id not in network_ids:
            raise FieldError("networks", "bad_network", f"network {slug[:64]!r}: not one of yours")
        found.append(net)
    return found


def _release(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    unknown = [v for v in value if v not in RELEASABLE]
    if unknown:
        raise FieldError("release", "bad_release", f"release: unknown attribute {unknown[0][:40]!r}; expected some "
                                                   f"of {', '.join(RELEASABLE)}")
    return [r for r in RELEASABLE if r in value]


def _login_url(value: str | None) -> str | None:
    if not value:
        return value
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("https", "http") or not parts.hostname or "@" in parts.netloc:
        raise FieldError("login_url", "bad_url", f"login_url {value[:100]!r}: expected an https:// address")
    return value


@dataclass
class Common:
    name: str | None
    networks: list[Network] | None
    release: list[str] | None
    category: str | None
    login_url: str | None
    enabled: bool | None


def common(session: Session, data: dict[str, Any], network_ids: frozenset[int], *, creating: bool) -> Common:
    name = _text(data, "name", required=creating)
    slugs = _list(data, "networks")
    if creating and not slugs:
        raise FieldError("networks", "bad_bundle", "networks: at least one of your networks")
    networks = _networks(session, slugs, network_ids) if slugs is not None else None
    release = _release(_list(data, "release"))
    category = _text(data, "category", max_len=32)
    if category and category not in CATEGORIES:
        raise FieldError("category", "bad_category", f"category {category!r}: expected one of {', '.join(CATEGORIES)}")
    login_url = _login_url(_text(data, "login_url", max_len=500))
    return Common(name, networks, release, category, login_url, _bool(data, "enabled"))


def _apply_common(row: Supplier, values: Common, network_ids: frozenset[int]) -> None:
    if values.name:
        row.name = values.name
    if values.release is not None:
        row.release = values.release
    if values.category is not None:
        row.category = values.category
    if values.login_url is not None:
        row.login_url = values.login_url
    if values.enabled is not None:
        row.enabled = values.enabled
    if values.networks is not None:
        # the admin decides for their own networks; the others' choices stay
        kept = [n for n in row.networks if n.id not in network_ids]
        if not kept and not values.networks:
            raise FieldError("networks", "bad_bundle", "networks: a supplier needs at least one network")
        row.networks = kept + [n for n in values.networks if n not in kept]


# -- adding -------------------------------------------------------------------------------------------
@dataclass
class Added:
    supplier: Supplier
    #: an OIDC client's secret: shown once, never stored in clear
    client_secret: str | None = None


def _as_field(exc: BrokerError, field: str, code: str) -> FieldError:
    if isinstance(exc, FieldError):
        return exc
    return FieldError(field, code, exc.message, detail=exc.message[:300])


def add(runtime: Runtime, session: Session, protocol: str, slug: Any, data: dict[str, Any], settings: dict[str, Any], *,
        network_ids: frozenset[int], actor: str) -> Added:
    """Register a new supplier with ``protocol``; nothing is written on any error."""
    if protocol not in PROTOCOLS:
        raise FieldError("protocol", "bad_protocol", f"protocol {str(protocol)[:20]!r}: expected one of "
                                                     f"{', '.join(PROTOCOLS)}")
    if not isinstance(slug, str):
        raise FieldError("slug", "wrong_type", "slug: expected a string", name="slug")
    try:
        check_slug(slug)
    except InvalidInput as exc:
        raise FieldError("slug", "bad_slug", exc.message) from None
    if session.scalar(select(Supplier.id).where(Supplier.slug == slug)) is not None:
        raise FieldError("slug", "exists", f"supplier '{slug}' already exists")
    values = common(session, data, network_ids, creating=True)
    nets = [n.slug for n in values.networks or []]
    unknown = sorted(set(settings) - set(settings_names(protocol)))
    if unknown:
        raise FieldError(f"settings.{unknown[0][:64]}", "unknown_field", f"unknown setting {unknown[0][:64]!r}",
                         name=unknown[0][:64])
    secret = None
    if protocol == "saml":
        row = _add_saml(runtime, session, slug, values, nets, settings, actor)
    elif protocol == "oidc":
        row, secret = _add_oidc(runtime, session, slug, values, nets, settings, actor)
    elif protocol == "cas":
        from .cas import services

        patterns = _list(settings, "service_patterns", field="settings.service_patterns") or []
        try:
            row = services.register(runtime, session, slug, patterns=patterns, networks=nets, name=values.name,
                                    login_url=values.login_url or "", release=values.release or None,
                                    single_logout=bool(_bool(settings, "single_logout", field="settings.single_logout")), actor=actor)
        except InvalidInput as exc:
            raise _as_field(exc, "settings.service_patterns", "bad_pattern") from None
    else:
        row = _save_link(runtime, session, slug, None, values, nets, settings, actor)
    if values.release is not None:
        row.release = values.release
    if values.category:
        row.category = values.category
    if values.enabled is False:
        row.enabled = False
    _note_created(session, row)
    session.flush()
    registry_cache.invalidate(runtime, protocol)
    return Added(row, secret)


def _note_created(session: Session, row: Supplier) -> None:
    """The creation's audit entry (written by the registration, in this unit of work) gets the values set,
    secrets reduced as in every other entry."""
    from ..db.models import AuditEvent

    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "supplier.add", AuditEvent.target == row.slug)
                           .order_by(AuditEvent.id.desc()).limit(1))
    if event is not None:
        event.detail = {**(event.detail or {}), "after": state(row)}


def _add_saml(runtime: Runtime, session, slug, values: Common, nets, settings, actor) -> Supplier:
    from .saml import registry

    document = _setting(settings, "metadata", max_len=registry.MAX_METADATA, lines=True)
    url = _setting(settings, "metadata_url")
    if bool(document) == bool(url):
        raise FieldError("settings.metadata", "metadata_source",
                         "give the metadata as a document or as an https URL (exactly one)")
    options = _saml_options(settings)
    try:
        return registry.add_saml(
            runtime, session, slug, metadata=url or None, metadata_xml=document.encode() if document else None,
            networks=nets, name=values.name, release=values.release or None, encrypt=bool(options.get("encrypt")),
            nameid=options.get("nameid", "persistent"), metadata_cert=_setting(settings, "metadata_cert", max_len=20000, lines=True)
            or None, entity_id=_setting(settings, "entity_id") or None,
            sign=options.get("sign", "response"), category=values.category or "", actor=actor)
    except BrokerError as exc:
        raise _saml_error(exc, url) from None


def _saml_options(settings: dict) -> dict[str, Any]:
    from .saml.names import NAMEID_FORMATS
    from .saml.registry import SIGN_CHOICES

    out: dict[str, Any] = {}
    nameid = _setting(settings, "nameid", max_len=20)
    if nameid:
        if nameid not in NAMEID_FORMATS:
            raise FieldError("settings.nameid", "bad_choice", f"nameid {nameid!r}: expected persistent or transient")
        out["nameid"] = nameid
    sign = _setting(settings, "sign", max_len=20)
    if sign:
        if sign not in SIGN_CHOICES:
            raise FieldError("settings.sign", "bad_choice", f"sign {sign!r}: expected one of {', '.join(SIGN_CHOICES)}")
        out["sign"] = sign
    encrypt = _bool(settings, "encrypt", field="settings.encrypt")
    if encrypt is not None:
        out["encrypt"] = encrypt
    return out


def _saml_error(exc: BrokerError, url: str | None) -> FieldError:
    message = exc.message
    if isinstance(exc, FieldError):
        return exc
    if "certificate" in message and ("metadata certificate" in message or "PEM" in message or "signed" in message):
        return FieldError("settings.metadata_cert", "bad_certificate", message, detail=message[:300])
    if "encrypt" in message:
        return FieldError("settings.encrypt", "bad_metadata", message, detail=message[:300])
    field = "settings.metadata_url" if url else "settings.metadata"
    return FieldError(field, "bad_metadata", message, detail=message[:300])


def _add_oidc(runtime: Runtime, session, slug, values: Common, nets, settings, actor) -> tuple[Supplier, str | None]:
    from .oidc import clients

    uris = _list(settings, "redirect_uris", field="settings.redirect_uris") or []
    if not uris:
        raise FieldError("settings.redirect_uris", "required", "an OIDC client needs at least one redirect URI")
    try:
        reg = clients.register(
            runtime, session, slug, redirect_uris=uris, networks=nets, name=values.name,
            public=bool(_bool(settings, "public", field="settings.public")),
            post_logout_redirect_uris=_list(settings, "post_logout_redirect_uris", field="settings.post_logout_redirect_uris") or (),
            login_url=values.login_url or "", refresh=bool(_bool(settings, "refresh", field="settings.refresh")),
            release=values.release or None, id_token_alg=_setting(settings, "id_token_alg", max_len=10) or "RS256",
            backchannel_logout_uri=_setting(settings, "backchannel_logout_uri") or "", actor=actor)
    except InvalidInput as exc:
        raise _oidc_error(exc) from None
    return session.scalar(select(Supplier).where(Supplier.slug == reg.slug)), reg.client_secret


def _oidc_error(exc: BrokerError) -> FieldError:
    if isinstance(exc, FieldError):
        return exc
    message = exc.message
    for prefix, field in (("post-logout", "settings.post_logout_redirect_uris"),
                          ("back-channel", "settings.backchannel_logout_uri"), ("login URL", "login_url"),
                          ("id_token_alg", "settings.id_token_alg")):
        if message.startswith(prefix):
            return FieldError(field, "bad_uri", message, detail=message[:300])
    return FieldError("settings.redirect_uris", "bad_uri", message, detail=message[:300])


def _save_link(runtime: Runtime, session, slug, row: Supplier | None, values: Common, nets, settings, actor) -> Supplier:
    from . import kit
    from .link import suppliers as link
    from .link.settings import LinkSettings

    data = {k: v for k, v in settings.items() if v is not None and v != ""}
    if "target_origins" in data:
        data["target_origins"] = _list(data, "target_origins", field="settings.target_origins") or []
    stored = kit.settings_of(row, "link") if row is not None else {}
    if row is not None and not data.get("secret") and not data.get("secret_env"):
        # an empty secret keeps the stored one
        if stored.get("secret_encrypted"):
            data["secret"] = runtime.keys.decrypt(stored["secret_encrypted"].encode()).decode()
        elif stored.get("secret_env"):
            data["secret_env"] = stored["secret_env"]
    if row is not None:
        data = {**{k: v for k, v in stored.items() if k in LinkSettings.model_fields and k not in ("secret_env",)},
                **data}
    try:
        checked = kit.validate_settings(LinkSettings, data)
    except InvalidInput as exc:
        field = _link_field(exc.message, tuple(LinkSettings.model_fields))
        raise FieldError(f"settings.{field}", "bad_link", exc.message, detail=exc.message[:300]) from None
    release = values.release if values.release is not None else (list(row.release or []) if row else None)
    try:
        link.check_release(checked, release if release is not None else ["library", "network"])
        return link.register(runtime, session, slug, checked, networks=nets, name=values.name,
                             release=values.release or None, category=values.category or "", actor=actor)
    except InvalidInput as exc:
        field = "release" if "release" in exc.message else "settings.url_template"
        raise FieldError(field, "bad_link", exc.message, detail=exc.message[:300]) from None


#: how the settings model's whole-form checks begin, and the field each one is about
_LINK_CHECKS = (("url template", "url_template"), ("algorithm", "algorithm"), ("target origin", "target_origins"),
                ("the template uses {target}", "target_origins"), ("secret variable", "secret_env"),
                ("store_secret", "store_secret"), ("give the shared secret", "secret"), ("secret", "secret"))


def _link_field(message: str, fields: tuple[str, ...]) -> str:
    name = message.split(":", 1)[0].strip()
    if name in fields:
        return name
    return next((field for start, field in _LINK_CHECKS if message.startswith(start)), "url_template")


# -- editing ------------------------------------------------------------------------------------------
def edit(runtime: Runtime, session: Session, row: Supplier, data: dict[str, Any], settings: dict[str, Any] | None, *,
         network_ids: frozenset[int], actor: str) -> dict[str, Any]:
    """Change a supplier (common fields, then its protocol's settings) all or nothing; the changed fields."""
    before = state(row)
    values = common(session, data, network_ids, creating=False)
    if settings:
        unknown = sorted(set(settings) - set(settings_names(row.protocol)))
        if unknown:
            raise FieldError(f"settings.{unknown[0][:64]}", "unknown_field", f"unknown setting {unknown[0][:64]!r}",
                             name=unknown[0][:64])
        _edit_settings(runtime, session, row, values, settings, actor)
    _apply_common(row, values, network_ids)
    session.flush()
    changed = record_change(runtime, session, actor, _action(before, row), row, before)
    if changed:
        registry_cache.invalidate(runtime, row.protocol)
    return changed


def _action(before: dict, row: Supplier) -> str:
    after = state(row)
    changed = {k for k in after if before.get(k) != after[k]}
    if changed == {"enabled"}:
        return "supplier.enable" if row.enabled else "supplier.disable"
    return "supplier.edit"


def set_enabled(runtime: Runtime, session: Session, row: Supplier, enabled: bool, *, actor: str) -> bool:
    """Disable or enable: a disabled supplier refuses every patron (the page says so); nothing is deleted."""
    if bool(row.enabled) == enabled:
        return False
    before = state(row)
    row.enabled = enabled
    session.flush()
    record_change(runtime, session, actor, "supplier.enable" if enabled else "supplier.disable", row, before)
    registry_cache.invalidate(runtime, row.protocol)
    return True


def _edit_settings(runtime: Runtime, session, row: Supplier, values: Common, settings: dict, actor: str) -> None:
    if row.protocol == "saml":
        from .saml import registry

        document = _setting(settings, "metadata", max_len=registry.MAX_METADATA, lines=True)
        url = _setting(settings, "metadata_url")
        options = _saml_options(settings)
        config = row.config or {}
        if document and url:
            raise FieldError("settings.metadata", "metadata_source",
                             "give the metadata as a document or as an https URL (exactly one)")
        if document or (url and url != config.get("metadata_url")):
            try:
                registry.add_saml(
                    runtime, session, row.slug, metadata=url or None,
                    metadata_xml=document.encode() if document else None, networks=[],
                    encrypt=options.get("encrypt", bool(config.get("encrypt"))),
                    nameid=options.get("nameid", config.get("nameid", "persistent")),
                    metadata_cert=_setting(settings, "metadata_cert", max_len=20000, lines=True) or (
                        config.get("metadata_cert") if url else None) or None,
                    entity_id=row.saml_entity_id, sign=options.get("sign", config.get("sign", "response")),
                    actor=actor)
            except Conflict as exc:
                raise FieldError("settings.metadata_url" if url else "settings.metadata", "other_entity",
                                 exc.message, detail=exc.message[:300]) from None
            except BrokerError as exc:
                raise _saml_error(exc, url) from None
            if document:  # an uploaded document replaces the URL: nothing to refresh from any more
                row.config = {**(row.config or {}), "metadata_url": "", "next_refresh": None, "refresh_error": ""}
        elif options:
            if options.get("encrypt"):
                from .saml import spmeta

                if not spmeta.sp_metadata(row, runtime.clock.utcnow()).encryption_certs:
                    raise FieldError("settings.encrypt", "bad_metadata", "the metadata hold no encryption "
                                     "certificate, so assertions cannot be encrypted",
                                     detail="no encryption certificate in the metadata")
            row.config = {**config, **options}
            session.info.setdefault("after_commit", []).append(lambda: registry_cache.invalidate(runtime, "saml"))
    elif row.protocol == "oidc":
        from .oidc import clients

        try:
            clients.update_client(
                runtime, session, row, redirect_uris=_list(settings, "redirect_uris", field="settings.redirect_uris"),
                post_logout_redirect_uris=_list(settings, "post_logout_redirect_uris", field="settings.post_logout_redirect_uris"),
                refresh=_bool(settings, "refresh", field="settings.refresh"),
                backchannel_logout_uri=_setting(settings, "backchannel_logout_uri"))
        except InvalidInput as exc:
            raise _oidc_error(exc) from None
        for fixed in ("public", "id_token_alg"):
            if fixed in settings and settings[fixed] is not None:
                current = settings_view(row)[fixed]
                if settings[fixed] != current:
                    raise FieldError(f"settings.{fixed}", "fixed", f"{fixed} is set at registration only",
                                     name=fixed)
    elif row.protocol == "cas":
        from .cas import services

        try:
            services.update_service(runtime, session, row, patterns=_list(settings, "service_patterns", field="settings.service_patterns"),
                                     single_logout=_bool(settings, "single_logout", field="settings.single_logout"))
        except InvalidInput as exc:
            raise _as_field(exc, "settings.service_patterns", "bad_pattern") from None
    elif row.protocol == "link":
        _save_link(runtime, session, row.slug, row, values, [], settings, actor)
    else:
        raise FieldError("protocol", "bad_protocol", f"supplier '{row.slug}' has no protocol settings to change")


def refresh_metadata(runtime: Runtime, session: Session, row: Supplier, *, actor: str) -> bool:
    """Fetch a SAML supplier's URL metadata now (the error, if any, is kept and shown)."""
    from .saml import registry

    if row.protocol != "saml" or not (row.config or {}).get("metadata_url"):
        raise FieldError("settings.metadata_url", "no_url", "this supplier has no metadata URL to refresh from")
    return registry.refresh(runtime, session, row, actor=actor)


def rotate_secret(runtime: Runtime, session: Session, row: Supplier, grace_days: Any, *, actor: str) -> str:
    from .oidc import clients

    if isinstance(grace_days, str):
        grace_days = int(grace_days) if grace_days.strip().isdigit() else -1
    try:
        return clients.rotate_secret(runtime, session, row, grace_days=grace_days, actor=actor)
    except InvalidInput as exc:
        field = "grace_days" if "grace" in exc.message else "protocol"
        raise FieldError(field, "bad_grace" if field == "grace_days" else "bad_protocol", exc.message,
                         max=clients.MAX_GRACE_DAYS) from None


def try_cas_pattern(patterns: list[str], url: str) -> int | None:
    from .cas import services

    try:
        return services.try_patterns(patterns, url)
    except InvalidInput as exc:
        raise FieldError("settings.service_patterns", "bad_pattern", exc.message, detail=exc.message[:300]) from None


# -- the preview --------------------------------------------------------------------------------------
def membership_in(session: Session, membership_id: Any, network_ids: frozenset[int]) -> Membership:
    """A membership of one of the admin's networks (else NotFound: others' patrons are not disclosed)."""
    try:
        number = int(membership_id)
    except (TypeError, ValueError):
        number = 0
    found = session.get(Membership, number) if 0 < number < 2**31 else None
    if found is not None:
        lib = session.get(Library, found.library_id)
        if lib is not None and lib.partner.network_id in network_ids:
            return found
    raise FieldError("membership", "unknown_membership", f"membership {str(membership_id)[:20]!r}: not one in your "
                                                         "networks")


def preview(runtime: Runtime, session: Session, row: Supplier, membership: Membership, *, actor: str) -> dict[str, Any]:
    """Exactly what ``row`` would receive if this membership's patron came now (nothing is sent or counted).

    The decision, the pairwise subject and the released attributes come from
    ``providers.issuance`` (the issuance code itself); the protocol's own code
    turns them into a NameID and SAML attributes, ID token claims, a CAS answer
    or a signed link's values.
    """
    from . import issuance

    uid = session.scalar(select(Patron.uid).where(Patron.id == membership.patron_id)) or ""
    result = issuance.preview(runtime, session, row, uid)
    refusal = result.outcome.decision.refusal
    out: dict[str, Any] = {"supplier": row.slug, "protocol": row.protocol, "membership": membership.id,
                           "enabled": bool(row.enabled), "granted": result.granted,
                           "reason": refusal.code if refusal is not None else None,
                           "identifier": None, "attributes": []}
    audit.record(runtime, session, actor, "supplier.preview", row.slug, membership=membership.id)
    if not result.granted:
        return out
    out["identifier"], out["attributes"] = _wire(runtime, row, result)
    return out


def _wire(runtime: Runtime, row: Supplier, result) -> tuple[dict[str, str], list[dict[str, Any]]]:
    attributes = {k: list(v) for k, v in result.attributes.items()}
    if row.protocol == "saml":
        from .saml import spmeta
        from .saml.names import NAMEID_PERSISTENT, attribute_name
        from .saml.sso import nameid_format, with_subject_id

        fmt = nameid_format(row)
        try:
            attributes = with_subject_id(spmeta.sp_metadata(row, runtime.clock.utcnow()), attributes)
        except InvalidInput:
            pass
        ident = {"name": "NameID", "format": fmt, "value": result.subject if fmt == NAMEID_PERSISTENT else ""}
        rows = [{"name": attribute_name(k).uri, "friendly": attribute_name(k).friendly, "values": v}
                for k, v in attributes.items()]
        return ident, rows
    if row.protocol == "oidc":
        from .oidc.claims import claims_for
        from .oidc.clients import SCOPES

        claims = claims_for(attributes, result.subject, " ".join(SCOPES))
        ident = {"name": "sub", "format": "pairwise", "value": claims.pop("sub")}
        return ident, [{"name": k, "friendly": k, "values": v if isinstance(v, list) else [v]}
                       for k, v in claims.items()]
    if row.protocol == "cas":
        from .cas.tickets import attributes_of

        ident = {"name": "user", "format": "pairwise", "value": result.subject}
        return ident, [{"name": k, "friendly": k, "values": v} for k, v in attributes_of(attributes).items()]
    if row.protocol == "link":
        from .link import template as tpl
        from .link.issue import values_for

        conf = (row.config or {}).get("link") or {}
        values = values_for(result, now=runtime.clock.utcnow(), nonce="…", target="", lifetime=int(conf.get("lifetime") or 300))
        used: set[str] | frozenset[str]
        try:
            used = tpl.parse(conf["url_template"]).fields | tpl.parse(conf.get("message") or tpl.DEFAULT_MESSAGE).fields
        except (KeyError, tpl.TemplateError):
            used = set(values)
        ident = {"name": "uid", "format": "pairwise", "value": values.pop("uid")}
        return ident, [{"name": k, "friendly": k, "values": [v] if v else []}
                       for k, v in values.items() if k in used and k not in ("ts", "exp", "iso_ts", "nonce", "target")]
    ident = {"name": "pairwise-id", "format": "pairwise", "value": result.subject}
    return ident, [{"name": k, "friendly": k, "values": v} for k, v in attributes.items()]
