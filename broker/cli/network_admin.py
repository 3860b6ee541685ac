"""Commands that change a network's partners, agreements and staff accounts after their creation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ..services import partners as partner_service
from . import emit, json_option, with_runtime
from .admin import _partner_row, partners


@partners.command("edit")
@click.argument("slug")
@click.option("--name")
@click.option("--kind", type=click.Choice(("commune", "epci", "epic")))
@click.option("--population", help="Legal population (whole number), for --year (default: this year).")
@click.option("--year", "population_year", help="The year of that legal population.")
@click.option("--agreement", help="START:END (YYYY-MM-DD:YYYY-MM-DD): amends the agreement that starts on START "
                                  "(its end), or records a new agreement.")
@click.option("--rate", help="Euros per inhabitant per year, with --agreement (default 0.15 for a new one).")
@click.option("--note", default="", help="Reference of the amendment or agreement (kept in its history).")
@click.option("--by", "actor", default="cli", help="Who makes the change (recorded in the audit log).")
@json_option
@with_runtime
def partners_edit(runtime: Runtime, session, slug, name, kind, population, population_year, agreement, rate, note, actor,
                  as_json):
    """Change a partner's name, kind or population, or amend or add an agreement."""
    from ..services.network import parse_agreement

    partner = partner_service.load_partner(session, slug)
    terms = parse_agreement(agreement) if agreement else None  # checked before anything changes
    partner_service.edit_partner(runtime, session, partner, actor=actor, name=name, kind=kind, population=population,
                                 population_year=population_year)
    if terms:
        partner_service.set_agreement(runtime, session, partner, terms[0], terms[1], actor=actor, rate=rate,
                                      note=note)
    session.flush()
    session.refresh(partner)
    emit(_partner_row(partner, runtime.clock.today()), as_json)


@partners.command("end")
@click.argument("slug")
@click.option("--on", "on", help="YYYY-MM-DD, today or later (default today): access closes after that day.")
@click.option("--note", default="")
@click.option("--by", "actor", default="cli")
@json_option
@with_runtime
def partners_end(runtime: Runtime, session, slug, on, note, actor, as_json):
    """End the partner's agreement in force (or the next one) on a date."""
    from ..errors import InvalidInput

    partner = partner_service.load_partner(session, slug)
    found = partner_service.state_of(partner, runtime.clock.today())
    if found.current is None or found.state == "ended":
        raise InvalidInput(f"partner '{slug}' has no agreement in force or to come")
    partner_service.end_agreement(runtime, session, partner, found.current, actor=actor, on=on, note=note)
    session.refresh(partner)
    emit(_partner_row(partner, runtime.clock.today()), as_json)


@partners.command("notify-ending")
@json_option
@with_runtime
def partners_notify_ending(runtime: Runtime, session, as_json):
    """E-mail each network's admins about agreements ending within two months (once per agreement)."""
    emit({"notified": partner_service.notify_ending(runtime)}, as_json)


# -- staff accounts ----------------------------------------------------------------------------
from ..services import staff_accounts  # noqa: E402
from .admin import staff  # noqa: E402

if TYPE_CHECKING:
    from ..runtime import Runtime


def _staff_change(action: str):
    @click.argument("email")
    @click.option("--by", "actor", default="cli", help="Who makes the change (recorded in the audit log).")
    @json_option
    @with_runtime
    def command(runtime: Runtime, session, email, actor, as_json):
        user = staff_accounts.get_account(session, email)
        row = {"email": user.email}
        if action in ("deactivate", "reactivate"):
            row["changed"] = staff_accounts.set_active(runtime, session, user, action == "reactivate", actor=actor)
            row["active"] = user.active
        elif action == "reset-password":
            invitation = staff_accounts.reset_password(runtime, session, user, actor=actor)
            row.update(link=invitation.link, expires=invitation.expires_at.isoformat())
        else:
            row["changed"] = staff_accounts.reset_totp(runtime, session, user, actor=actor)
        emit(row, as_json)

    command.__doc__ = {
        "deactivate": "Deactivate an account: its sessions and API tokens stop at once (not the last admin).",
        "reactivate": "Reactivate a deactivated account (its revoked API tokens stay revoked).",
        "reset-password": "Make the password stop working and print a single-use link (72 h) to choose one.",
        "reset-totp": "Forget the account's TOTP secret: an admin enrols again at the next login.",
    }[action]
    return command


for _action in ("deactivate", "reactivate", "reset-password", "reset-totp"):
    staff.command(_action)(_staff_change(_action))


@staff.command("invite")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(staff_accounts.ROLES))
@click.option("--scope", required=True, help="Library code (referent) or network slug (admin).")
@click.option("--name", default="")
@click.option("--by", "actor", default="cli")
@json_option
@with_runtime
def staff_invite(runtime: Runtime, session, email, role, scope, name, actor, as_json):
    """Create an account and e-mail it a single-use link (72 h) to choose its password; prints the link."""
    invitation = staff_accounts.invite(runtime, session, email, role, scope, actor=actor, name=name)
    emit({"email": invitation.user.email, "role": role, "scope": scope, "link": invitation.link,
          "expires": invitation.expires_at.isoformat()}, as_json)
