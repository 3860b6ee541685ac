"""Networks, partners, agreements and the yearly fees they owe."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..db.models import Agreement, Network, Partner
from ..domain.fees import DEFAULT_RATE, AgreementTerms, yearly_fee
from ..errors import Conflict, InvalidInput, NotFound
from . import audit, validation

PARTNER_KINDS = ("commune", "epci", "epic")


def get_network(session: Session, slug: str) -> Network:
    network = session.scalar(select(Network).where(Network.slug == slug))
    if network is None:
        raise NotFound(f"unknown network '{slug}'")
    return network


def add_network(runtime, session: Session, slug: str, name: str, *, actor: str = "cli",
                scope: str = "", branding: dict | None = None, contact_email: str = "") -> Network:
    validation.slug(slug, "network slug")
    name = validation.text(name, "name")
    if session.scalar(select(Network.id).where(Network.slug == slug)) is not None:
        raise Conflict(f"network '{slug}' already exists")
    network = Network(slug=slug, name=name, scope=scope or f"{slug}.sesame", branding=branding or {},
                      contact_email=contact_email)
    session.add(network)
    session.flush()
    audit.record(runtime, session, actor, "network.add", slug)
    return network


def get_partner(session: Session, slug: str) -> Partner:
    partner = session.scalar(select(Partner).where(Partner.slug == slug))
    if partner is None:
        raise NotFound(f"unknown partner '{slug}'")
    return partner


def parse_agreement(text: str) -> tuple[date, date]:
    """``YYYY-MM-DD:YYYY-MM-DD`` → (start, end), end not before start."""
    parts = (text or "").split(":")
    if len(parts) != 2:
        raise InvalidInput(f"agreement {text!r}: expected START:END as YYYY-MM-DD:YYYY-MM-DD")
    start = validation.iso_date(parts[0], "agreement start")
    end = validation.iso_date(parts[1], "agreement end")
    if end < start:
        raise InvalidInput(f"agreement {text!r}: the end ({end}) is before the start ({start})")
    return start, end


def parse_rate(value) -> Decimal:
    try:
        rate = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(f"rate {value!r}: expected a number of euros per inhabitant, e.g. 0.15") from None
    if not rate.is_finite() or rate < 0 or rate > 100:
        raise InvalidInput(f"rate {value!r}: expected a number between 0 and 100")
    return rate


def add_partner(runtime, session: Session, slug: str, *, name: str, kind: str, population, network: str,
                agreement: str | None = None, rate=None, actor: str = "cli") -> Partner:
    validation.slug(slug, "partner slug")
    name = validation.text(name, "name")
    if kind not in PARTNER_KINDS:
        raise InvalidInput(f"kind {kind!r}: expected one of {', '.join(PARTNER_KINDS)}")
    pop = validation.population(population)
    net = get_network(session, network)
    terms = parse_agreement(agreement) if agreement else None
    the_rate = parse_rate(rate) if rate is not None else DEFAULT_RATE
    if session.scalar(select(Partner.id).where(Partner.slug == slug)) is not None:
        raise Conflict(f"partner '{slug}' already exists")
    partner = Partner(slug=slug, name=name, kind=kind, population=pop, network=net)
    session.add(partner)
    if terms:
        session.add(Agreement(partner=partner, start=terms[0], end=terms[1], rate=the_rate))
    session.flush()
    audit.record(runtime, session, actor, "partner.add", slug, kind=kind, population=pop)
    return partner


def add_agreement(runtime, session: Session, partner_slug: str, agreement: str, rate=None, *,
                  actor: str = "cli") -> Agreement:
    partner = get_partner(session, partner_slug)
    start, end = parse_agreement(agreement)
    the_rate = parse_rate(rate) if rate is not None else DEFAULT_RATE
    for existing in partner.agreements:
        if existing.start <= end and existing.end >= start:
            raise Conflict(f"partner '{partner_slug}' already has an agreement from {existing.start} to {existing.end}")
    row = Agreement(partner=partner, start=start, end=end, rate=the_rate)
    session.add(row)
    session.flush()
    audit.record(runtime, session, actor, "agreement.add", partner_slug, start=str(start), end=str(end))
    return row


def partner_active(partner: Partner, day: date) -> bool:
    return any(AgreementTerms(a.start, a.end, a.rate).in_force(day) for a in partner.agreements)


@dataclass(frozen=True)
class FeeLine:
    partner: str
    name: str
    kind: str
    network: str
    population: int
    rate: Decimal
    fee: Decimal


def fees_for_year(session: Session, year: int, network: str | None = None) -> list[FeeLine]:
    """Each partner's fee for ``year``: due when an agreement covers part of that year."""
    query = select(Partner).options(selectinload(Partner.agreements), selectinload(Partner.network)).order_by(Partner.slug)
    if network:
        query = query.where(Partner.network_id == get_network(session, network).id)
    lines = []
    for partner in session.scalars(query):
        covering = [a for a in partner.agreements if AgreementTerms(a.start, a.end, a.rate).covers_year(year)]
        if not covering:
            continue
        rate = Decimal(covering[-1].rate).normalize()
        lines.append(FeeLine(partner.slug, partner.name, partner.kind, partner.network.slug, partner.population,
                             rate, yearly_fee(partner.population, rate)))
    return lines
