"""The networks a token's owner administers, for routes that register suppliers (SAML, signed links)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from ...db.models import Network
from ...services import staff, staff_desk
from ...services.field_errors import FieldError


def admin_network_slugs(db: Any, user: Any) -> set[str]:
    """Slugs of the networks ``user`` administers (none for a referent)."""
    ids = staff.scope_of(user).admin_networks
    if not ids:
        return set()
    return set(db.scalars(select(Network.slug).where(Network.id.in_(ids))))


def networks_field(value: Any) -> list[str]:
    """The body's ``networks``: a non-empty list of network slugs."""
    if not value or not isinstance(value, list) or not all(isinstance(n, str) for n in value):
        raise FieldError("networks", "missing_field",
                         _("networks : une liste d'identifiants de réseaux est requise."), name="networks")
    return value


def require_admin_of(user: Any, action: str, networks: Iterable[str], mine: set[str]) -> None:
    """403, recorded in the audit log as ``denied``, unless ``user`` administers every network named."""
    outside = [n for n in networks if n not in mine]
    if outside:
        raise staff_desk.deny(user, action, outside[0][:64])
