"""The step before every code, token or ticket: the access decision, the usage event, the release.

OIDC and CAS call :func:`decide` with the supplier a client or service
belongs to; it runs the access decision (``services.access.check``), records the usage
event and, when access is granted, computes what the supplier receives.

The supplier is the row kept by the protocol's registry cache (loaded with
its networks, detached): the patron's side of the decision is always read
fresh, the supplier's side is at most a few seconds old.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..db.models import Supplier
from ..services import access, release
from ..services.access import AccessOutcome
from ..web import patron_session
from ..web.patron_session import LoggedPatron

if TYPE_CHECKING:
    from ..runtime import Runtime


@dataclass(frozen=True)
class Issuance:
    """The outcome of the decision and, when granted, the pairwise subject and released attributes."""

    outcome: AccessOutcome
    subject: str = ""
    attributes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def granted(self) -> bool:
        return self.outcome.granted


def decide(runtime: Runtime, supplier: Supplier | None, uid: str, protocol: str, *,
           patron: LoggedPatron | None = None) -> Issuance:
    """Decide for patron ``uid`` and ``supplier``, record the usage event, release attributes.

    ``patron``: the logged-in patron of this request, whose session snapshot
    the decision may use (and refresh); None outside a patron's session.
    """
    # no unit of work of its own: the decision opens one only when the patron must be read
    if patron is not None and patron.uid == uid:
        outcome = patron_session.check_access(runtime, None, patron, supplier)
    else:
        outcome = access.check(runtime, None, uid, supplier)
    access.record_usage(runtime, outcome, protocol)
    return released(runtime, outcome)


def released(runtime: Runtime, outcome: AccessOutcome) -> Issuance:
    """What a decided ``outcome`` gives the supplier: nothing when refused, else its pairwise subject and the
    attributes its release policy and the plugins let through. Issuance and the admins' preview both use it."""
    if not outcome.granted:
        return Issuance(outcome)
    subject = release.subject_id(runtime, outcome.patron, outcome.supplier)
    return Issuance(outcome, subject, release.granted_attributes(runtime, outcome, subject))


def preview(runtime: Runtime, session, supplier: Supplier, uid: str) -> Issuance:
    """What ``supplier`` would receive if patron ``uid`` came now: the same decision and release as
    :func:`decide`, read fresh, without a usage event (nothing is sent, nothing is counted)."""
    return released(runtime, access.check(runtime, session, uid, supplier))
