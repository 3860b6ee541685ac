"""Commands that script a network: networks, partners, libraries, suppliers, memberships, fees, staff."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from .. import localtime
from ..domain.memberships import Transition
from ..domain.patrons import mask_card
from ..services import libraries as libs
from ..services import memberships as members
from ..services import network as net
from ..services import staff as staff_service
from ..services import suppliers as sup
from . import cli, emit, json_option, library_import, with_runtime

if TYPE_CHECKING:
    from ..runtime import Runtime


def _switch_commands(group: click.Group, key: str, switch: Callable[[Runtime, Any, str, bool], dict], *,
                     disable: str, enable: str) -> None:
    """``disable KEY`` and ``enable KEY`` in ``group``: each prints ``switch(runtime, session, key, enabled)``."""
    for name, enabled, text in (("disable", False, disable), ("enable", True, enable)):
        group.add_command(_switch_command(name, key, switch, enabled, text))


def _switch_command(name: str, key: str, switch: Callable[[Runtime, Any, str, bool], dict], enabled: bool,
                    text: str) -> click.Command:
    def command(runtime: Runtime, session, as_json, **given):
        emit(switch(runtime, session, given[key], enabled), as_json)

    return click.command(name, help=text)(click.argument(key)(json_option(with_runtime(command))))


# -- networks -------------------------------------------------------------------------
@cli.group()
def networks() -> None:
    """Library networks."""


@networks.command("add")
@click.argument("slug")
@click.option("--name", required=True)
@click.option("--scope", default="", help="Scope of eduPersonScopedAffiliation (default SLUG.sesame).")
@json_option
@with_runtime
def networks_add(runtime: Runtime, session, slug, name, scope, as_json):
    """Create a network."""
    n = net.add_network(runtime, session, slug, name, scope=scope)
    emit({"slug": n.slug, "name": n.name, "scope": n.scope}, as_json)


@networks.command("list")
@json_option
@with_runtime
def networks_list(runtime: Runtime, session, as_json):
    """List networks."""
    from sqlalchemy import select

    from ..db.models import Network

    rows = [{"slug": n.slug, "name": n.name, "scope": n.scope, "partners": len(n.partners)}
            for n in session.scalars(select(Network).order_by(Network.slug))]
    emit(rows, as_json)


# -- partners -------------------------------------------------------------------------
@cli.group()
def partners() -> None:
    """Partners (communes, EPCI, EPIC) and their agreements."""


@partners.command("add")
@click.argument("slug")
@click.option("--name", required=True)
@click.option("--kind", required=True, type=click.Choice(net.PARTNER_KINDS))
@click.option("--population", required=True, help="Legal population (whole number).")
@click.option("--network", required=True)
@click.option("--agreement", help="YYYY-MM-DD:YYYY-MM-DD")
@click.option("--rate", help="Euros per inhabitant per year (default 0.15).")
@json_option
@with_runtime
def partners_add(runtime: Runtime, session, slug, name, kind, population, network, agreement, rate, as_json):
    """Create a partner, optionally with its agreement."""
    p = net.add_partner(runtime, session, slug, name=name, kind=kind, population=population, network=network,
                        agreement=agreement, rate=rate)
    emit(_partner_row(p, runtime.clock.today()), as_json)


@partners.command("agreement")
@click.argument("slug")
@click.argument("period")
@click.option("--rate")
@with_runtime
def partners_agreement(runtime: Runtime, session, slug, period, rate):
    """Add an agreement YYYY-MM-DD:YYYY-MM-DD to a partner."""
    net.add_agreement(runtime, session, slug, period, rate)
    click.echo(f"agreement {period} added to {slug}")


def _partner_row(p, today) -> dict:
    """A partner for the CLI's output (``active`` on ``today``)."""
    return {"slug": p.slug, "name": p.name, "kind": p.kind, "population": p.population,
            "network": p.network.slug,
            "agreements": [f"{a.start}:{a.end}@{a.rate.normalize()}" for a in p.agreements],
            "active": net.partner_active(p, today)}


@partners.command("list")
@click.option("--network")
@json_option
@with_runtime
def partners_list(runtime: Runtime, session, network, as_json):
    """List partners and their agreements."""
    from sqlalchemy import select

    from ..db.models import Partner

    query = select(Partner).order_by(Partner.slug)
    if network:
        query = query.where(Partner.network_id == net.get_network(session, network).id)
    rows = [_partner_row(p, runtime.clock.today()) for p in session.scalars(query)]
    if not as_json:
        for r in rows:
            r["agreements"] = ", ".join(r["agreements"])
    emit(rows, as_json)


@cli.command("fees")
@click.option("--year", required=True, type=click.IntRange(1900, 2200))
@click.option("--network")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV.")
@json_option
@with_runtime
def fees(runtime: Runtime, session, year, network, as_csv, as_json):
    """Each partner's fee for a year: population × rate, pro rata of the days an agreement covers."""
    lines = net.fees_for_year(session, year, network)
    rows = [{"partner": line.partner, "name": line.name, "kind": line.kind, "network": line.network,
             "days": line.days, "year_days": line.year_days,
             "population": line.population, "rate": str(line.rate), "fee": f"{line.fee:.2f}"} for line in lines]
    if as_csv:
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=["partner", "name", "kind", "network", "days", "year_days",
                                                        "population", "rate", "fee"])
        writer.writeheader()
        writer.writerows(rows)
        return
    if as_json:
        for r, line in zip(rows, lines):
            r["fee"], r["rate"] = line.fee, line.rate  # exact decimals: "fee": 967.80
    emit(rows, as_json)


# -- libraries ------------------------------------------------------------------------
@cli.group()
def libraries() -> None:
    """Libraries and their SIGB connectors."""


@libraries.command("add")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--partner", required=True)
@click.option("--connector", required=True, help="Connector type (see `broker plugins list`).")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE", help="A connector setting (repeatable).")
@click.option("--registration", default="referent", type=click.Choice(libs.REGISTRATION_POLICIES))
@click.option("--commune", default="")
@click.option("--card-case", default="upper", type=click.Choice(libs.CARD_CASES))
@click.option("--contact-email", default="")
@json_option
@with_runtime
def libraries_add(runtime: Runtime, session, code, name, partner, connector, settings, registration, commune, card_case,
                  contact_email, as_json):
    """Create a library with its connector (settings are checked by the connector's model)."""
    lib = libs.add_library(runtime, session, code, name=name, partner=partner, connector=connector,
                           settings=libs.parse_settings(settings), registration=registration, commune=commune,
                           card_case=card_case, contact_email=contact_email)
    emit(_library_row(lib), as_json)


def _library_row(lib) -> dict:
    return {"code": lib.code, "name": lib.name, "commune": lib.commune, "partner": lib.partner.slug,
            "network": lib.partner.network.slug, "connector": lib.connector, "registration": lib.registration,
            "enabled": lib.enabled}


@libraries.command("edit")
@click.argument("code")
@click.option("--name")
@click.option("--commune")
@click.option("--partner", help="Move the library to another partner of its network.")
@click.option("--registration", type=click.Choice(libs.REGISTRATION_POLICIES))
@click.option("--contact-email")
@click.option("--contact-phone")
@click.option("--address")
@click.option("--website")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="A connector setting (repeatable); the others keep their values.")
@json_option
@with_runtime
def libraries_edit(runtime: Runtime, session, code, name, commune, partner, registration, contact_email, contact_phone,
                   address, website, settings, as_json):
    """Change a library (audited with the values before and after; secrets masked)."""
    from ..services import library_admin

    lib = libs.get_library(session, code)
    given = {"name": name, "commune": commune, "partner": partner, "registration": registration,
             "contact_email": contact_email, "contact_phone": contact_phone, "address": address, "website": website}
    changes = {k: v for k, v in given.items() if v is not None}
    if settings:
        changes["settings"] = libs.parse_settings(settings)
    library_admin.edit_library(runtime, session, lib, changes, actor="cli")
    emit(_library_row(lib), as_json)


def _set_library_enabled(runtime: Runtime, session, code: str, enabled: bool) -> dict:
    return _library_row(libs.set_enabled(runtime, session, code, enabled, actor="cli"))


_switch_commands(libraries, "code", _set_library_enabled,
                 disable="Disable a library: its patrons are refused (the page says why); nothing is deleted.",
                 enable="Enable a disabled library again.")


@libraries.command("list")
@click.option("--network")
@json_option
@with_runtime
def libraries_list(runtime: Runtime, session, network, as_json):
    """List libraries."""
    emit([_library_row(lib) for lib in libs.list_libraries(runtime, session, network)], as_json)


# -- memberships ----------------------------------------------------------------------
@cli.group()
def memberships() -> None:
    """Patrons' memberships: import, list, decide."""


@memberships.command("import")
@library_import("Memberships")
def memberships_import(runtime: Runtime, session, library, text, progress) -> int:
    """Import card,email,state rows (all or nothing)."""
    return members.import_rows(runtime, session, library, members.parse_import(text), progress=progress)


def _membership_row(m, zone: str) -> dict:
    return {"id": m.id, "card": mask_card("x" * 8 + m.patron.card_hint) if m.patron.card_hint else "",
            "name": m.patron.display_name or "", "email": m.patron.email or "", "state": m.state,
            "since": localtime.to_local(m.updated_at, zone).date().isoformat() if m.updated_at else ""}


@memberships.command("list")
@click.option("--library", required=True)
@click.option("--state")
@json_option
@with_runtime
def memberships_list(runtime: Runtime, session, library, state, as_json):
    """List a library's memberships (cards masked)."""
    zone = runtime.settings.timezone
    emit([_membership_row(m, zone) for m in members.list_memberships(session, library, state)], as_json)


def _decision(transition: Transition):
    @click.argument("library")
    @click.argument("card")
    @click.option("--reason", default="")
    @click.option("--by", "actor", default="cli", help="Who decides (recorded in the history).")
    @json_option
    @with_runtime
    def command(runtime: Runtime, session, library, card, reason, actor, as_json):
        m = members.find_membership(runtime, session, library, card)
        members.change(runtime, session, m, transition, actor=actor, reason=reason)
        emit(_membership_row(m, runtime.settings.timezone), as_json)

    command.__doc__ = f"{transition.value.capitalize()} a membership."
    return command


for _t in (Transition.APPROVE, Transition.REFUSE, Transition.SUSPEND, Transition.REACTIVATE):
    memberships.command(_t.value)(_decision(_t))


# -- suppliers ------------------------------------------------------------------------
@cli.group()
def suppliers() -> None:
    """Suppliers and the networks that offer them."""


@suppliers.command("add")
@click.argument("slug")
@click.option("--name", required=True)
@click.option("--network", "networks_", multiple=True, required=True)
@click.option("--category", default="", type=click.Choice(("",) + sup.CATEGORIES))
@click.option("--description", default="")
@click.option("--login-url", default="")
@click.option("--release", default="", help=f"Comma-separated, among {', '.join(sup.RELEASABLE)}.")
@click.option("--min-age", type=click.IntRange(0, 130))
@click.option("--max-age", type=click.IntRange(0, 130))
@json_option
@with_runtime
def suppliers_add(runtime: Runtime, session, slug, name, networks_, category, description, login_url, release, min_age,
                  max_age, as_json):
    """Register a supplier without protocol details (see add-saml, add-oidc, add-cas)."""
    s = sup.add_supplier(runtime, session, slug, name=name, networks=list(networks_), category=category,
                         description=description, login_url=login_url, release=release or None,
                         min_age=min_age, max_age=max_age)
    emit(supplier_row(s), as_json)


def supplier_row(s) -> dict:
    row = {"slug": s.slug, "name": s.name, "category": s.category, "protocol": s.protocol,
           "networks": ",".join(n.slug for n in s.networks), "release": ",".join(s.release or []),
           "entity_id": s.saml_entity_id or "", "client_id": s.oidc_client_id or ""}
    if s.protocol == "saml":
        from ..providers.saml.registry import encryption_of

        row.update(encryption_of(s))
    return row


@suppliers.command("list")
@click.option("--network")
@json_option
@with_runtime
def suppliers_list(runtime: Runtime, session, network, as_json):
    """List suppliers."""
    emit([supplier_row(s) for s in sup.list_suppliers(session, network)], as_json,
         columns=["slug", "name", "category", "protocol", "networks", "release"])


def _set_supplier_enabled(runtime: Runtime, session, slug: str, enabled: bool) -> dict:
    from ..providers import supplier_admin

    found = sup.get_supplier(session, slug)  # an unknown slug: NotFound, exit 2
    supplier_admin.set_enabled(runtime, session, found, enabled, actor="cli")
    return {**supplier_row(found), "enabled": bool(found.enabled)}


_switch_commands(suppliers, "slug", _set_supplier_enabled,
                 disable="Disable a supplier: every patron is refused (the page says so); nothing is deleted.",
                 enable="Enable a disabled supplier again.")


# -- staff ----------------------------------------------------------------------------
@cli.group()
def staff() -> None:
    """Staff accounts: referents and network admins."""


@staff.command("add")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(staff_service.ROLES))
@click.option("--scope", required=True, help="Library code (referent) or network slug (admin).")
@click.option("--name", default="")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@json_option
@with_runtime
def staff_add(runtime: Runtime, session, email, role, scope, name, password_stdin, as_json):
    """Give someone a role; a new account gets a password shown once."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    result = staff_service.add_staff(runtime, session, email, role, scope, name=name, password=password)
    row = {"email": result.user.email, "role": role, "scope": scope}
    if result.password:
        row["password"] = result.password
    emit(row, as_json)


@staff.command("list")
@json_option
@with_runtime
def staff_list(runtime: Runtime, session, as_json):
    """List staff accounts and their roles."""
    from sqlalchemy import select

    from ..db.models import StaffUser

    rows = []
    for u in session.scalars(select(StaffUser).order_by(StaffUser.email)):
        roles = [f"{r.role}:{r.library.code if r.library else r.network.slug}" for r in u.roles]
        rows.append({"email": u.email, "roles": ", ".join(roles), "totp": bool(u.totp_secret), "active": u.active})
    emit(rows, as_json)


@staff.command("token")
@click.argument("email")
@click.option("--name", default="cli")
@click.option("--days", default=str(staff_service.TOKEN_DAYS), show_default=True,
              help=f"Lifetime in days (1 to {staff_service.MAX_TOKEN_DAYS}).")
@json_option
@with_runtime
def staff_token(runtime: Runtime, session, email, name, days, as_json):
    """Create an API token for a staff account (shown once)."""
    from ..errors import NotFound

    user = staff_service.get_user(session, email)
    if user is None:
        raise NotFound(f"unknown staff account '{email}'")
    lifetime = staff_service.token_days(days)
    token = staff_service.create_api_token(runtime, session, user, name, actor="cli", days=lifetime)
    emit({"email": user.email, "token": token, "days": lifetime}, as_json)


@staff.command("warn-tokens")
@json_option
@with_runtime
def staff_warn_tokens(runtime: Runtime, session, as_json):
    """E-mail the owners of API tokens that expire within a week (run it daily)."""
    sent = staff_service.warn_expiring_tokens(runtime, session)
    emit({"warned": sent}, as_json)
