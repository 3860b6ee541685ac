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
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..clock import SYSTEM, Clock
from ..db.models import Supplier, SupplierNetwork
from ..stamped_cache import StampedCache

if TYPE_CHECKING:
    from ..db import Database
    from ..runtime import Runtime

T = TypeVar("T")

#: seconds between two looks at the suppliers table
RECHECK_SECONDS = 5.0


class SupplierRegistry(Generic[T]):
    """Holds ``build(suppliers)`` for the enabled suppliers of ``protocol``."""

    def __init__(self, db: Database, protocol: str, build: Callable[[list[Supplier]], T], *,
                 recheck: float = RECHECK_SECONDS, clock: Clock | None = None) -> None:
        self.db = db
        self.protocol = protocol
        self.build = build
        self.cache: StampedCache[tuple, T] = StampedCache(self._read_stamp, self._load, interval=recheck,
                                                          clock=(clock or SYSTEM).monotonic)

    def get(self) -> T:
        """The current view; at most one cheap query every ``recheck`` seconds."""
        return self.cache.get()

    def _read_stamp(self) -> tuple:
        with self.db.session() as s:
            return tuple(s.execute(self._stamp_query()).one())

    def _load(self, _stamp: tuple) -> T:
        with self.db.session() as s:
            rows = list(s.scalars(
                select(Supplier).where(Supplier.protocol == self.protocol, Supplier.enabled.is_(True))
                .options(selectinload(Supplier.networks)).order_by(Supplier.id)
            ))
            return self.build(rows)

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
        self.cache.invalidate()


class SupplierRegistries:
    """The registries of one runtime (``runtime.suppliers``), one per protocol, built on first use."""

    def __init__(self, db: Database, *, clock: Clock | None = None) -> None:
        self.db = db
        self.clock: Clock = clock or SYSTEM
        self._lock = threading.Lock()
        self._by_protocol: dict[str, SupplierRegistry[Any]] = {}

    def get(self, protocol: str, build: Callable[[list[Supplier]], T]) -> SupplierRegistry[T]:
        """The registry of ``protocol``; ``build`` makes its view (the first caller's is kept)."""
        found = self._by_protocol.get(protocol)
        if found is None:
            with self._lock:
                found = self._by_protocol.setdefault(protocol, SupplierRegistry(self.db, protocol, build,
                                                                                    clock=self.clock))
        return found

    def invalidate(self, protocol: str) -> None:
        """Make this process rebuild its view of ``protocol`` at the next read."""
        found = self._by_protocol.get(protocol)
        if found is not None:
            found.invalidate()


def registry(runtime: Runtime, protocol: str, build: Callable[[list[Supplier]], T]) -> SupplierRegistry[T]:
    """The runtime's registry for ``protocol`` (one per runtime and protocol)."""
    return runtime.suppliers.get(protocol, build)


def invalidate(runtime: Runtime, protocol: str) -> None:
    """Make this process rebuild its view of ``protocol`` at the next read."""
    runtime.suppliers.invalidate(protocol)
