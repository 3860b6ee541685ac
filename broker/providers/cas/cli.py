"""``broker suppliers add-cas``: register a supplier as a CAS service."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ...cli import emit, json_option, with_runtime
from ...services.suppliers import RELEASABLE
from ..kit import supplier_options, suppliers_group
from .services import register

if TYPE_CHECKING:
    from ...runtime import Runtime


@click.command("add-cas")
@supplier_options(click.option("--service-pattern", "patterns", multiple=True, required=True,
                               help="Regular expression a service URL must match entirely (repeatable)."))
@click.option("--login-url", default="", help="Where /go/SLUG starts (a service URL, or the supplier's login page).")
@click.option("--release", default="", help=f"Comma-separated, among {', '.join(RELEASABLE)}.")
@click.option("--single-logout", is_flag=True,
              help="POST a CAS logoutRequest to the service URL when a patron's Sésame session ends.")
@json_option
@with_runtime
def add_cas(runtime: Runtime, session, slug, patterns, networks, name, login_url, release, single_logout, as_json):
    """Register SLUG as a CAS service: only URLs matching a pattern get tickets."""
    row = register(runtime, session, slug, patterns=patterns, networks=networks, name=name, login_url=login_url,
                   release=release or None, single_logout=single_logout)
    data = {"slug": row.slug, "name": row.name, "protocol": row.protocol,
            "service_patterns": row.config["cas"]["service_patterns"],
            "networks": [n.slug for n in row.networks], "release": list(row.release or []),
            "single_logout": bool(row.config["cas"].get("single_logout"))}
    if not as_json:
        data = {k: (" ".join(v) if isinstance(v, list) else v) for k, v in data.items()}
    emit(data, as_json)


suppliers = suppliers_group(add_cas)
