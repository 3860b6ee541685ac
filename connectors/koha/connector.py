"""The Koha REST connector: patrons checked through Koha's REST API (``/api/v1``).

A login is ``POST /auth/password/validation`` (201: valid, 400: refused),
then ``GET /patrons/{patron_id}`` for the card's expiry, restriction,
category, home library and birth date. Sésame authenticates itself to Koha
with OAuth2 client credentials (token cached until it expires) or HTTP basic
auth. All requests of one call share one time budget, ``timeout``.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from broker.domain.connectors import (
    ConnectorContext,
    ConnectorProtocolError,
    ConnectorUnavailable,
    Health,
    InvalidCredentials,
    UnknownPatron,
)
from broker.domain.patrons import PatronRecord, mask_card, normalize_card

from .client import Answer, Deadline, KohaHttp
from .records import patron_from_koha, patron_id_of
from .settings import KohaSettings

__all__ = ["KohaConnector", "KohaSettings"]

log = logging.getLogger("broker.connectors.koha")

_MAX_SECRET = 1024
VALIDATION = "/auth/password/validation"


@contextmanager
def _card_masked_in_raw(card: str) -> Iterator[None]:
    """Error reports carry Koha's raw answer: hide the card number in it."""
    try:
        yield
    except ConnectorProtocolError as exc:
        if isinstance(exc.raw, str):
            exc.raw = re.sub(re.escape(card), mask_card(card), exc.raw, flags=re.IGNORECASE)
        raise


def _same_card(a: Any, b: str) -> bool:
    """Koha compares card numbers without regard to case (MySQL collation): so do we."""
    return isinstance(a, str) and normalize_card(a, case="upper") == normalize_card(b, case="upper")


class KohaConnector:
    """Authenticates patrons against Koha's REST API. Thread-safe."""

    def __init__(self, settings: KohaSettings, *, context: ConnectorContext | None = None) -> None:
        self.settings = settings
        self.library = context.library_code if context else "-"
        self.http = KohaHttp(settings, clock=context.clock if context else None)

    # -- the Connector protocol ------------------------------------------------

    def authenticate(self, card: str, secret: str) -> PatronRecord:
        """Check card + password with Koha and return the patron."""
        normalized = self._normalize(card)
        if not secret or len(secret) > _MAX_SECRET:
            raise InvalidCredentials("empty or oversized password")
        with _card_masked_in_raw(normalized):
            return self._authenticate(normalized, secret, Deadline(self.settings.timeout))

    def _authenticate(self, normalized: str, secret: str, deadline: Deadline) -> PatronRecord:
        answer = self._call("POST", VALIDATION, deadline, body={"identifier": normalized, "password": secret})
        if answer.status == 201:
            validated = answer.json()
            patron_id = patron_id_of(validated)
            if not self.settings.accept_userid and not _same_card(validated.get("cardnumber"), normalized):
                log.info("koha %s: %s is a userid, not a card number", self.library, mask_card(normalized))
                raise InvalidCredentials("Koha matched a userid, not a card number")
            return patron_from_koha(self._patron(patron_id, deadline), normalized)
        if answer.status == 400:
            raise self._refusal(answer, normalized, deadline)
        if answer.status == 404:
            raise ConnectorUnavailable(f"Koha has no {VALIDATION} endpoint: check base_url and Koha's version")
        raise ConnectorProtocolError(f"unexpected answer to {VALIDATION}: HTTP {answer.status}", raw=answer.raw)

    def lookup(self, card: str) -> PatronRecord | None:
        """Find a patron by card number, without a secret; None when Koha has none."""
        try:
            normalized = self._normalize(card)
        except UnknownPatron:
            return None
        with _card_masked_in_raw(normalized):
            return self._lookup(normalized, Deadline(self.settings.timeout))

    def check(self) -> Health:
        """List one patron: proves that Koha answers and accepts Sésame's credentials."""
        started = time.monotonic()
        try:
            answer = self._call("GET", "/patrons", Deadline(self.settings.timeout), params={"_per_page": 1})
            if answer.status != 200 or not isinstance(answer.json(), list):
                raise ConnectorProtocolError(f"unexpected answer to GET /patrons: HTTP {answer.status}",
                                             raw=answer.raw)
        except ConnectorUnavailable as exc:
            return Health(False, str(exc), round((time.monotonic() - started) * 1000, 1))
        return Health(True, "Koha answers and accepts the API credentials",
                      round((time.monotonic() - started) * 1000, 1))

    def close(self) -> None:
        self.http.close()

    # -- steps -----------------------------------------------------------------

    def _normalize(self, card: str) -> str:
        normalized = normalize_card(card, case=self.settings.card_case,
                                    strip_spaces=self.settings.card_strip_spaces)
        if not normalized or len(normalized) > self.settings.card_max_length or not normalized.isprintable():
            raise UnknownPatron("not a card number")
        return normalized

    def _call(self, method: str, path: str, deadline: Deadline, **kwargs: Any) -> Answer:
        try:
            return self.http.call(method, path, deadline, **kwargs)
        except ConnectorUnavailable as exc:
            log.warning("koha %s: %s %s: %s", self.library, method, path.split("?")[0], exc)
            raise

    def _refusal(self, answer: Answer, card: str, deadline: Deadline) -> InvalidCredentials:
        """What a 400 from the validation endpoint means."""
        data = answer.json()
        error = data.get("error") if isinstance(data, dict) else None
        if not isinstance(error, str):
            # Koha's OpenAPI layer answers {"errors": [...]} when it rejects the request itself.
            raise ConnectorProtocolError(f"Koha rejected the request to {VALIDATION}", raw=answer.raw)
        if "expired" in error.lower():
            log.info("koha %s: password expired for %s", self.library, mask_card(card))
            return InvalidCredentials("the password has expired in Koha")
        # Koha answers an unknown card and a wrong password alike; ask which one it was.
        if self.settings.tell_unknown_cards:
            try:
                if self._lookup(card, deadline) is None:
                    log.info("koha %s: unknown card %s", self.library, mask_card(card))
                    return UnknownPatron("Koha has no patron with this card")
            except ConnectorUnavailable:
                pass  # the refusal stands; only its precision is lost
        log.info("koha %s: wrong password for %s", self.library, mask_card(card))
        return InvalidCredentials("Koha refused the password")

    def _patron(self, patron_id: int, deadline: Deadline) -> dict[str, Any]:
        answer = self._call("GET", f"/patrons/{patron_id}", deadline)
        if answer.status == 404:
            raise UnknownPatron("Koha no longer has this patron")
        return answer.json_of("GET /patrons/{id}", dict, "Koha's patron is not a JSON object")

    def _lookup(self, card: str, deadline: Deadline) -> PatronRecord | None:
        # A JSON query in the x-koha-query header is an exact match (the cardnumber= query
        # parameter defaults to _match=contains, a SQL LIKE) and keeps the card number out
        # of URLs, hence out of Koha's and any proxy's access logs. ensure_ascii: headers
        # must be ISO-8859-1.
        query = json.dumps({"cardnumber": card}, ensure_ascii=True)
        answer = self._call("GET", "/patrons", deadline, params={"_per_page": 2},
                            headers={"x-koha-query": query})
        found = answer.json_of("GET /patrons", list, "Koha's patron list is not a JSON array")
        matching = [p for p in found if isinstance(p, dict) and _same_card(p.get("cardnumber"), card)]
        if len(matching) > 1:
            raise ConnectorProtocolError("several Koha patrons have this card number", raw=f"{len(matching)} patrons")
        return patron_from_koha(matching[0], card) if matching else None
