"""The ``broker stats``, ``broker purge`` and ``broker privacy`` commands.

Each is a thin layer over ``services.stats``, ``services.retention`` and
``services.privacy``: the same rules as the staff pages, minus the scoping
(an operator at the console sees everything; every GDPR action is audited).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import InvalidInput
from . import emit, json_option, with_runtime

if TYPE_CHECKING:
    from ..runtime import Runtime


def _write(data: bytes, output: str | None, *, binary: bool = False) -> None:
    if output:
        try:
            Path(output).write_bytes(data)
        except OSError as exc:
            raise InvalidInput(f"cannot write {output}: {exc.strerror}") from None
        click.echo(f"wrote {output} ({len(data)} bytes)", err=True)
        return
    if binary:
        raise InvalidInput("an XLSX file is binary: give --output FILE")
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


def _period(month: str | None, year: str | None):
    from ..services.stats.months import Month, months_of_year, parse_year

    if bool(month) == bool(year):
        raise InvalidInput("give either --month YYYY-MM or --year YYYY")
    if month:
        found = Month.parse(month)
        return [found], str(found)
    the_year = parse_year(year)
    return months_of_year(the_year), str(the_year)


@click.group()
def stats() -> None:
    """Monthly usage statistics per network, library and supplier."""


@stats.command("aggregate")
@click.option("--month", default=None, help="Only this month (YYYY-MM); default: every month that changed.")
@json_option
@with_runtime
def aggregate_command(runtime: Runtime, session, month, as_json):
    """Compute the monthly figures from the raw events (idempotent; safe to run from cron, even twice at once)."""
    from ..services.stats import Month, aggregate
    from . import Progress

    with Progress("Months", quiet=as_json) as progress:
        results = aggregate(runtime, Month.parse(month) if month else None, progress=progress)
    emit([r.__dict__ for r in results], as_json, columns=("month", "status", "usage_events", "accesses", "refusals",
                                                         "final", "seconds"))


@stats.command("show")
@click.option("--month", required=True, help="YYYY-MM")
@click.option("--network", default=None, help="Network slug.")
@click.option("--library", default=None, help="Library code.")
@json_option
@with_runtime
def show_command(runtime: Runtime, session, month, network, library, as_json):
    """A month's figures per supplier."""
    from ..services.stats import Month, figures, select_scope
    from ..services.stats.exports import month_document

    selection = select_scope(session, network=network, library=library)
    found = figures(session, selection, [Month.parse(month)])[0]
    if as_json:
        emit(month_document(found), True)
        return
    if not found.aggregated:
        click.echo(f"{month}: not aggregated yet (run broker stats aggregate)", err=True)
    emit([{"supplier": s.slug, "accesses": s.accesses, "unique_patrons": s.unique_patrons, "refusals": s.refusals}
          for s in found.suppliers], False)


@stats.command("export")
@click.option("--month", default=None, help="YYYY-MM")
@click.option("--year", default=None, help="YYYY: every month of the year so far.")
@click.option("--network", default=None, help="Network slug.")
@click.option("--library", default=None, help="Library code.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "xlsx"]), required=True)
@click.option("--table", type=click.Choice(["usage", "refusals", "libraries"]), default="usage", show_default=True,
              help="Which table a CSV holds (XLSX and JSON hold them all).")
@click.option("--csv-style", "csv_style", type=click.Choice(["fr", "en"]), default="fr", show_default=True,
              help="CSV convention: fr (';', French headings and reasons) or en (',', English keys and codes).")
@click.option("--output", "-o", default=None, help="File to write (default: standard output; required for xlsx).")
@click.option("--report", default=None, type=click.Choice(["dr", "tr", "ir"], case_sensitive=False),
              help="Instead of the figures: the suppliers' databases (dr), titles (tr) or items (ir) credited to the "
                   "library or network, most used first (CSV, JSON or XLSX).")
@click.option("--metric", default=None, help="With --report: the COUNTER metric to rank by (Total_Item_Requests).")
@click.option("--limit", default=None, type=click.IntRange(1, 100000), help="With --report: the first N lines only.")
@with_runtime
def export_command(runtime: Runtime, session, month, year, network, library, fmt, table, csv_style, output, report, metric,
                   limit):
    """Export the figures as CSV, JSON or XLSX (a month without data gives an empty, valid file)."""
    from ..services import csvstyle
    from ..services.stats import figures, select_scope
    from ..services.stats.exports import render

    months, period = _period(month, year)
    selection = select_scope(session, network=network, library=library)
    if report is not None:
        if table != "usage":
            raise InvalidInput("--table goes without --report (a titles export is one table)")
        _write(_titles_export(session, selection, months, period, report, metric, limit, fmt,
                              csvstyle.style(csv_style)), output, binary=fmt == "xlsx")
        return
    if metric is not None or limit is not None:
        raise InvalidInput("--metric and --limit go with --report dr|tr|ir")
    _write(render(figures(session, selection, months), selection, fmt, table, csvstyle.style(csv_style)), output,
           binary=fmt == "xlsx")


def _titles_export(session, selection, months, period, report, metric, limit, fmt, how) -> bytes:
    from ..services.counter import titles

    if selection.library is None and selection.network is None:
        raise InvalidInput("--report needs --library CODE or --network SLUG")
    report_id = titles.report_arg(report)
    metric = titles.metric_arg(report_id, metric)
    libraries = [selection.library] if selection.library is not None else \
        titles.network_libraries(session, selection.network.id)
    lines = titles.library_titles(session, libraries, [str(m) for m in months], report_id, metric=metric,
                                  limit=limit)
    if fmt == "json":
        return json.dumps(titles.document(lines, report_id, selection=selection.slug, period=period, metric=metric),
                          ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    if fmt == "xlsx":
        return titles.to_xlsx(lines, report_id, selection=selection.slug, period=period, label=selection.label)
    return titles.to_csv(lines, report_id, selection=selection.slug, period=period, how=how)


@stats.command("counter")
@click.option("--month", default=None, help="YYYY-MM")
@click.option("--year", default=None, help="YYYY")
@click.option("--network", default=None)
@click.option("--library", default=None)
@click.option("--output", "-o", default=None)
@with_runtime
def counter_command(runtime: Runtime, session, month, year, network, library, output):
    """The figures as a COUNTER R5-shaped platform report (JSON)."""
    from ..services.stats import figures, select_scope
    from ..services.stats.counter import platform_report

    months, _ = _period(month, year)
    selection = select_scope(session, network=network, library=library)
    report = platform_report(figures(session, selection, months), selection)
    _write(json.dumps(report, ensure_ascii=False, indent=2).encode() + b"\n", output)


@stats.command("report")
@click.option("--partner", required=True, help="Partner slug (commune, EPCI or EPIC).")
@click.option("--year", required=True, help="YYYY")
@click.option("--output", "-o", default=None, help="HTML file to write (open it in a browser and print it).")
@with_runtime
def report_command(runtime: Runtime, session, partner, year, output):
    """The yearly report of a partner for its council: fee, members, accesses per supplier (printable HTML)."""
    from flask import current_app

    from ..services.stats import parse_year
    from ..services.stats.report import get_partner, partner_report
    from ..web.stats.report_page import render_report

    data = partner_report(session, get_partner(session, partner), parse_year(year))
    with current_app.test_request_context("/"):
        html = render_report(data)
    _write(html.encode("utf-8"), output)


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Only count what would be removed.")
@json_option
@with_runtime
def purge(runtime: Runtime, session, dry_run, as_json):
    """Apply the retention settings: old raw events, refused or abandoned registrations, ended memberships."""
    from ..services.retention import purge as run_purge

    report = run_purge(runtime, dry_run=dry_run)
    data = report.as_dict()
    if not as_json:
        data["months_sealed"] = ", ".join(data["months_sealed"]) or "-"
    emit(data, as_json)


@click.group()
def privacy() -> None:
    """Patrons' rights (GDPR): export what Sésame holds, the record of processing."""


@privacy.command("export")
@click.argument("library")
@click.argument("card")
@click.option("--output", "-o", default=None, help="JSON file to write (default: standard output).")
@click.option("--actor", default="cli", show_default=True, help="Who answers the request (written to the audit log).")
@with_runtime
def privacy_export(runtime: Runtime, session, library, card, output, actor):
    """Everything Sésame holds about the patron with this card, to answer their request (audited)."""
    from ..services.privacy import export_for_staff

    data = export_for_staff(runtime, session, library, card, actor=actor[:254] or "cli")
    _write(json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8") + b"\n", output)


@privacy.command("record")
@click.option("--output", "-o", default=None)
@with_runtime
def privacy_record(runtime: Runtime, session, output):
    """The record of processing with this instance's retention settings and suppliers (Markdown)."""
    from ..services.privacy_record import instance_document

    _write(instance_document(runtime, session).encode("utf-8"), output)
