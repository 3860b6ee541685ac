"""Ask a library's SIGB about one card, the way ``broker connectors check`` and the staff's
"Tester une carte" do; the card is never stored (the result shows it masked).

:class:`CardCheckFailure` names the refusals a patron gets when presenting a card
(``services.login``, ``services.registration``, ``services.card_linking``).
"""

from __future__ import annotations

import time
from dataclasses import asdict
from enum import StrEnum
from typing import TYPE_CHECKING

from ..domain.connectors import ConnectorProtocolError, ConnectorUnavailable, InvalidCredentials, UnknownPatron
from ..domain.patrons import PatronRecord, mask_card
from .libraries import connection

if TYPE_CHECKING:
    from ..runtime import Runtime


class CardCheckFailure(StrEnum):
    """Why a card a patron presents (to log in, register or link it) was refused.

    The values are the codes the portal, the login metrics and the tests read.
    """

    #: a form field is missing, too long or malformed, or the library is unknown (nothing was asked)
    INVALID = "invalid"
    #: unknown card, wrong password or locked card: one answer for the three
    CREDENTIALS = "credentials"
    #: too many attempts from this address: it must wait
    RATE_LIMITED = "rate_limited"
    #: the library's SIGB did not answer (or its connector failed)
    SIGB_UNAVAILABLE = "sigb_unavailable"
    #: the SIGB knows the card but it is expired, blocked or otherwise not in good standing
    CARD_INVALID = "card_invalid"
    #: the card is valid at its library but has no membership in Sésame yet
    NOT_REGISTERED = "not_registered"


#: the reasons of this check (staff and CLI, who may be told more than a patron): credentials refused,
#: unknown card, SIGB unavailable, protocol error, card invalid
REASONS = ("credentials", "unknown", "unavailable", "protocol", "card_invalid")


def check_card(runtime: Runtime, lib, card: str, password: str | None, *, raw: bool = True) -> dict:
    """The SIGB's answer for ``card`` (with ``password``: an authentication, else a lookup without cache).

    ``raw``: keep the SIGB's raw answer on a protocol error (the CLI shows it; web pages do not).
    """
    conn = connection(lib)
    started = time.perf_counter()
    result: dict = {"library": lib.code, "card": mask_card(runtime.sigb.normalize(conn, card))}
    try:
        record: PatronRecord | None
        if password is not None:
            record = runtime.sigb.authenticate(conn, card, password)
        else:
            record = runtime.sigb.lookup(conn, card, use_cache=False)
            if record is None:
                raise UnknownPatron("unknown card")
    except UnknownPatron as exc:
        result.update(ok=False, reason="unknown", detail=str(exc))
    except InvalidCredentials as exc:
        result.update(ok=False, reason="credentials", detail=str(exc))
    except ConnectorProtocolError as exc:
        result.update(ok=False, reason="protocol", detail=str(exc))
        if raw:
            result["raw"] = exc.raw.decode("utf-8", "replace") if isinstance(exc.raw, bytes) else exc.raw
    except ConnectorUnavailable as exc:
        result.update(ok=False, reason="unavailable", detail=str(exc))
    else:
        problem = record.card_problem(runtime.clock.today())
        patron = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in asdict(record).items()}
        patron["card"] = mask_card(record.card)
        result["patron"] = patron
        if problem is not None:
            result.update(ok=False, reason="card_invalid", detail=problem.value)
        else:
            result.update(ok=True)
    result["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result
