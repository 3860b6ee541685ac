"""A per-process view of the suppliers of one protocol, rebuilt when any of them changes.

Protocol endpoints look a client or service up on every request; reading the
``suppliers`` table each time would cost queries on the hot path. The view
(the Supplier rows with their networks, detached from any session) is
rebuilt when the protocol's suppliers change: their count, their latest
``updated_at`` or their bundle (a checksum of ``supplier_networks``). One
small query checks that at most every ``recheck`` seconds, so a change made
by another process (the CLI, the staff pages) is seen within that delay.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..db.models import Supplier, SupplierNetwork

T = TypeVar("T")

#: seconds between two looks at the suppliers table
RECHECK_SECONDS = 5.0


class SupplierRegistry(Generic[T]):
    """Holds ``build(suppliers)`` for the enabled suppliers of ``protocol``."""

    def __init__(self, runtime, protocol: str, build: Callable[[list[Supplier]], T], *,
                 recheck: float = RECHECK_SECONDS) -> None:
        self.runtime = runtime
        self.protocol = protocol
        self.build = build
        self.recheck = recheck
        self._lock = threading.Lock()
        self._value: T | None = None
        self._stamp: tuple | None = None
        self._checked = 0.0

    def get(self) -> T:
        """The current view; at most one cheap query every ``recheck`` seconds."""
        value = self._value
        if value is not None and self.runtime.clock.monotonic() - self._checked < self.recheck:
            return value
        with self._lock:
            if self._value is not None and self.runtime.clock.monotonic() - self._checked < self.recheck:
                return self._value
            with self.runtime.db.session() as s:
                stamp = tuple(s.execute(self._stamp_query()).one())
                if self._value is None or stamp != self._stamp:
                    rows = list(s.scalars(
                        select(Supplier).where(Supplier.protocol == self.protocol, Supplier.enabled.is_(True))
                        .options(selectinload(Supplier.networks)).order_by(Supplier.id)
                    ))
                    self._value = self.build(rows)
                    self._stamp = stamp
            self._checked = self.runtime.clock.monotonic()
            return self._value  # type: ignore[return-value]

    def _stamp_query(self):
        mine = Supplier.protocol == self.protocol
        in_bundle = select(SupplierNetwork).join(Supplier, Supplier.id == SupplierNetwork.supplier_id).where(mine)
        return select(
            select(func.count(Supplier.id)).where(mine).scalar_subquery(),
            select(func.max(Supplier.updated_at)).where(mine).scalar_subquery(),
            select(func.count()).select_from(in_bundle.subquery()).scalar_subquery(),
            select(func.coalesce(func.sum(SupplierNetwork.supplier_id * 1000003 + SupplierNetwork.network_id), 0))
            .join(Supplier, Supplier.id == SupplierNetwork.supplier_id).where(mine).scalar_subquery(),
        )

    def invalidate(self) -> None:
        """Rebuild on the next read (this process changed a supplier)."""
        with self._lock:
            self._value = None
            self._stamp = None


def registry(runtime, protocol: str, build: Callable[[list[Supplier]], T]) -> SupplierRegistry[T]:
    """The runtime's registry for ``protocol`` (one per runtime and protocol)."""
    key = f"suppliers:{protocol}"
    found = runtime.caches.get(key)
    if found is None:
        found = runtime.caches.setdefault(key, SupplierRegistry(runtime, protocol, build))
    return found


def invalidate(runtime, protocol: str) -> None:
    """Make this process rebuild its view of ``protocol`` at the next read."""
    found = runtime.caches.get(f"suppliers:{protocol}")
    if found is not None:
        found.invalidate()
