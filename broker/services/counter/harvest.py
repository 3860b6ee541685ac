"""``broker stats harvest``: each supplier's COUNTER reports for every month not yet complete.

The platform report (PR) is always asked; the database (DR), title (TR) and
item (IR) reports too when the server lists them at ``/reports``.

Per supplier, in a transaction of its own (a failing supplier never stops the
others): ``/members`` is read; a supplier whose members other than the customer
itself are mapped to libraries is asked one report per mapped member, any other
one report for the network. A month is stored whole (every customer's report)
or not at all; a month already stored is not asked again, so harvesting twice
changes nothing. Each report of a month is stored or refused on its own: a
refused title report does not undo the platform report. What the server
answers decides the rest (see :mod:`.sushi`); how each report's last harvest
went is kept in ``sushi_report_states`` for the supplier's page.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ... import clock
from ...db.counter_models import (
    ITEM_REPORTS,
    CounterItem,
    CounterMetric,
    CounterReport,
    SushiAccount,
    SushiMember,
    SushiReportState,
)
from ...db.models import Supplier
from ...errors import NotFound
from .. import audit
from ..stats.months import Month
from . import members as member_service
from . import sushi
from .accounts import api_key
from .item_reports import item_row, read_item_report
from .reports import read_platform_report

if TYPE_CHECKING:
    from ...runtime import Runtime

#: months looked at when none is named: the last twelve that are over
WINDOW = 12
#: wait after 1010/1011/1020 when the server gives no Retry-After
BACKOFF = timedelta(hours=1)
#: every report Sésame harvests, the platform report first
REPORTS = ("PR", *ITEM_REPORTS)


@dataclass
class ReportHarvest:
    """What one report (DR, TR or IR) gave over the months asked."""

    status: str = "ok"  # ok, pending, rejected, unsupported
    stored: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    error: str = ""

    def as_dict(self) -> dict:
        return {"status": self.status, "stored": self.stored, "pending": self.pending, "rejected": self.rejected,
                "error": self.error}


@dataclass
class SupplierHarvest:
    supplier: str
    status: str = "ok"  # ok, pending, backoff, credentials, fault, rejected, mapping, skipped
    stored: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    error: str = ""
    #: the database, title and item reports the server offers: what each gave
    reports: dict[str, ReportHarvest] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status in ("credentials", "fault", "rejected")

    def as_dict(self) -> dict:
        return {"supplier": self.supplier, "status": self.status, "stored": self.stored, "pending": self.pending,
                "rejected": self.rejected, "error": self.error,
                "reports": {rid: r.as_dict() for rid, r in self.reports.items()}}

    def row(self) -> dict:
        return {"supplier": self.supplier, "status": self.status, "stored": ", ".join(self.stored) or "-",
                "pending": ", ".join(self.pending) or "-",
                "reports": ", ".join(f"{rid} {r.status}" + (f" ({len(r.stored)})" if r.stored else "")
                                     for rid, r in self.reports.items()) or "-",
                "error": self.error or "-"}


def months_to_harvest(month: Month | None) -> list[Month]:
    if month is not None:
        return [month]
    return Month.current(clock.utcnow()).previous().back(WINDOW)


def harvest(runtime: Runtime, *, supplier: str | None = None, month: Month | None = None,
            progress: Callable[[str], None] | None = None) -> list[SupplierHarvest]:
    """Harvest every supplier with SUSHI credentials (or only ``supplier``); one result per supplier."""
    with runtime.db.session() as session:
        query = (select(Supplier.slug).join(SushiAccount, SushiAccount.supplier_id == Supplier.id)
                 .order_by(Supplier.slug))
        if supplier is not None:
            if session.scalar(select(Supplier.id).where(Supplier.slug == supplier)) is None:
                raise NotFound(f"unknown supplier '{supplier}'", code="unknown_supplier")
            query = query.where(Supplier.slug == supplier)
        slugs = list(session.scalars(query))
        if supplier is not None and not slugs:
            raise NotFound(f"supplier '{supplier}' has no SUSHI credentials (broker suppliers sushi {supplier} …)",
                           code="no_sushi")
    months = months_to_harvest(month)
    results = []
    for index, slug in enumerate(slugs, start=1):
        if progress:
            progress(f"[{index}/{len(slugs)}] {slug}: {months[0]}…{months[-1]}")
        with runtime.db.session() as session:
            result = _harvest_supplier(runtime, session, slug, months, progress)
        results.append(result)
        if progress:
            progress(f"[{index}/{len(slugs)}] {slug}: {result.status}"
                     + (f", stored {', '.join(result.stored)}" if result.stored else "")
                     + (f" — {result.error}" if result.error else ""))
    return results


def _harvest_supplier(runtime: Runtime, session: Session, slug: str, months: list[Month],
                      progress: Callable[[str], None] | None) -> SupplierHarvest:
    supplier = session.scalar(select(Supplier).where(Supplier.slug == slug))
    account = session.scalar(select(SushiAccount).where(SushiAccount.supplier_id == supplier.id).with_for_update())
    result = SupplierHarvest(slug)
    now = clock.utcnow()
    if account.retry_after is not None and clock.as_utc(account.retry_after) > now:
        result.status = "backoff"
        result.error = f"the server asked to wait until {clock.as_utc(account.retry_after).isoformat()}"
        return result
    creds = sushi.Credentials(account.url, account.customer_id, account.requestor_id, api_key(runtime, account),
                              account.platform)
    try:
        listed = member_service.refresh(runtime, session, supplier, account)
        customers = _customers(session, supplier, account, listed, result)
        offered = _offered(session, supplier, creds)
        result.reports = {rid: ReportHarvest() for rid in ITEM_REPORTS if rid in offered}
        for month in months:
            if not _complete(session, supplier, month, customers):
                _harvest_month(session, supplier, account, creds, month, customers, result)
                if progress:
                    progress(f"  {slug} {month}: " + ("stored" if str(month) in result.stored else
                                                     "pending" if str(month) in result.pending else "rejected"))
            for rid, outcome in result.reports.items():
                if outcome.status != "unsupported" and not _complete(session, supplier, month, customers, rid):
                    _harvest_item_month(session, supplier, account, creds, month, customers, rid, outcome)
                    if progress:
                        progress(f"  {slug} {month} {rid}: " + (
                            "stored" if str(month) in outcome.stored else "pending" if str(month) in outcome.pending
                            else "rejected" if str(month) in outcome.rejected else outcome.status))
    except sushi.SushiProblem as problem:
        result.status = problem.kind if problem.kind in ("credentials", "backoff") else "fault"
        result.error = problem.message
        if problem.kind == "backoff":
            account.retry_after = now + (timedelta(seconds=min(problem.retry_after, 86400))
                                         if problem.retry_after else BACKOFF)
    for rid, outcome in result.reports.items():
        if outcome.status == "ok" and outcome.rejected:
            outcome.status = "rejected"
            outcome.error = "; ".join(f"{rid} {m}: {reason}" for m, reason in outcome.rejected.items())
        elif outcome.status == "ok" and outcome.pending:
            outcome.status = "pending"
    if result.status == "ok" and (result.rejected or any(r.rejected for r in result.reports.values())):
        result.status = "rejected"
        result.error = "; ".join([f"PR {m}: {reason}" for m, reason in result.rejected.items()]
                                 + [r.error for r in result.reports.values() if r.rejected])
    elif result.status == "ok" and (result.pending or any(r.pending for r in result.reports.values())):
        result.status = "pending"
    account.last_status = result.status
    account.last_error = result.error[:2000]
    account.last_harvest_at = now
    _record_states(session, supplier, result, now)
    audit.record(runtime, session, "harvest", "supplier.harvest", slug, status=result.status, stored=result.stored,
                 reports={rid: r.status for rid, r in result.reports.items()},
                 error=result.error[:500], outcome="ok" if not result.failed else "failed")
    return result


def _customers(session, supplier, account, listed, result) -> list[tuple[str, int | None]]:
    """``[(customer_id, library_id or None)]``: the mapped members, or the network's customer alone."""
    members = list(session.scalars(select(SushiMember).where(SushiMember.supplier_id == supplier.id)))
    if not members:
        return [(account.customer_id, None)]
    mapped = [(m.customer_id, m.library_id) for m in members if m.library_id is not None]
    unmapped = [m.customer_id for m in members if m.library_id is None]
    if unmapped:
        result.error = (f"{len(unmapped)} member(s) not mapped to a library yet "
                        f"(broker suppliers members {supplier.slug}): {', '.join(sorted(unmapped)[:5])}")
    if not mapped:
        raise sushi.SushiProblem("fault", result.error or "no member mapped to a library")
    return mapped


def _offered(session, supplier, creds: sushi.Credentials) -> set[str]:
    """The reports the server lists at ``/reports`` (PR always); what was known before when it lists none."""
    try:
        listed = sushi.get(creds, "reports")
    except sushi.SushiProblem as problem:
        if problem.kind in ("credentials", "backoff"):
            raise
        listed = None
    states = {s.report_id: s for s in session.scalars(select(SushiReportState).where(
        SushiReportState.supplier_id == supplier.id))}
    if isinstance(listed, list):
        ids = {str(e.get("Report_ID", "")).upper() for e in listed if isinstance(e, dict)}
        offered = {"PR"} | {rid for rid in ITEM_REPORTS if rid in ids}
        for rid in REPORTS:
            state = states.get(rid)
            if state is None:
                state = states[rid] = SushiReportState(supplier_id=supplier.id, report_id=rid, last_status="",
                                                       last_error="")
                session.add(state)
            state.offered = rid in offered
        session.flush()
        return offered
    return {"PR"} | {rid for rid, s in states.items() if s.offered}


def _record_states(session, supplier, result: SupplierHarvest, now) -> None:
    """Each report's outcome, for the supplier's page (the supplier-wide problem for those it stopped)."""
    states = {s.report_id: s for s in session.scalars(select(SushiReportState).where(
        SushiReportState.supplier_id == supplier.id))}
    pr = states.get("PR")
    if pr is None:
        pr = states["PR"] = SushiReportState(supplier_id=supplier.id, report_id="PR", offered=True)
        session.add(pr)
    if result.status in ("credentials", "backoff", "fault"):
        pr.last_status, pr.last_error = result.status, result.error[:2000]
    elif result.rejected:
        pr.last_status = "rejected"
        pr.last_error = "; ".join(f"PR {m}: {reason}" for m, reason in result.rejected.items())[:2000]
    else:
        pr.last_status, pr.last_error = ("pending" if result.pending else "ok"), ""
    pr.last_harvest_at = now
    for rid, outcome in result.reports.items():
        state = states.get(rid)
        if state is None:
            continue
        if result.status in ("credentials", "backoff", "fault") and outcome.status == "ok":
            state.last_status, state.last_error = result.status, result.error[:2000]
        else:
            state.last_status, state.last_error = outcome.status, outcome.error[:2000]
        state.last_harvest_at = now
    session.flush()


def _complete(session, supplier, month: Month, customers, report_id: str = "PR") -> bool:
    stored = set(session.scalars(select(CounterReport.customer_id).where(
        CounterReport.supplier_id == supplier.id, CounterReport.month == str(month),
        CounterReport.report_id == report_id,
        CounterReport.final.is_(True))))
    return all(cid in stored for cid, _ in customers)


def _month_dates(month: Month) -> dict[str, str]:
    """The SUSHI parameters of a whole month."""
    last_day = calendar.monthrange(month.year, month.month)[1]
    return {"begin_date": f"{month}-01", "end_date": f"{month}-{last_day:02d}"}


def _fetch_month(account, creds, month: Month, customers, outcome: SupplierHarvest | ReportHarvest,
                 read: Callable[[sushi.Credentials], tuple[str, dict]], *, unsupported_ends: bool = False) -> list | None:
    """Every customer's report of ``month``, as ``read`` gets it: (customer, library, release, content, status) each.

    None when the server has one still pending or rejects one (noted in ``outcome``; with ``unsupported_ends``,
    also when it does not support the report): the month then stays as it was stored.
    """
    fetched = []
    for cid, library_id in customers:
        one = sushi.Credentials(creds.url, cid, creds.requestor_id, creds.api_key, creds.platform)
        try:
            release, content = read(one)
            status = "complete"
        except sushi.SushiProblem as problem:
            if problem.kind == "no_usage":
                release, content, status = account.release, {}, "no_usage"
            elif problem.kind == "pending":
                outcome.pending.append(str(month))
                return None
            elif problem.kind == "rejected":
                where = f"{cid}: " if len(customers) > 1 else ""
                outcome.rejected[str(month)] = where + problem.message
                return None
            elif problem.kind == "unsupported" and unsupported_ends:
                outcome.status, outcome.error = "unsupported", problem.message
                return None
            else:
                raise
        fetched.append((cid, library_id, release, content, status))
    return fetched


def _drop_stored(session, supplier, month: Month, customer_id: str, report_id: str) -> None:
    """Delete the stored report that a new harvest of the same month, customer and report replaces."""
    old = session.scalar(select(CounterReport).where(
        CounterReport.supplier_id == supplier.id, CounterReport.month == str(month),
        CounterReport.customer_id == customer_id, CounterReport.report_id == report_id))
    if old is not None:
        session.delete(old)
        session.flush()


def _harvest_month(session, supplier, account, creds, month: Month, customers, result: SupplierHarvest) -> None:
    params = _month_dates(month)
    if account.release == "5":
        params["attributes_to_show"] = "Data_Type|Access_Method"

    def read(one: sushi.Credentials) -> tuple[str, dict]:
        return read_platform_report(sushi.get(one, "reports/pr", params), month=str(month),
                                    customer_id=one.customer_id, platform=creds.platform)

    fetched = _fetch_month(account, creds, month, customers, result, read)
    if fetched is None:
        return
    with session.begin_nested():  # the month whole, or nothing of it
        for cid, library_id, release, totals, status in fetched:
            _drop_stored(session, supplier, month, cid, "PR")
            session.add(CounterReport(supplier_id=supplier.id, month=str(month), customer_id=cid,
                                      library_id=library_id, report_id="PR", release=release,
                                      platform=creds.platform, source="sushi", status=status,
                                      harvested_at=clock.utcnow(), final=True,
                                      metrics=[CounterMetric(metric=k, count=v) for k, v in sorted(totals.items())]))
        session.flush()
    result.stored.append(str(month))


def _item_params(account, month: Month, report_id: str) -> dict[str, str]:
    params = {**_month_dates(month),
              # only Regular access is counted: the access method is shown so that TDM can be left out
              "attributes_to_show": "Data_Type|Access_Method" if account.release == "5" else "Access_Method"}
    if report_id == "IR":
        params["include_parent_details"] = "True"
    return params


def _harvest_item_month(session, supplier, account, creds, month: Month, customers, report_id: str,
                        outcome: ReportHarvest) -> None:
    """One month of a DR, TR or IR: every customer's report stored, or none (the last good one stays)."""

    def read(one: sushi.Credentials) -> tuple[str, dict]:
        data = sushi.get(one, f"reports/{report_id.lower()}", _item_params(account, month, report_id),
                         max_bytes=sushi.ITEM_MAX_BYTES, timeout=sushi.ITEM_TIMEOUT)
        return read_item_report(data, report_id, month=str(month), customer_id=one.customer_id,
                                platform=creds.platform)

    fetched = _fetch_month(account, creds, month, customers, outcome, read, unsupported_ends=True)
    if fetched is None:
        return
    with session.begin_nested():  # the month whole, or nothing of it
        for cid, library_id, release, items, status in fetched:
            _drop_stored(session, supplier, month, cid, report_id)
            report = CounterReport(supplier_id=supplier.id, month=str(month), customer_id=cid, library_id=library_id,
                                   report_id=report_id, release=release, platform=creds.platform, source="sushi",
                                   status=status, harvested_at=clock.utcnow(), final=True)
            session.add(report)
            session.flush()
            rows = [item_row(report.id, key, usage) for key, usage in items.items() if usage.metrics]
            for start in range(0, len(rows), 5000):
                session.execute(insert(CounterItem), rows[start:start + 5000])
        session.flush()
    outcome.stored.append(str(month))
