"""SUSHI credentials per supplier, entered by a network admin; the API key is encrypted at rest."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db.counter_models import CounterReport, SushiAccount, SushiMember, SushiReportState
from ...db.models import Supplier
from ...errors import NotFound
from .. import audit, staff_desk
from ..field_errors import FieldError

if TYPE_CHECKING:
    from ...runtime import Runtime

RELEASES = {"5": "5", "5.0": "5", "5.1": "5.1"}


def account_of(session: Session, supplier: Supplier) -> SushiAccount | None:
    return session.scalar(select(SushiAccount).where(SushiAccount.supplier_id == supplier.id))


def _url(value: str) -> str:
    value = (value or "").strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise FieldError("url", "bad_url", f"url {value[:100]!r}: expected the SUSHI server's base URL "
                                           "(http:// or https://, without user or password), e.g. "
                                           "https://sushi.example.org/counter/r51")
    if parts.query or parts.fragment:
        raise FieldError("url", "bad_url", "url: the base URL takes no query (?…) nor fragment (#…)")
    if len(value) > 500:
        raise FieldError("url", "too_long", "url: 500 characters at most")
    return value.rstrip("/")


def _text(value, field: str, *, required: bool, max_len: int = 200) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise FieldError(field, "wrong_type", f"{field}: expected a string", name=field)
    value = value.strip()
    if required and not value:
        raise FieldError(field, "required", f"{field}: required")
    if len(value) > max_len or any(ord(c) < 32 for c in value):
        raise FieldError(field, "bad_value", f"{field}: {max_len} printable characters at most")
    return value


def set_account(runtime: Runtime, session: Session, supplier: Supplier, *, url: str, customer_id: str,
                requestor_id: str = "", api_key: str | None = None, release: str = "5.1", platform: str = "",
                actor: str = "cli") -> SushiAccount:
    """Create or replace the supplier's SUSHI credentials; ``api_key`` None keeps the stored one ("" removes it)."""
    url = _url(url)
    customer_id = _text(customer_id, "customer_id", required=True)
    requestor_id = _text(requestor_id, "requestor_id", required=False)
    platform = _text(platform, "platform", required=False)
    if not isinstance(release, str) or release not in RELEASES:
        raise FieldError("release", "bad_release", f"release {str(release)[:10]!r}: expected 5 or 5.1")
    if api_key is not None:
        api_key = _text(api_key, "api_key", required=False, max_len=500)
    account = account_of(session, supplier)
    if account is None:
        account = SushiAccount(supplier_id=supplier.id, url=url, customer_id=customer_id)
        session.add(account)
    elif account.customer_id != customer_id:
        # another customer: the members the old one listed are not this one's
        for member in session.scalars(select(SushiMember).where(SushiMember.supplier_id == supplier.id)):
            session.delete(member)
    account.url, account.customer_id, account.requestor_id = url, customer_id, requestor_id
    account.release, account.platform = RELEASES[release], platform
    if api_key is not None:
        account.api_key_encrypted = runtime.keys.encrypt(api_key.encode()) if api_key else None
    account.last_status, account.last_error, account.retry_after = "", "", None
    session.flush()
    audit.record(runtime, session, actor, "supplier.sushi", supplier.slug, url=url, customer_id=customer_id,
                 release=account.release, api_key=api_key is not None and bool(api_key))
    return account


def api_key(runtime: Runtime, account: SushiAccount) -> str:
    return runtime.keys.decrypt(bytes(account.api_key_encrypted)).decode() if account.api_key_encrypted else ""


def supplier_for_admin(session: Session, user, slug: str, action: str) -> Supplier:
    """The supplier, if it is offered in one of the admin's networks (else a 403 recorded as denied)."""
    from .. import staff
    from ..suppliers import get_supplier

    networks = staff.scope_of(user).admin_networks
    if not networks:
        raise staff_desk.deny(user, action, slug[:64])
    try:
        supplier = get_supplier(session, slug)
    except NotFound:
        raise NotFound(f"unknown supplier '{slug[:64]}'", code="unknown_supplier") from None
    if not any(n.id in networks for n in supplier.networks):
        raise staff_desk.deny(user, action, supplier.slug)
    return supplier


def describe(session: Session, supplier: Supplier, account: SushiAccount | None) -> dict:
    """What the admin sees: never the key, only whether one is stored."""
    from ...clock import as_utc

    members = list(session.scalars(select(SushiMember).where(SushiMember.supplier_id == supplier.id)
                                   .order_by(SushiMember.name, SushiMember.customer_id)))
    from ...db.models import Library

    codes = {lib.id: lib.code for lib in session.scalars(select(Library))}
    out = {"supplier": supplier.slug, "configured": account is not None, "members": [
        {"customer_id": m.customer_id, "name": m.name, "suggested_library": codes.get(m.suggested_library_id),
         "library": codes.get(m.library_id), "confirmed": m.library_id is not None} for m in members]}
    if account is not None:
        out.update(url=account.url, customer_id=account.customer_id, requestor_id=account.requestor_id,
                   api_key_set=account.api_key_encrypted is not None, release=account.release,
                   platform=account.platform, last_status=account.last_status, last_error=account.last_error,
                   last_harvest_at=as_utc(account.last_harvest_at).isoformat().replace("+00:00", "Z")
                   if account.last_harvest_at else None,
                   reports=report_states(session, supplier))
    return out


def report_states(session: Session, supplier: Supplier) -> list[dict]:
    """PR, DR, TR, IR: whether the server offers each (``/reports``; None: not asked yet), the months stored, and
    how its last harvest went."""
    from sqlalchemy import func

    from ...clock import as_utc

    states = {s.report_id: s for s in session.scalars(select(SushiReportState).where(
        SushiReportState.supplier_id == supplier.id))}
    stored = dict(session.execute(select(CounterReport.report_id, func.count(func.distinct(CounterReport.month)))
                                  .where(CounterReport.supplier_id == supplier.id)
                                  .group_by(CounterReport.report_id)).all())
    rows = []
    for rid in ("PR", "DR", "TR", "IR"):
        state = states.get(rid)
        rows.append({"report": rid, "offered": True if rid == "PR" else state.offered if state else None,
                     "months": stored.get(rid, 0), "last_status": state.last_status if state else "",
                     "last_error": state.last_error if state else "",
                     "last_harvest_at": as_utc(state.last_harvest_at).isoformat().replace("+00:00", "Z")
                     if state and state.last_harvest_at else None})
    return rows
