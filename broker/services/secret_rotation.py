"""Rotating the instance secret: everything encrypted at rest is encrypted again under the newest key.

``secret_keys`` lists the new key first and the old ones after it; while an
old key is listed, what it encrypted still decrypts. :func:`rotate` re-encrypts
every stored secret (signing and encryption keys, SIGB credentials, staff TOTP
secrets, card numbers awaiting a referent, suppliers' SUSHI API keys, the instance's stable values, and
in suppliers' protocol settings every string under a key ending in ``_encrypted``) in one transaction,
after which the old keys may be removed from the list. What the
state store holds (sessions, SIGB cache, codes) is short-lived and needs none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import instance_secrets
from ..crypto import DecryptionError
from ..db.counter_models import SushiAccount
from ..db.models import CryptoKey, Library, StaffUser, Supplier
from ..db.secret_models import InstanceSecret
from ..db.staff_models import PendingCard
from ..errors import OperationFailed
from . import audit

if TYPE_CHECKING:
    from ..runtime import Runtime

#: every encrypted column: (model, column, what names a row in a report)
ENCRYPTED: tuple[tuple[type, str, str], ...] = (
    (InstanceSecret, "sealed", "name"),
    (CryptoKey, "private_encrypted", "kid"),
    (Library, "connector_secrets", "code"),
    (StaffUser, "totp_secret", "id"),
    (PendingCard, "card_encrypted", "membership_id"),
    (SushiAccount, "api_key_encrypted", "supplier_id"),
)


@dataclass
class Rotation:
    keys: int
    reencrypted: dict[str, int] = field(default_factory=dict)
    unreadable: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"keys": self.keys, "reencrypted": self.reencrypted, "unreadable": self.unreadable}


def rotate(runtime: Runtime, session: Session, *, keep_unreadable: bool = False, actor: str = "cli") -> Rotation:
    """Encrypt every stored secret again under the newest key, in ``session``'s transaction.

    ``session`` must not have written yet (the instance's stable values may be stored first, apart).

    A value that no listed key opens is reported; unless ``keep_unreadable`` (it stays as it is),
    the rotation is then refused and nothing is written. The instance's stable values must open.
    """
    keys = runtime.keys
    # the stable values are stored (and open with a listed key) before anything else is read
    keys.use_stable(instance_secrets.ensure(runtime.db, keys))
    report = Rotation(keys=len(keys.secret_keys))
    for model, column, name in ENCRYPTED:
        table = model.__tablename__
        attribute = getattr(model, column)
        report.reencrypted[table] = 0
        for row in session.scalars(select(model).where(attribute.is_not(None)).with_for_update()):
            try:
                fresh = keys.reencrypt(bytes(getattr(row, column)))
            except DecryptionError:
                report.unreadable.setdefault(table, []).append(str(getattr(row, name)))
                continue
            setattr(row, column, fresh)
            report.reencrypted[table] += 1
    _rotate_supplier_settings(keys, session, report)
    if InstanceSecret.__tablename__ in report.unreadable or (report.unreadable and not keep_unreadable):
        raise OperationFailed(_refusal(report))
    audit.record(runtime, session, actor, "secrets.rotate", "", keys=report.keys,
                 reencrypted=sum(report.reencrypted.values()),
                 unreadable=sum(len(rows) for rows in report.unreadable.values()))
    session.flush()
    return report


def _rotate_supplier_settings(keys, session: Session, report: Rotation) -> None:
    """Secrets in suppliers' protocol settings: every string under a key ending in ``_encrypted``."""
    report.reencrypted["suppliers"] = 0
    for row in session.scalars(select(Supplier).order_by(Supplier.id).with_for_update()):
        unreadable: list[str] = []
        config, count = _reencrypt_tree(keys, row.config or {}, "", unreadable)
        report.unreadable.setdefault("suppliers", []).extend(f"{row.slug}:{path}" for path in unreadable)
        if count:
            row.config = config  # a new object: the JSON column sees the change
            report.reencrypted["suppliers"] += count
    if not report.unreadable.get("suppliers"):
        report.unreadable.pop("suppliers", None)


def _reencrypt_tree(keys, tree: dict[str, Any], path: str, unreadable: list[str]) -> tuple[dict[str, Any], int]:
    out, count = dict(tree), 0
    for key, value in tree.items():
        where = f"{path}{key}"
        if isinstance(value, dict):
            out[key], found = _reencrypt_tree(keys, value, f"{where}.", unreadable)
            count += found
        elif key.endswith("_encrypted") and isinstance(value, str) and value:
            try:
                out[key] = keys.reencrypt(value.encode()).decode()
                count += 1
            except DecryptionError:
                unreadable.append(where)
    return out, count


def _refusal(report: Rotation) -> str:
    where = "; ".join(f"{table}: {', '.join(rows)}" for table, rows in report.unreadable.items())
    return (f"nothing re-encrypted: no key of secret_keys decrypts {where} "
            "(list the key they were encrypted with, or pass --keep-unreadable to leave them as they are)")
