"""E-mails that could not be sent after all their attempts: the network admins see them and may send them again."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from ...db.models import Network
from ...errors import Forbidden, NotFound
from ...mail import outbox
from ...services import audit, staff
from . import bp
from .guard import staff_view

if TYPE_CHECKING:
    from ...runtime import Runtime


def admin_networks(user) -> frozenset[int]:
    networks = staff.scope_of(user).admin_networks
    if not networks:
        raise Forbidden(_("Les e-mails en échec sont réservés aux administrateurs du réseau."), code="admins_only")
    return networks


def _audit(rt: Runtime, db, user, action: str, row) -> None:
    network = db.get(Network, row.network_id) if row.network_id else None
    audit.record(rt, db, user.email, action, network.slug if network else "", message=row.id, subject=row.subject)


@bp.get("/mail")
@staff_view
def mail_failed(rt: Runtime, db, user):
    rows = outbox.failed_messages(db, admin_networks(user))
    return render_template("staff/mail.html", rows=rows, smtp_enabled=bool(rt.settings.smtp_host))


@bp.post("/mail/<int:message_id>/retry")
@staff_view
def mail_retry(rt: Runtime, db, user, message_id):
    row = outbox.retry(db, message_id, admin_networks(user), clock=rt.clock.utcnow)
    if row is None:
        raise NotFound(_("Cet e-mail n'est pas (ou plus) en échec."))
    _audit(rt, db, user, "mail.retry", row)
    if rt.settings.mail_send_at_once:
        db.info.setdefault("after_commit", []).append(lambda: outbox.deliver(rt, [row.id]))
    flash(_("L'e-mail « %(subject)s » est remis dans la file d'envoi.", subject=row.subject), "success")
    return redirect(url_for("staff.mail_failed"), 303)


@bp.post("/mail/<int:message_id>/discard")
@staff_view
def mail_discard(rt: Runtime, db, user, message_id):
    row = outbox.discard(db, message_id, admin_networks(user))
    if row is None:
        raise NotFound(_("Cet e-mail n'est pas (ou plus) en échec."))
    _audit(rt, db, user, "mail.discard", row)
    flash(_("L'e-mail « %(subject)s » est supprimé sans être envoyé.", subject=row.subject), "success")
    return redirect(url_for("staff.mail_failed"), 303)
