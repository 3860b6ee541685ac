"""Registering signed-link suppliers: settings checked by the model, the shared secret never stored in clear."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from ...db.models import Supplier
from ...errors import InvalidInput
from ...services.suppliers import parse_release
from .. import kit
from . import template as tpl
from .settings import LinkSettings

if TYPE_CHECKING:
    from ...runtime import Runtime

PROTOCOL = "link"
#: released attributes a template may name only when the release policy releases them
_NEEDS_RELEASE = {name for name in tpl.ATTRIBUTE_PLACEHOLDERS}


def stored_settings(runtime: Runtime, settings: LinkSettings) -> dict[str, Any]:
    """What goes to ``supplier.config["link"]``: the templates, and the secret's source (never the secret)."""
    stored: dict[str, Any] = {
        "url_template": settings.url_template, "message": settings.message, "algorithm": settings.algorithm,
        "lifetime": settings.lifetime, "target_origins": list(settings.target_origins),
        "allow_http": settings.allow_http, "allow_legacy": settings.allow_legacy,
    }
    if settings.secret is not None:
        stored["secret_encrypted"] = runtime.keys.encrypt(settings.secret.get_secret_value().encode()).decode()
    elif settings.store_secret:
        value = os.environ[settings.secret_env]
        stored["secret_encrypted"] = runtime.keys.encrypt(value.encode()).decode()
        stored["secret_from"] = settings.secret_env
    else:
        stored["secret_env"] = settings.secret_env
    return stored


def check_release(settings: LinkSettings, release: list[str]) -> None:
    """Every attribute the templates name must be released to the supplier."""
    used = tpl.parse(settings.url_template).fields | tpl.parse(settings.message).fields
    missing = sorted((used & _NEEDS_RELEASE) - set(release))
    if missing:
        raise InvalidInput(f"the template uses {{{missing[0]}}}, which the release policy does not release; "
                           f"add it to --release (now: {','.join(release) or 'nothing'})")


def register(runtime: Runtime, session: Session, slug: str, settings: LinkSettings, *, networks=(), name=None,
             release=None, category: str = "", actor: str = "cli") -> Supplier:
    """Make ``slug`` a signed-link supplier (creating it when new); nothing is written on bad input."""
    from sqlalchemy import select

    existing = session.scalar(select(Supplier).where(Supplier.slug == slug))
    effective = parse_release(release) if release or existing is None else list(existing.release or [])
    check_release(settings, effective)
    return kit.register_supplier(runtime, session, slug, PROTOCOL, stored_settings(runtime, settings),
                                 networks=networks, name=name, release=release, category=category,
                                 login_url="", actor=actor)


def describe(row: Supplier) -> dict[str, Any]:
    """A link supplier as the CLI and the API show it: never the secret, the algorithm labelled."""
    conf = kit.settings_of(row, PROTOCOL)
    if "secret_encrypted" in conf:
        secret = "encrypted store"
    else:
        secret = f"environment variable {conf.get('secret_env', '?')}"
    return {**kit.describe_supplier(row), "url_template": conf.get("url_template", ""),
            "message": conf.get("message", tpl.DEFAULT_MESSAGE),
            "algorithm": tpl.label(conf.get("algorithm", tpl.DEFAULT_ALGORITHM)),
            "lifetime": conf.get("lifetime", 300), "target_origins": list(conf.get("target_origins", [])),
            "secret": secret}
