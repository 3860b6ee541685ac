"""Suppliers, the networks that offer them (the bundle), and what the decision needs of them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..db.models import Network, Supplier
from ..domain.access import SupplierFacts
from ..errors import Conflict, InvalidInput, NotFound
from . import audit, validation

if TYPE_CHECKING:
    from ..runtime import Runtime

CATEGORIES = ("cinema", "presse", "formation", "musique", "livre", "jeu-video", "jeunesse")
#: what a release policy may name; the pairwise identifier, entitlement and
#: scoped affiliation are always released
RELEASABLE = ("library", "network", "birth_year", "age_bracket", "display_name", "email")


def get_supplier(session: Session, slug: str) -> Supplier:
    supplier = session.scalar(select(Supplier).where(Supplier.slug == slug).options(selectinload(Supplier.networks)))
    if supplier is None:
        raise NotFound(f"unknown supplier '{slug}'")
    return supplier


def parse_release(value: str | list[str] | None) -> list[str]:
    if not value:
        return ["library", "network"]
    items = value.split(",") if isinstance(value, str) else list(value)
    items = [i.strip() for i in items if i.strip()]
    unknown = [i for i in items if i not in RELEASABLE]
    if unknown:
        raise InvalidInput(f"release: unknown attribute(s) {', '.join(unknown)}; expected some of {', '.join(RELEASABLE)}")
    return items


#: names the API and the staff pages use beside suppliers' slugs (``/api/v1/suppliers/saml``, ``/staff/suppliers/new``)
RESERVED_SLUGS = ("cas", "link", "new", "oidc", "saml")


def check_slug(slug: str) -> None:
    """A valid supplier slug: a slug that none of the routes beside suppliers' own uses."""
    validation.slug(slug, "supplier slug")
    if slug in RESERVED_SLUGS:
        raise InvalidInput(f"supplier slug {slug!r} is reserved; choose another (not {', '.join(RESERVED_SLUGS)})")


def add_supplier(runtime: Runtime, session: Session, slug: str, *, name: str, networks: list[str], category: str = "",
                 description: str = "", protocol: str = "none", login_url: str = "",
                 release: str | list[str] | None = None, min_age: int | None = None, max_age: int | None = None,
                 config: dict | None = None, actor: str = "cli", **columns) -> Supplier:
    check_slug(slug)
    name = validation.text(name, "name")
    if category and category not in CATEGORIES:
        raise InvalidInput(f"category {category!r}: expected one of {', '.join(CATEGORIES)}")
    if min_age is not None and max_age is not None and min_age > max_age:
        raise InvalidInput("the minimum age is above the maximum age")
    if not networks:
        raise InvalidInput("a supplier needs at least one network (--network)")
    nets = []
    for net_slug in networks:
        net = session.scalar(select(Network).where(Network.slug == net_slug))
        if net is None:
            raise NotFound(f"unknown network '{net_slug}'")
        nets.append(net)
    if session.scalar(select(Supplier.id).where(Supplier.slug == slug)) is not None:
        raise Conflict(f"supplier '{slug}' already exists")
    supplier = Supplier(slug=slug, name=name, category=category, description=description, protocol=protocol,
                        login_url=login_url, release=parse_release(release), min_age=min_age, max_age=max_age,
                        config=config or {}, networks=nets, **columns)
    session.add(supplier)
    session.flush()
    audit.record(runtime, session, actor, "supplier.add", slug, protocol=protocol)
    return supplier


def list_suppliers(session: Session, network: str | None = None) -> list[Supplier]:
    query = select(Supplier).options(selectinload(Supplier.networks)).order_by(Supplier.category, Supplier.name)
    suppliers = list(session.scalars(query))
    if network:
        suppliers = [s for s in suppliers if any(n.slug == network for n in s.networks)]
    return suppliers


def facts(supplier: Supplier) -> SupplierFacts:
    return SupplierFacts(slug=supplier.slug, networks=frozenset(n.slug for n in supplier.networks),
                         min_age=supplier.min_age, max_age=supplier.max_age, enabled=supplier.enabled is not False)


def update_common(session: Session, supplier: Supplier, *, name: str | None = None, login_url: str | None = None,
                  release: str | list[str] | None = None, networks: list[str] | tuple[str, ...] = ()) -> None:
    """Apply what any protocol registration may change on an existing supplier (empty → unchanged)."""
    if name:
        supplier.name = validation.text(name, "name")
    if login_url:
        supplier.login_url = login_url
    if release:
        supplier.release = parse_release(release)
    for net_slug in networks:
        net = session.scalar(select(Network).where(Network.slug == net_slug))
        if net is None:
            raise NotFound(f"unknown network '{net_slug}'")
        if net not in supplier.networks:
            supplier.networks.append(net)
