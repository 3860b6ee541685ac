"""A network admin changes a library: its fields, its partner, its connector settings, enabled or not.

Every change is checked before anything is written (a ``FieldError`` names the
field at fault) and audited with the values before and after; secrets are
write-only: the audit says only that they changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Library, Partner
from ..errors import InvalidInput, NotFound
from ..sigb import _secret_fields, validate_connector_settings
from . import audit, validation
from .field_errors import FieldError
from .libraries import REGISTRATION_POLICIES

if TYPE_CHECKING:
    from ..runtime import Runtime

#: the fields a PATCH or the edit form may change (besides ``partner``, ``settings`` and ``enabled``)
TEXT_FIELDS = {"name": 200, "commune": 200, "contact_phone": 40, "address": 300, "website": 300}
EDITABLE = (*TEXT_FIELDS, "contact_email", "registration", "partner", "settings", "enabled")
MASK = "***"


def secret_names(runtime: Runtime, lib: Library) -> set[str]:
    return _secret_fields(runtime.sigb.spec(lib.connector).settings_model)


def secrets_set(runtime: Runtime, lib: Library) -> dict[str, bool]:
    """Which secret settings have a value (their values are never shown)."""
    stored = runtime.keys.decrypt_json(lib.connector_secrets) if lib.connector_secrets else {}
    return {name: bool(stored.get(name)) for name in sorted(secret_names(runtime, lib))}


def _text(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise FieldError(field, "wrong_type", f"{field}: expected a string", name=field)
    try:
        return validation.text(value, field, max_len=TEXT_FIELDS[field], required=field == "name")
    except InvalidInput as exc:
        raise FieldError(field, "bad_name" if field == "name" else "bad_text", str(exc)) from None


def _settings(runtime: Runtime, lib: Library, raw: Any) -> tuple[dict, bytes | None, list[str]]:
    """The merged settings checked by the connector's model: (public, encrypted secrets, changed names)."""
    if not isinstance(raw, dict) or not all(isinstance(k, str) for k in raw):
        raise FieldError("settings", "wrong_type", "settings: expected an object", name="settings")
    spec = runtime.sigb.spec(lib.connector)
    secrets = secret_names(runtime, lib)
    stored = runtime.keys.decrypt_json(lib.connector_secrets) if lib.connector_secrets else {}
    merged = {**(lib.connector_settings or {}), **stored}
    for key, value in raw.items():
        if key in secrets and (value is None or value == ""):
            continue  # a secret left blank keeps its value (write-only)
        merged[key] = value
    try:
        public, secret = validate_connector_settings(spec, merged)
    except InvalidInput as exc:
        bad = next((k for k in raw if f"'{k}" in str(exc)), None) or next(
            (k for k in spec.settings_model.model_fields if f"'{k}" in str(exc)), "settings")
        raise FieldError(f"settings.{bad}" if bad != "settings" else bad, "bad_setting", str(exc),
                         name=bad, detail=str(exc)) from None
    changed = sorted({k for k in public if public.get(k) != (lib.connector_settings or {}).get(k)}
                     | {k for k in secret if secret.get(k) != stored.get(k)})
    return public, (runtime.keys.encrypt_json(secret) if secret else None), changed


def edit_library(runtime: Runtime, session: Session, lib: Library, changes: dict[str, Any], *, actor: str,
                 network_ids: frozenset[int] | None = None) -> dict[str, Any]:
    """Apply ``changes`` (names of ``EDITABLE``) all or nothing; returns the changed fields' new values.

    ``network_ids``: the partner a library moves to must be in one of these networks (an admin's scope).
    """
    for name in changes:
        if name not in EDITABLE:
            raise FieldError(name[:64], "unknown_field", f"unknown field {name[:64]!r}", name=name[:64])
    new: dict[str, Any] = {}
    for field in TEXT_FIELDS:
        if field in changes:
            new[field] = _text(field, changes[field])
    if "contact_email" in changes:
        value = changes["contact_email"]
        if not isinstance(value, str):
            raise FieldError("contact_email", "wrong_type", "contact_email: expected a string", name="contact_email")
        try:
            new["contact_email"] = validation.email(value, required=False) or ""
        except InvalidInput as exc:
            raise FieldError("contact_email", "bad_email", str(exc)) from None
    if "registration" in changes:
        if changes["registration"] not in REGISTRATION_POLICIES:
            raise FieldError("registration", "bad_registration",
                             f"registration {str(changes['registration'])[:20]!r}: expected referent or auto")
        new["registration"] = changes["registration"]
    if "enabled" in changes:
        if not isinstance(changes["enabled"], bool):
            raise FieldError("enabled", "wrong_type", "enabled: expected true or false", name="enabled")
        new["enabled"] = changes["enabled"]
    partner = None
    if "partner" in changes:
        slug = changes["partner"]
        partner = session.scalar(select(Partner).where(Partner.slug == slug)) if isinstance(slug, str) else None
        if partner is None or (network_ids is not None and partner.network_id not in network_ids) \
                or partner.network_id != lib.partner.network_id:
            raise FieldError("partner", "bad_partner", f"partner {str(slug)[:64]!r}: not a partner of this network")
        new["partner"] = partner.slug
    settings = None
    if "settings" in changes:
        settings = _settings(runtime, lib, changes["settings"])
    # everything is checked: write
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for field, value in new.items():
        current = lib.partner.slug if field == "partner" else getattr(lib, field)
        if current != value:
            before[field], after[field] = current, value
    if partner is not None and "partner" in after:
        lib.partner = partner
    for field, value in after.items():
        if field != "partner":
            setattr(lib, field, value)
    secrets = secret_names(runtime, lib)
    if settings is not None and settings[2]:
        public, encrypted, changed = settings
        old = lib.connector_settings or {}
        before["settings"] = {k: (MASK if k in secrets else old.get(k)) for k in changed}
        after["settings"] = {k: (MASK if k in secrets else public.get(k)) for k in changed}
        lib.connector_settings = public
        if secrets & set(changed):  # unchanged secrets keep their ciphertext
            lib.connector_secrets = encrypted
    if after:
        session.flush()
        action = "library.edit"
        if set(after) == {"enabled"}:
            action = "library.enable" if after["enabled"] else "library.disable"
        audit.record(runtime, session, actor, action, lib.code, before=before, after=after)
    return after


def library_in(session: Session, code: str) -> Library:
    from .libraries import get_library

    if not isinstance(code, str) or len(code) > 64:
        raise NotFound("unknown library", code="unknown_library")
    try:
        return get_library(session, code)
    except NotFound:
        raise NotFound(f"unknown library '{code[:64]}'", code="unknown_library") from None


def libraries_of(session: Session, network_ids: frozenset[int]) -> list[Library]:
    from sqlalchemy.orm import selectinload

    return list(session.scalars(select(Library).join(Library.partner).where(Partner.network_id.in_(network_ids))
                                .options(selectinload(Library.partner).selectinload(Partner.network))
                                .order_by(Library.name)))


def add_library(runtime: Runtime, session: Session, data: dict[str, Any], *, actor: str) -> Library:
    """A new library from a form or a JSON body; errors name their field, nothing is written on error."""
    from ..errors import Conflict
    from . import libraries

    code = data.get("code") or ""
    try:
        validation.library_code(code)
    except InvalidInput as exc:
        raise FieldError("code", "bad_code", str(exc)) from None
    if session.scalar(select(Library.id).where(Library.code == code)) is not None:
        raise FieldError("code", "exists", f"library '{code}' already exists")
    name = _text("name", data.get("name") or "")
    connector = data.get("connector") or ""
    try:
        spec = runtime.sigb.spec(connector)
    except (InvalidInput, NotFound) as exc:
        raise FieldError("connector", "bad_connector", str(exc)) from None
    try:
        validate_connector_settings(spec, data.get("settings") or {})
    except InvalidInput as exc:
        bad = next((k for k in spec.settings_model.model_fields if f"'{k}" in str(exc)), "settings")
        raise FieldError(f"settings.{bad}" if bad != "settings" else bad, "bad_setting", str(exc),
                         name=bad, detail=str(exc)) from None
    registration = data.get("registration") or "referent"
    if registration not in REGISTRATION_POLICIES:
        raise FieldError("registration", "bad_registration", f"registration {registration[:20]!r}: expected referent or auto")
    try:
        contact = validation.email(data.get("contact_email") or "", required=False) or ""
    except InvalidInput as exc:
        raise FieldError("contact_email", "bad_email", str(exc)) from None
    try:
        return libraries.add_library(runtime, session, code, name=name, partner=data["partner"], connector=connector,
                                     settings=data.get("settings") or {}, registration=registration,
                                     commune=_text("commune", data.get("commune") or ""), contact_email=contact,
                                     actor=actor)
    except Conflict as exc:
        raise FieldError("code", "exists", str(exc)) from None


# -- the connector settings form, generated from the connector's settings model ------------------
def settings_fields(runtime: Runtime, connector: str) -> list[dict[str, Any]]:
    """One entry per field of the connector's pydantic settings model: what a form needs to show it.

    ``kind``: secret, bool, choice (with ``choices``), number or text; a third-party connector
    gets its form from its model alone.
    """
    import typing

    from pydantic import SecretStr

    model = runtime.sigb.spec(connector).settings_model
    out = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        base = args[0] if len(args) == 1 and typing.get_origin(annotation) in (typing.Union, getattr(
            __import__("types"), "UnionType", None)) else annotation
        field: dict[str, Any] = {"name": name, "description": info.description or "", "required": info.is_required(),
                                 "default": None if info.is_required() else info.default}
        if base is SecretStr:
            field["kind"] = "secret"
        elif base is bool:
            field["kind"] = "bool"
        elif typing.get_origin(base) is typing.Literal:
            field["kind"], field["choices"] = "choice", [str(c) for c in typing.get_args(base)]
        elif base in (int, float):
            field["kind"] = "number"
        elif base is str:
            field["kind"] = "text"
        else:
            continue  # nested settings (an attribute map): set them with the CLI or the API
        out.append(field)
    return out


def settings_from_form(runtime: Runtime, connector: str, form) -> dict[str, Any]:
    """The settings a form posted (``setting.NAME``): an empty optional field takes its default,
    an empty secret keeps its value."""
    out: dict[str, Any] = {}
    for field in settings_fields(runtime, connector):
        key = f"setting.{field['name']}"
        if key not in form:
            continue
        value = form.get(key, "").strip()
        if value == "" and field["kind"] != "secret":
            out[field["name"]] = "" if field["required"] else field["default"]
        else:
            out[field["name"]] = value
    return out
