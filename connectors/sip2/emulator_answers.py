"""What the emulated SIGB answers to each SIP2 request, as Koha's or Evergreen's SIP server would.

Koha (C4/SIP/Sip/MsgType.pm): an unknown card gets BL=N and the screen message
"Invalid cardnumber"; a known card gets BL=Y and, when a password was sent,
CQ=Y/N; birth date in PB (YYYYMMDD), category in PC, and the expiry date only
as a configured custom field (here ``DE``, ISO date, as Koha's own tests set it).
Evergreen (OpenILS/Application/SIP2.pm): an unknown card and a wrong password
get the same stub answer (BL=N, CQ=N); expiry in PA, birth date in PB (YYYYMMDD).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from . import fields as F
from .codec import Message, sip_datetime
from .patrons_file import EmulatedPatron

Flavour = Literal["koha", "evergreen"]
_COUNTS = "0000" * 6
_STUB_STATUS = "YYYY" + " " * 10


@dataclass(frozen=True, slots=True)
class EmulatedSigb:
    """The patrons and behaviour of one emulated SIGB."""

    patrons: dict[str, EmulatedPatron]
    flavour: Flavour = "koha"
    institution: str = "SIP2"
    koha_expiry_field: str = F.KOHA_EXPIRY

    def status(self, message: Message) -> Message:
        """98 ACS status for a 99 SC status."""
        fixed = "YYYYNN" + "030" + "003" + sip_datetime() + "2.00"
        fields = ((F.INSTITUTION, self.institution), ("AM", "Sésame SIP2 emulator"), ("BX", "YYYYNYYYYYYNNYYY"))
        return Message("98", fixed, fields)

    def patron_information(self, message: Message) -> Message:
        """64 for a 63: patron details, password check when AD is present."""
        return self._patron_answer(message, "64")

    def patron_status(self, message: Message) -> Message:
        """24 for a 23."""
        return self._patron_answer(message, "24")

    def end_session(self, message: Message) -> Message:
        """36 for a 35."""
        fields = ((F.INSTITUTION, message.get(F.INSTITUTION) or self.institution), (F.PATRON_ID, message.get(F.PATRON_ID) or ""))
        return Message("36", "Y" + sip_datetime(), fields)

    def _patron_answer(self, message: Message, code: str) -> Message:
        card = message.get(F.PATRON_ID) or ""
        secret = message.get(F.PATRON_PASSWORD)
        institution = message.get(F.INSTITUTION) or self.institution
        language = message.fixed[:3] if len(message.fixed) >= 3 else "000"
        patron = self.patrons.get(card)
        if self.flavour == "evergreen":
            if patron is None or (secret is not None and secret != patron.password):
                return self._evergreen_stub(code, card, institution)
            return self._evergreen_patron(code, patron, institution, secret)
        if patron is None:
            return self._koha_unknown(code, card, institution, language)
        return self._koha_patron(code, patron, institution, language, secret)

    def _flags(self, patron: EmulatedPatron, today: date) -> set[str]:
        flags: set[str] = set()
        if patron.lost:
            flags |= F.PRIVILEGE_FLAGS | {"card_lost"}
        elif patron.blocked or patron.expired(today):
            flags |= F.PRIVILEGE_FLAGS
        return flags

    # -- Koha -----------------------------------------------------------------

    def _koha_unknown(self, code: str, card: str, institution: str, language: str) -> Message:
        head = _STUB_STATUS + language + sip_datetime()
        if code == "64":
            fields: tuple[tuple[str, str], ...] = ((F.INSTITUTION, institution), (F.PATRON_ID, card), (F.PERSONAL_NAME, ""), (F.VALID_PATRON, "N"))
            return Message("64", head + _COUNTS, fields + ((F.SCREEN_MESSAGE, "Invalid cardnumber"),))
        fields = ((F.PERSONAL_NAME, ""), (F.PATRON_ID, card), (F.VALID_PATRON, "N"))
        return Message("24", head, fields + ((F.SCREEN_MESSAGE, "Invalid cardnumber"), (F.INSTITUTION, institution)))

    def _koha_patron(
        self, code: str, patron: EmulatedPatron, institution: str, language: str, secret: str | None
    ) -> Message:
        today = date.today()
        status = F.status_string(self._flags(patron, today))
        head = status + language + sip_datetime()
        password_ok = secret is not None and secret == patron.password
        screen = []
        if patron.lost:
            screen.append("Card reported lost")
        elif patron.blocked:
            screen.append(patron.blocked)
        if patron.expired(today):
            screen.append(f"Your account has expired as of {patron.expires.isoformat()}")  # type: ignore[union-attr]  # expired() implies expires is set
        if secret is not None and not password_ok:
            screen.append("-- Invalid password")
        if code == "24":
            fields: list[tuple[str, str]] = [
                (F.PERSONAL_NAME, patron.name),
                (F.PATRON_ID, patron.card),
                (F.VALID_PATRON, "Y"),
                (F.VALID_PASSWORD, "Y" if password_ok else "N"),
            ]
            if screen:
                fields.append((F.SCREEN_MESSAGE, " ".join(screen)))
            fields.append((F.INSTITUTION, institution))
            return Message("24", head, tuple(fields))
        fields = [
            (F.INSTITUTION, institution),
            (F.PATRON_ID, patron.card),
            (F.PERSONAL_NAME, patron.name),
            (F.VALID_PATRON, "Y"),
        ]
        if secret is not None:
            fields.append((F.VALID_PASSWORD, "Y" if password_ok else "N"))
        fields.append(("CC", "5.00"))
        if patron.email:
            fields.append((F.EMAIL, patron.email))
        if patron.birth_date:
            fields.append((F.BIRTH_DATE, patron.birth_date.strftime("%Y%m%d")))
        if patron.category:
            fields.append((F.CATEGORY, patron.category))
        if screen:
            fields.append((F.SCREEN_MESSAGE, " ".join(screen)))
        if patron.expires and self.koha_expiry_field:
            fields.append((self.koha_expiry_field, patron.expires.isoformat()))
        return Message("64", head + _COUNTS, tuple(fields))

    # -- Evergreen --------------------------------------------------------------

    def _evergreen_stub(self, code: str, card: str, institution: str) -> Message:
        head = _STUB_STATUS + "000" + sip_datetime()
        fields = (
            (F.INSTITUTION, institution),
            (F.PATRON_ID, card),
            (F.PERSONAL_NAME, ""),
            (F.VALID_PATRON, "N"),
            (F.VALID_PASSWORD, "N"),
        )
        return Message(code, head + (_COUNTS if code == "64" else ""), fields)

    def _evergreen_patron(self, code: str, patron: EmulatedPatron, institution: str, secret: str | None) -> Message:
        status = F.status_string(self._flags(patron, date.today()))
        head = status + "000" + sip_datetime()
        fields: list[tuple[str, str]] = [
            (F.PATRON_ID, patron.card),
            (F.PERSONAL_NAME, patron.name),
            (F.INSTITUTION, institution),
            ("BH", "EUR"),
            (F.VALID_PATRON, "Y"),
            ("BV", "0.00"),
            (F.VALID_PASSWORD, "Y" if secret else "N"),
        ]
        if code == "24":
            return Message("24", head, tuple(fields))
        if patron.email:
            fields.append((F.EMAIL, patron.email))
        if patron.expires:
            fields.append((F.EVERGREEN_EXPIRY, patron.expires.strftime("%Y%m%d")))
        if patron.birth_date:
            fields.append((F.BIRTH_DATE, patron.birth_date.strftime("%Y%m%d")))
        if patron.category:
            fields.append((F.CATEGORY, patron.category))
        return Message("64", head + _COUNTS, tuple(fields))
