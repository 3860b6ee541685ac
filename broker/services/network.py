"""Networks, partners, agreements and the yearly fees they owe."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..db.models import Agreement, Network, Partner
from ..domain.fees import DEFAULT_RATE, AgreementTerms, days_covered, days_in_year, prorated_fee
from ..errors import Conflict, InvalidInput, NotFound
from . import audit, validation
from .field_errors import FieldError

if TYPE_CHECKING:
    from ..runtime import Runtime

PARTNER_KINDS = ("commune", "epci", "epic")


def get_network(session: Session, slug: str) -> Network:
    network = session.scalar(select(Network).where(Network.slug == slug))
    if network is None:
        raise NotFound(f"unknown network '{slug}'")
    return network


def add_network(runtime: Runtime, session: Session, slug: str, name: str, *, actor: str = "cli",
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
        raise FieldError("agreement", "bad_period",
                         f"agreement {text!r}: expected START:END as YYYY-MM-DD:YYYY-MM-DD")
    return agreement_dates(parts[0], parts[1])


def agreement_dates(start_text, end_text) -> tuple[date, date]:
    """The dates of an agreement typed apart (forms, API); the end may not be before the start."""
    start = _date_field(start_text, "start", "agreement start")
    end = _date_field(end_text, "end", "agreement end")
    if end < start:
        raise FieldError("end", "end_before_start",
                         f"agreement {start}:{end}: the end ({end}) is before the start ({start})",
                         start=start, end=end)
    return start, end


def _date_field(value, field: str, what: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return validation.iso_date(value if isinstance(value, str) else "", what)
    except InvalidInput as exc:
        raise FieldError(field, "bad_date", exc.message) from None


def check_overlap(partner: Partner, start: date, end: date, *, ignore: Agreement | None = None) -> None:
    """Two agreements of one partner may not share a day."""
    for existing in partner.agreements:
        if existing is not ignore and existing.start <= end and existing.end >= start:
            raise FieldError("start", "overlap",
                             f"partner '{partner.slug}' already has an agreement from {existing.start} to {existing.end}",
                             start=existing.start, end=existing.end)


def parse_rate(value) -> Decimal:
    try:
        rate = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        raise FieldError("rate", "bad_rate",
                         f"rate {value!r}: expected a number of euros per inhabitant, e.g. 0.15") from None
    if not rate.is_finite() or rate < 0 or rate > 100:
        raise FieldError("rate", "bad_rate", f"rate {value!r}: expected a number between 0 and 100")
    return rate


def parse_population(value) -> int:
    """A legal population: a whole number, not negative."""
    if isinstance(value, bool) or (not isinstance(value, (int, str))):
        raise FieldError("population", "not_whole", f"population {value!r}: expected a whole number")
    try:
        return validation.population(value)
    except InvalidInput as exc:
        code = "negative" if "negative" in exc.message else "not_whole"
        raise FieldError("population", code, exc.message) from None


def parse_kind(kind) -> str:
    if kind not in PARTNER_KINDS:
        raise FieldError("kind", "bad_kind", f"kind {kind!r}: expected one of {', '.join(PARTNER_KINDS)}")
    return kind


def parse_name(name) -> str:
    try:
        return validation.text(name if isinstance(name, str) else "", "name")
    except InvalidInput as exc:
        raise FieldError("name", "bad_name", exc.message) from None


def add_partner(runtime: Runtime, session: Session, slug: str, *, name: str, kind: str, population,
                network: str, agreement: str | tuple[date, date] | None = None, rate=None, actor: str = "cli") -> Partner:
    try:
        validation.slug(slug if isinstance(slug, str) else "", "partner slug")
    except InvalidInput as exc:
        raise FieldError("slug", "bad_slug", exc.message) from None
    name = parse_name(name)
    kind = parse_kind(kind)
    pop = parse_population(population)
    net = get_network(session, network)
    terms = (parse_agreement(agreement) if isinstance(agreement, str) else agreement_dates(*agreement)) \
        if agreement else None
    the_rate = parse_rate(rate) if rate is not None else DEFAULT_RATE
    if session.scalar(select(Partner.id).where(Partner.slug == slug)) is not None:
        raise FieldError("slug", "exists", f"partner '{slug}' already exists", slug=slug)
    partner = Partner(slug=slug, name=name, kind=kind, population=pop, network=net)
    session.add(partner)
    row = None
    if terms:
        row = Agreement(partner=partner, start=terms[0], end=terms[1], rate=the_rate)
        session.add(row)
    session.flush()
    audit.record(runtime, session, actor, "partner.add", slug, network=net.slug, name=name, kind=kind,
                 population=pop, agreement=f"{terms[0]}:{terms[1]}" if terms else None)
    if row is not None:
        _history(session, row, "add", actor, {})
    return partner


def add_agreement(runtime: Runtime, session: Session, partner_slug: str, agreement, rate=None, *,
                  actor: str = "cli", note: str = "") -> Agreement:
    """A new agreement for a partner: ``agreement`` is START:END text or a (start, end) pair."""
    partner = get_partner(session, partner_slug)
    start, end = parse_agreement(agreement) if isinstance(agreement, str) else agreement_dates(*agreement)
    the_rate = parse_rate(rate) if rate is not None else DEFAULT_RATE
    check_overlap(partner, start, end)
    row = Agreement(partner=partner, start=start, end=end, rate=the_rate)
    session.add(row)
    session.flush()
    audit.record(runtime, session, actor, "agreement.add", partner_slug, start=str(start), end=str(end),
                 rate=str(the_rate.normalize()), note=note or None)
    _history(session, row, "add", actor, {}, note)
    return row


def terms_of(row: Agreement) -> dict:
    return {"start": str(row.start), "end": str(row.end), "rate": str(Decimal(row.rate).normalize())}


def _history(session: Session, row: Agreement, kind: str, actor: str, before: dict, note: str = "") -> None:
    from ..db.admin_models import AgreementChange

    session.add(AgreementChange(agreement_id=row.id, kind=kind, actor=actor, before=before, after=terms_of(row),
                                note=note or ""))


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
    #: days of the year covered by an agreement, and the days of that year (pro rata when fewer)
    days: int = 0
    year_days: int = 365

    @property
    def prorated(self) -> bool:
        return self.days < self.year_days


def population_for(partner: Partner, year: int, figures: dict[int, int] | None = None) -> int:
    """The legal population for ``year``: the latest yearly figure up to that year, else the earliest
    recorded, else the partner's population."""
    if not figures:
        return partner.population
    known = [y for y in figures if y <= year]
    return figures[max(known)] if known else figures[min(figures)]


def fees_for_year(session: Session, year: int, network: str | None = None,
                  network_ids: set[int] | frozenset[int] | None = None) -> list[FeeLine]:
    """Each partner's fee for ``year``: due for the days of that year an agreement covers (pro rata)."""
    from ..db.admin_models import PartnerPopulation

    query = select(Partner).options(selectinload(Partner.agreements), selectinload(Partner.network)).order_by(Partner.slug)
    if network:
        query = query.where(Partner.network_id == get_network(session, network).id)
    if network_ids is not None:
        query = query.where(Partner.network_id.in_(network_ids))
    partners = list(session.scalars(query))
    figures: dict[int, dict[int, int]] = {}
    if partners:
        for row in session.scalars(select(PartnerPopulation).where(
                PartnerPopulation.partner_id.in_([p.id for p in partners]))):
            figures.setdefault(row.partner_id, {})[row.year] = row.population
    year_days = days_in_year(year)
    lines = []
    for partner in partners:
        covering = [a for a in partner.agreements if AgreementTerms(a.start, a.end, a.rate).covers_year(year)]
        if not covering:
            continue
        shares = [(Decimal(a.rate), days_covered(a.start, a.end, year)) for a in covering]
        days = min(year_days, sum(d for _, d in shares))
        population = population_for(partner, year, figures.get(partner.id))
        rate = Decimal(covering[-1].rate).normalize()
        lines.append(FeeLine(partner.slug, partner.name, partner.kind, partner.network.slug, population,
                             rate, prorated_fee(population, shares, year_days), days, year_days))
    return lines
