"""``broker suppliers sushi|members|map`` and ``broker stats harvest``: suppliers' COUNTER usage."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from ..cli import emit, json_option, with_runtime
from ..cli.stats_commands import stats
from ..errors import InvalidInput

if TYPE_CHECKING:
    from ..runtime import Runtime


@click.group()
def suppliers() -> None:
    """Suppliers (merged into ``broker suppliers``)."""


@suppliers.command("sushi")
@click.argument("slug")
@click.option("--url", required=True, help="The SUSHI server's base URL (…/r51 or …/r5).")
@click.option("--customer-id", required=True, help="The network's Customer_ID at the supplier.")
@click.option("--requestor-id", default="", help="Requestor_ID, when the supplier gives one.")
@click.option("--api-key-env", default=None, metavar="VAR",
              help="Name of the environment variable holding the API key (never on the command line).")
@click.option("--release", type=click.Choice(["5", "5.1"]), default="5.1", show_default=True)
@click.option("--platform", default="", help="Platform name, for servers that host several.")
@click.option("--actor", default="cli", show_default=True)
@json_option
@with_runtime
def sushi_command(runtime: Runtime, session, slug, url, customer_id, requestor_id, api_key_env, release, platform, actor,
                  as_json):
    """Set the supplier's SUSHI credentials (the API key is stored encrypted)."""
    from ..services.counter import accounts
    from ..services.suppliers import get_supplier

    api_key = None
    if api_key_env is not None:
        if api_key_env not in os.environ:
            raise InvalidInput(f"--api-key-env: the environment variable {api_key_env!r} is not set")
        api_key = os.environ[api_key_env]
    supplier = get_supplier(session, slug)
    account = accounts.set_account(runtime, session, supplier, url=url, customer_id=customer_id,
                                   requestor_id=requestor_id, api_key=api_key, release=release, platform=platform,
                                   actor=actor)
    data = accounts.describe(session, supplier, account)
    data.pop("members")
    if not as_json:
        data["reports"] = ", ".join(f"{r['report']} " + ("?" if r["offered"] is None else
                                                         (r["last_status"] or "-") if r["offered"] else "not offered")
                                    for r in data["reports"])
    emit(data, as_json)


@suppliers.command("members")
@click.argument("slug")
@click.option("--refresh", is_flag=True, help="Ask the supplier's /members first.")
@json_option
@with_runtime
def members_command(runtime: Runtime, session, slug, refresh, as_json):
    """The supplier's consortium members and the libraries they are mapped to."""
    from ..services.counter import accounts, members
    from ..services.suppliers import get_supplier

    supplier = get_supplier(session, slug)
    account = accounts.account_of(session, supplier)
    if account is None:
        raise InvalidInput(f"supplier '{slug}' has no SUSHI credentials (broker suppliers sushi {slug} …)")
    if refresh:
        members.refresh(runtime, session, supplier, account)
    rows = accounts.describe(session, supplier, account)["members"]
    emit(rows, as_json, columns=("customer_id", "name", "suggested_library", "library"))


@suppliers.command("map")
@click.argument("slug")
@click.argument("customer_id")
@click.argument("library", required=False)
@click.option("--none", "unmap", is_flag=True, help="Remove the mapping.")
@click.option("--actor", default="cli", show_default=True)
@json_option
@with_runtime
def map_command(runtime: Runtime, session, slug, customer_id, library, unmap, actor, as_json):
    """Confirm that the member CUSTOMER_ID is LIBRARY (default: the suggested one)."""
    from ..services.counter import members
    from ..services.suppliers import get_supplier

    supplier = get_supplier(session, slug)
    member = members.confirm(runtime, session, supplier, customer_id, None if unmap else (library or ""),
                             actor=actor)
    emit(members.member_json(session, member), as_json)


@stats.command("harvest")
@click.option("--supplier", default=None, help="Only this supplier (slug).")
@click.option("--month", default=None, help="Only this month (YYYY-MM); default: the months not yet complete.")
@json_option
@with_runtime
def harvest_command(runtime: Runtime, session, supplier, month, as_json):
    """Fetch the suppliers' COUNTER reports over SUSHI: PR, and DR, TR, IR when offered (idempotent).

    Exit 1 when a supplier failed (credentials refused, server fault, a report rejected).
    """
    from ..services.counter.harvest import harvest
    from ..services.stats import Month

    target = Month.parse(month) if month else None
    if target is not None and not target.is_over():
        raise InvalidInput(f"month {target}: not over yet, no supplier reports it")
    progress = None
    if not as_json and sys.stderr.isatty():
        def progress(text: str) -> None:
            click.echo(text, err=True)
    session.commit()
    results = harvest(runtime, supplier=supplier, month=target, progress=progress)
    emit([r.as_dict() for r in results] if as_json else [r.row() for r in results], as_json,
         columns=("supplier", "status", "stored", "pending", "reports", "error"))
    if any(r.failed for r in results):
        sys.exit(1)


@stats.command("import-counter")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--supplier", required=True, help="Supplier slug.")
@click.option("--library", default=None, help="The library the file is for (default: the whole network).")
@json_option
@with_runtime
def import_counter_command(runtime: Runtime, session, file, supplier, library, as_json):
    """Import a COUNTER R5.0/R5.1 tabular report (CSV/TSV/XLSX): platform (PR), database (DR), title (TR) or item (IR).

    For the platform, a simple CSV with the headings month,library,metric,count is read too. A file that does not
    parse is refused with its line (exit 2) and nothing is imported.
    """
    from pathlib import Path

    from ..services.counter.files import MAX_FILE, import_file
    from ..services.suppliers import get_supplier

    try:
        with Path(file).open("rb") as handle:
            data = handle.read(MAX_FILE + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read {file}: {exc.strerror}") from None
    rows = import_file(runtime, session, get_supplier(session, supplier), data, library=library)
    emit(rows, as_json)
