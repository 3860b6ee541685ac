"""The networks a token's owner administers, for routes that register suppliers (SAML, signed links)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from ...db.models import Network
from ...errors import InvalidInput
from ...services import staff, staff_desk


def admin_network_slugs(db: Any, user: Any) -> set[str]:
    """Slugs of the networks ``user`` administers (none for a referent)."""
    ids = staff.scope_of(user).admin_networks
    if not ids:
        return set()
    return set(db.scalars(select(Network.slug).where(Network.id.in_(ids))))


def networks_field(value: Any) -> list[str]:
    """The body's ``networks``: a non-empty list of network slugs."""
    if not value or not isinstance(value, list) or not all(isinstance(n, str) for n in value):
        raise InvalidInput("networks: a list of network slugs is required", code="missing_field")
    return value


def require_admin_of(user: Any, action: str, networks: Iterable[str], mine: set[str]) -> None:
    """403, recorded in the audit log as ``denied``, unless ``user`` administers every network named."""
    outside = [n for n in networks if n not in mine]
    if outside:
        raise staff_desk.deny(user, action, outside[0][:64])
