"""Editing partners and their agreements: amendments, ends, yearly populations, and the "ending soon" notice.

The staff pages, the JSON API and the CLI all go through these functions (and
:mod:`broker.services.network` for creation), so the same checks and the same
audit entries apply whichever way a change comes. Input errors are
:class:`FieldError`\\ s naming the field.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from ..db.admin_models import AgreementChange, AgreementNotice, PartnerPopulation
from ..db.models import Agreement, Network, Partner, StaffRole, StaffUser
from ..errors import NotFound
from . import audit, network, validation
from .field_errors import FieldError

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger("broker.partners")

#: an agreement is "ending soon" (flagged, and the admins e-mailed) this many months before its end
NOTICE_MONTHS = 2
EDITABLE = ("name", "kind", "population", "population_year")


def months_before(day: date, months: int) -> date:
    """The same day ``months`` earlier (the month's last day when it has fewer days)."""
    month = day.month - months
    year = day.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover


def parse_year(value) -> int:
    text = str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    if not text.isdigit() or not 1900 <= int(text) <= 2200:
        raise FieldError("population_year", "bad_year", f"year {value!r}: expected a year between 1900 and 2200")
    return int(text)


def load_partner(session: Session, slug: str) -> Partner:
    partner = session.scalar(select(Partner).where(Partner.slug == slug).options(
        selectinload(Partner.agreements), selectinload(Partner.network), selectinload(Partner.libraries)))
    if partner is None:
        raise NotFound(f"unknown partner '{slug}'", code="unknown_partner")
    return partner


def populations(session: Session, partner: Partner) -> dict[int, int]:
    rows = session.scalars(select(PartnerPopulation).where(PartnerPopulation.partner_id == partner.id))
    return {r.year: r.population for r in rows}


# -- state -----------------------------------------------------------------------------
@dataclass(frozen=True)
class PartnerState:
    #: in_force | ending_soon | ended | future | none
    state: str
    current: Agreement | None  # in force today, or the last one, or the next one


def state_of(partner: Partner, day: date) -> PartnerState:
    """The partner's agreements as they stand on ``day`` (the runtime's today)."""
    rows = sorted(partner.agreements, key=lambda a: a.start)
    current = next((a for a in rows if a.start <= day <= a.end), None)
    if current is not None:
        follows = any(a.start > current.end for a in rows)
        soon = not follows and months_before(current.end, NOTICE_MONTHS) <= day
        return PartnerState("ending_soon" if soon else "in_force", current)
    future = [a for a in rows if a.start > day]
    if future:
        return PartnerState("future", future[0])
    if rows:
        return PartnerState("ended", rows[-1])
    return PartnerState("none", None)


def history(session: Session, partner: Partner) -> dict[int, list[AgreementChange]]:
    ids = [a.id for a in partner.agreements]
    out: dict[int, list[AgreementChange]] = {i: [] for i in ids}
    if ids:
        for row in session.scalars(select(AgreementChange).where(AgreementChange.agreement_id.in_(ids))
                                   .order_by(AgreementChange.id)):
            out[row.agreement_id].append(row)
    return out


# -- edits -----------------------------------------------------------------------------
def edit_partner(runtime: Runtime, session: Session, partner: Partner, *, actor: str, name=None, kind=None,
                 population=None, population_year=None) -> dict:
    """Change a partner's name, kind or legal population (for a year, this one by default).

    Every value is checked before anything changes; the audit entry holds the
    values before and after. Returns the changed fields ({} when nothing changed).
    """
    new: dict = {}
    if name is not None:
        new["name"] = network.parse_name(name)
    if kind is not None:
        new["kind"] = network.parse_kind(kind)
    year = parse_year(population_year) if population_year not in (None, "") else None
    if population is not None:
        new["population"] = network.parse_population(population)
        year = year or runtime.clock.today().year
    elif year is not None:
        raise FieldError("population", "required", "population: required with a year")
    before = {"name": partner.name, "kind": partner.kind}
    changed = {k: v for k, v in new.items() if k != "population" and before[k] != v}
    figures = populations(session, partner)
    if "population" in new:
        old = network.population_for(partner, year, figures)
        if old != new["population"]:
            if not figures and year is not None:
                # the figure used until now stays the one of the years before
                session.add(PartnerPopulation(partner_id=partner.id, year=year - 1, population=partner.population))
            row = session.scalar(select(PartnerPopulation).where(PartnerPopulation.partner_id == partner.id,
                                                                 PartnerPopulation.year == year))
            if row is None:
                session.add(PartnerPopulation(partner_id=partner.id, year=year, population=new["population"]))
            else:
                row.population = new["population"]
            figures[year] = new["population"]
            if year >= max(figures):
                partner.population = new["population"]
            changed["population"] = new["population"]
            before["population"] = old
    for key in ("name", "kind"):
        if key in changed:
            setattr(partner, key, changed[key])
    if changed:
        session.flush()
        audit.record(runtime, session, actor, "partner.edit", partner.slug,
                     before={k: before[k] for k in changed}, after=changed,
                     **({"year": year} if "population" in changed else {}))
    return changed


def agreement_of(partner: Partner, agreement_id) -> Agreement:
    for row in partner.agreements:
        if str(row.id) == str(agreement_id):
            return row
    raise NotFound(f"partner '{partner.slug}' has no agreement {agreement_id!r}", code="unknown_agreement")


def amend_agreement(runtime: Runtime, session: Session, partner: Partner, row: Agreement, *, actor: str, end=None,
                    rate=None, note: str = "") -> Agreement:
    """An amendment (avenant): a new end date and/or rate; the terms before stay in the history."""
    note = _note(note)
    new_end = network._date_field(end, "end", "agreement end") if end not in (None, "") else row.end
    new_rate = network.parse_rate(rate) if rate not in (None, "") else Decimal(row.rate)
    if new_end < row.start:
        raise FieldError("end", "end_before_start",
                         f"agreement {row.start}:{new_end}: the end ({new_end}) is before the start ({row.start})",
                         start=row.start, end=new_end)
    network.check_overlap(partner, row.start, new_end, ignore=row)
    if new_end == row.end and new_rate == Decimal(row.rate):
        raise FieldError("end", "unchanged", "the amendment changes neither the end nor the rate")
    before = network.terms_of(row)
    row.end, row.rate = new_end, new_rate
    session.flush()
    network._history(session, row, "amend", actor, before, note)
    audit.record(runtime, session, actor, "agreement.amend", partner.slug, agreement=row.id, before=before,
                 after=network.terms_of(row), note=note or None)
    return row


def end_agreement(runtime: Runtime, session: Session, partner: Partner, row: Agreement, *, actor: str, on=None,
                  note: str = "") -> Agreement:
    """End an agreement on ``on`` (today by default; never in the past): its patrons keep access until then."""
    note = _note(note)
    today = runtime.clock.today()
    day = network._date_field(on, "end", "end date") if on not in (None, "") else today
    if day < today:
        raise FieldError("end", "end_in_past",
                         f"end date {day}: an agreement cannot end in the past (today is {today})",
                         end=day, today=today)
    if day < row.start:
        raise FieldError("end", "end_before_start",
                         f"agreement {row.start}:{day}: the end ({day}) is before the start ({row.start})",
                         start=row.start, end=day)
    if day > row.end:
        raise FieldError("end", "end_after_end",
                         f"end date {day}: after the agreement's own end ({row.end}); record an amendment instead",
                         end=day, current=row.end)
    if day == row.end:
        raise FieldError("end", "unchanged", f"the agreement already ends on {day}", end=day)
    before = network.terms_of(row)
    row.end = day
    session.flush()
    network._history(session, row, "end", actor, before, note)
    audit.record(runtime, session, actor, "agreement.end", partner.slug, agreement=row.id, before=before,
                 after=network.terms_of(row), note=note or None)
    return row


def set_agreement(runtime: Runtime, session: Session, partner: Partner, start, end, *, actor: str, rate=None,
                  note: str = "") -> tuple[str, Agreement]:
    """``START:END`` from the CLI: amend the agreement that starts on START, else record a new one."""
    first, last = network.agreement_dates(start, end)
    for row in partner.agreements:
        if row.start == first:
            if row.end == last and (rate in (None, "") or network.parse_rate(rate) == Decimal(row.rate)):
                return "unchanged", row
            return "amended", amend_agreement(runtime, session, partner, row, actor=actor, end=last, rate=rate,
                                              note=note)
    return "added", network.add_agreement(runtime, session, partner.slug, (first, last), rate, actor=actor,
                                          note=_note(note))


def _note(note) -> str:
    try:
        return validation.text(note if isinstance(note, str) else "", "note", max_len=500, required=False)
    except Exception as exc:  # InvalidInput: said about the note field
        raise FieldError("note", "bad_note", getattr(exc, "message", str(exc))) from None


# -- agreements ending soon ------------------------------------------------------------------
def ending_soon(session: Session, network_ids, day: date) -> list[tuple[Partner, Agreement]]:
    """Agreements in force on ``day`` that end within NOTICE_MONTHS and are not followed by another one."""
    query = select(Partner).options(selectinload(Partner.agreements), selectinload(Partner.network)) \
        .order_by(Partner.name)
    if network_ids is not None:
        query = query.where(Partner.network_id.in_(list(network_ids)))
    out = []
    for partner in session.scalars(query):
        found = state_of(partner, day)
        if found.state == "ending_soon":
            out.append((partner, found.current))
    return sorted(out, key=lambda pair: pair[1].end)


def network_admins(session: Session, network_id: int) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).join(StaffRole).where(
        StaffRole.role == "admin", StaffRole.network_id == network_id, StaffUser.active.is_(True),
        StaffUser.password_hash.is_not(None)).order_by(StaffUser.email)))


def notify_ending(runtime: Runtime, network_ids=None, day: date | None = None) -> int:
    """E-mail each network's admins once about every agreement ending soon; the number of agreements told.

    Each notice is committed on its own: two processes noticing the same agreement at
    once send it once (the second insert fails on the notice's key and is dropped).
    """
    from ..mail import queue

    day = day or runtime.clock.today()
    with runtime.db.session() as s:
        pending = [(p.id, a.id, a.end) for p, a in ending_soon(s, network_ids, day)
                   if s.get(AgreementNotice, (a.id, a.end)) is None]
    told = 0
    for partner_id, agreement_id, end in pending:
        try:
            with runtime.db.session() as s:
                partner = s.get(Partner, partner_id)
                net = s.get(Network, partner.network_id)
                s.add(AgreementNotice(agreement_id=agreement_id, end=end))
                s.flush()
                admins = network_admins(s, net.id)
                subject = f"Convention de {partner.name} : fin le {end:%d/%m/%Y}"
                body = (f"Bonjour,\n\nLa convention de partenariat de {partner.name} avec {net.name} prend fin "
                        f"le {end:%d/%m/%Y}, dans moins de {NOTICE_MONTHS} mois. La convention prévoit une "
                        f"évaluation avant son terme : c'est le moment de la préparer et, s'il y a lieu, "
                        f"d'enregistrer un avenant ou une nouvelle convention dans l'espace professionnel "
                        f"de Sésame (Partenaires).\n\nSans nouvelle convention, les usagers des bibliothèques "
                        f"de ce partenaire n'auront plus accès aux ressources après le {end:%d/%m/%Y}.\n\n"
                        f"-- \nSésame, {net.name}\n")
                for admin in admins:
                    queue(runtime, s, admin.email, subject, body, network_id=net.id)
                audit.record(runtime, s, "system", "agreement.notice", partner.slug, agreement=agreement_id,
                             end=str(end), recipients=[a.email for a in admins])
            told += 1
        except IntegrityError:  # another process sent it
            log.info("agreement notice already recorded")
    return told
