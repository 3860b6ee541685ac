"""The LDAP connector: patrons kept in a library's directory (OpenLDAP, Active Directory…).

A login is a search with the service account for the entry of the card, then
either a bind as that entry with the patron's password (``auth_mode = "bind"``)
or a compare of the PIN attribute (``auth_mode = "compare"``). The whole call
shares one time budget, ``timeout``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import ldap
from ldap.filter import escape_filter_chars
from ldap.ldapobject import LDAPObject

from broker.connector_kit import Deadline
from broker.domain.connectors import (
    ConnectorContext,
    ConnectorProtocolError,
    ConnectorUnavailable,
    Health,
    InvalidCredentials,
    UnknownPatron,
)
from broker.domain.patrons import PatronRecord, mask_card, normalize_card

from .pool import ConnectionPool, discard
from .records import patron_from_entry
from .settings import CARD_PLACEHOLDER, LdapSettings

__all__ = ["LdapConnector", "LdapSettings"]

log = logging.getLogger("broker.connectors.ldap")

T = TypeVar("T")

_SCOPES = {"base": ldap.SCOPE_BASE, "one": ldap.SCOPE_ONELEVEL, "sub": ldap.SCOPE_SUBTREE}
#: errors that mean "the directory is not there or not answering"
_DOWN = (ldap.SERVER_DOWN, ldap.CONNECT_ERROR, ldap.TIMEOUT, ldap.TIMELIMIT_EXCEEDED,
         ldap.BUSY, ldap.UNAVAILABLE, ldap.ADMINLIMIT_EXCEEDED)
#: errors that mean "the directory answered something we cannot read"
_GARBAGE = (ldap.PROTOCOL_ERROR, ldap.DECODING_ERROR, ldap.ENCODING_ERROR,
            ldap.PARTIAL_RESULTS, ldap.NOT_SUPPORTED)
_MAX_SECRET = 1024


class _Deadline(Deadline):
    """The time left for one call: every step gets what remains of ``timeout``."""

    late = "the directory did not answer in time"


def _describe(exc: ldap.LDAPError) -> str:
    """A one-line description of a python-ldap error (never contains a secret)."""
    info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    desc = info.get("desc") or type(exc).__name__
    extra = info.get("info")
    return f"{desc} ({extra})" if extra else str(desc)


class LdapConnector:
    """Authenticates patrons against an LDAP directory. Thread-safe."""

    def __init__(self, settings: LdapSettings, *, context: ConnectorContext | None = None) -> None:
        self.settings = settings
        self.library = context.library_code if context else "-"
        # Patron binds change a connection's identity: they get their own connections,
        # never used for searches.
        self._service = ConnectionPool(self._open_guarded, settings.pool_size)
        self._binder = ConnectionPool(self._open_guarded, settings.pool_size)
        self._stuck = 0
        self._stuck_lock = threading.Lock()

    # -- the Connector protocol ------------------------------------------------

    def authenticate(self, card: str, secret: str) -> PatronRecord:
        """Check card + password (or PIN) and return the patron."""
        normalized = self._normalize(card)
        if not secret or len(secret) > _MAX_SECRET:
            # An empty password would be an unauthenticated bind, which LDAP accepts.
            raise InvalidCredentials("empty or oversized password")
        deadline = _Deadline(self.settings.timeout)
        dn, attrs = self._find(normalized, deadline)
        if dn is None:
            log.info("ldap %s: no entry for card %s", self.library, mask_card(normalized))
            raise UnknownPatron("no directory entry for this card")
        if self.settings.auth_mode == "compare":
            ok = self._with_service(deadline, lambda c, t: self._compare_pin(c, t, dn, secret))
        else:
            ok = self._bind_as_patron(dn, secret, deadline)
        if not ok:
            log.info("ldap %s: wrong password for card %s", self.library, mask_card(normalized))
            raise InvalidCredentials("the directory refused the password")
        return patron_from_entry(attrs, self.settings.attributes, normalized)

    def lookup(self, card: str) -> PatronRecord | None:
        """Find a patron by card, without a secret; None when the directory has no entry."""
        try:
            normalized = self._normalize(card)
        except UnknownPatron:
            return None
        dn, attrs = self._find(normalized, _Deadline(self.settings.timeout))
        if dn is None:
            return None
        return patron_from_entry(attrs, self.settings.attributes, normalized)

    def check(self) -> Health:
        """Read the base entry with the service account and report how long it took."""
        started = time.monotonic()
        try:
            self._with_service(_Deadline(self.settings.timeout), self._read_base)
        except ConnectorUnavailable as exc:
            return Health(False, str(exc), round((time.monotonic() - started) * 1000, 1))
        return Health(True, "directory answers", round((time.monotonic() - started) * 1000, 1))

    def close(self) -> None:
        """Close the idle connections (the connector stays usable)."""
        self._service.close()
        self._binder.close()

    # -- steps -----------------------------------------------------------------

    def _normalize(self, card: str) -> str:
        normalized = normalize_card(card, case=self.settings.card_case,
                                    strip_spaces=self.settings.card_strip_spaces)
        if not normalized or len(normalized) > self.settings.card_max_length:
            raise UnknownPatron("not a card number")
        return normalized

    def _find(self, card: str, deadline: _Deadline) -> tuple[str | None, dict[str, list[bytes]]]:
        """The DN and attributes of the entry of ``card``; (None, {}) when there is none."""
        flt = self.settings.search_filter.replace(CARD_PLACEHOLDER, escape_filter_chars(card))
        wanted = self.settings.attributes.requested()

        def search(conn: LDAPObject, timeout: float) -> list[tuple[str | None, dict]]:
            try:
                return conn.search_ext_s(self.settings.base_dn, _SCOPES[self.settings.scope], flt,
                                         attrlist=wanted, timeout=timeout, sizelimit=2)
            except ldap.SIZELIMIT_EXCEEDED as exc:
                raise ConnectorProtocolError("several directory entries match this card",
                                             raw=_describe(exc)) from exc
            except ldap.NO_SUCH_OBJECT as exc:
                raise ConnectorUnavailable(f"base_dn does not exist: {self.settings.base_dn}") from exc
            except ldap.FILTER_ERROR as exc:
                raise ConnectorUnavailable("search_filter is not a valid LDAP filter") from exc

        results = self._with_service(deadline, search)
        entries = [(dn, attrs) for dn, attrs in results if dn]  # dn None: a referral
        if len(entries) > 1:
            raise ConnectorProtocolError("several directory entries match this card",
                                         raw=f"{len(entries)} entries")
        if not entries:
            return None, {}
        dn, attrs = entries[0]
        if not isinstance(attrs, dict):
            raise ConnectorProtocolError("unreadable search result", raw=repr(attrs)[:200])
        return dn, attrs

    def _compare_pin(self, conn: LDAPObject, timeout: float, dn: str, secret: str) -> bool:
        conn.timeout = timeout
        try:
            return bool(conn.compare_s(dn, self.settings.pin_attribute, secret.encode("utf-8")))
        except ldap.NO_SUCH_ATTRIBUTE:
            return False  # the entry has no PIN: nobody may log in with it
        except ldap.UNDEFINED_TYPE as exc:
            raise ConnectorUnavailable(
                f"pin_attribute {self.settings.pin_attribute} is unknown to the directory") from exc
        except ldap.INSUFFICIENT_ACCESS as exc:
            raise ConnectorUnavailable(
                f"the service account may not compare {self.settings.pin_attribute}") from exc
        except ldap.NO_SUCH_OBJECT:
            return False  # the entry vanished between search and compare

    def _bind_as_patron(self, dn: str, secret: str, deadline: _Deadline) -> bool:
        """Bind on a connection kept for patron binds; never reused for searches."""

        def bind(conn: LDAPObject, timeout: float) -> bool:
            conn.timeout = timeout
            try:
                conn.simple_bind_s(dn, secret)
            except (ldap.INVALID_CREDENTIALS, ldap.UNWILLING_TO_PERFORM, ldap.INAPPROPRIATE_AUTH,
                    ldap.NO_SUCH_OBJECT, ldap.CONSTRAINT_VIOLATION):
                return False
            return True

        return self._call(self._binder, deadline, bind)

    def _read_base(self, conn: LDAPObject, timeout: float) -> None:
        try:
            conn.search_ext_s(self.settings.base_dn, ldap.SCOPE_BASE, "(objectClass=*)",
                              attrlist=["1.1"], timeout=timeout)
        except ldap.NO_SUCH_OBJECT as exc:
            raise ConnectorUnavailable(f"base_dn does not exist: {self.settings.base_dn}") from exc

    # -- connections -----------------------------------------------------------

    def _with_service(self, deadline: _Deadline, operation: Callable[[LDAPObject, float], T]) -> T:
        return self._call(self._service, deadline, operation)

    def _call(self, pool: ConnectionPool, deadline: _Deadline,
              operation: Callable[[LDAPObject, float], T]) -> T:
        """Run ``operation`` on a pooled connection, once more on a fresh one if a kept one was dropped."""
        while True:
            try:
                with self._translated():
                    conn, reused = pool.acquire(deadline.remaining())
            except ConnectorUnavailable as exc:
                log.warning("ldap %s: %s", self.library, exc)
                raise
            try:
                with self._translated():
                    result = operation(conn, deadline.remaining())
            except ConnectorUnavailable as exc:
                discard(conn)
                if reused and isinstance(exc.__cause__, ldap.SERVER_DOWN):
                    log.info("ldap %s: kept connection was dropped, reconnecting", self.library)
                    continue
                log.warning("ldap %s: %s", self.library, exc)
                raise
            except BaseException:
                discard(conn)
                raise
            pool.release(conn)
            return result

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Turn python-ldap errors into connector errors."""
        try:
            yield
        except (ConnectorUnavailable, InvalidCredentials):
            raise
        except _DOWN as exc:
            hint = " (TLS handshake or certificate check may have failed: see ca_file)" \
                if self.settings.uses_tls and isinstance(exc, ldap.SERVER_DOWN) else ""
            raise ConnectorUnavailable(f"directory unavailable: {_describe(exc)}{hint}") from exc
        except _GARBAGE as exc:
            raise ConnectorProtocolError(f"the directory answered garbage: {_describe(exc)}",
                                         raw=_describe(exc)) from exc
        except ldap.INVALID_CREDENTIALS as exc:
            raise ConnectorUnavailable("the directory refused the service account (bind_dn/bind_password)") from exc
        except ldap.LDAPError as exc:
            raise ConnectorUnavailable(f"directory error: {_describe(exc)}") from exc

    def _open_guarded(self, timeout: float) -> LDAPObject:
        """Open a bound connection within ``timeout``, even when a TLS handshake stalls.

        libldap bounds the TCP connect and every LDAP operation, but not the
        TLS handshake of ldaps://: a server that accepts and then stays silent
        would hold the caller forever. TLS connections are therefore opened in
        a helper thread that the caller stops waiting for; a stalled helper
        ends when the server closes the socket, and at most ``pool_size`` of
        them may be pending before new attempts fail at once.
        """
        if not self.settings.uses_tls:
            return self._open_service(timeout)
        with self._stuck_lock:
            if self._stuck >= self.settings.pool_size:
                raise ConnectorUnavailable("earlier TLS handshakes with the directory are still stalled")
        state: dict[str, object] = {}
        finished = threading.Event()

        def run() -> None:
            try:
                state["conn"] = self._open_service(timeout)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                state["error"] = exc
            with self._stuck_lock:
                state["done"] = True
                if state.get("abandoned"):
                    self._stuck -= 1
                    if "conn" in state:
                        discard(state["conn"])  # type: ignore[arg-type]  # state holds the connection under "conn"
            finished.set()

        threading.Thread(target=run, name="ldap-tls-open", daemon=True).start()
        finished.wait(timeout)
        with self._stuck_lock:
            if not state.get("done"):
                state["abandoned"] = True
                self._stuck += 1
                raise ConnectorUnavailable("the TLS handshake with the directory did not finish in time")
        if "error" in state:
            raise state["error"]  # type: ignore[misc]  # state holds the exception under "error"
        return state["conn"]  # type: ignore[return-value]  # as above, the connection

    def _open(self, timeout: float) -> LDAPObject:
        """A new connection, TLS negotiated, not yet bound."""
        s = self.settings
        conn = ldap.initialize(s.url)
        try:
            conn.set_option(ldap.OPT_PROTOCOL_VERSION, ldap.VERSION3)
            conn.set_option(ldap.OPT_REFERRALS, 0)
            conn.set_option(ldap.OPT_NETWORK_TIMEOUT, timeout)
            conn.set_option(ldap.OPT_TIMEOUT, timeout)
            conn.timeout = timeout
            if s.uses_tls:
                conn.set_option(ldap.OPT_X_TLS_REQUIRE_CERT,
                                ldap.OPT_X_TLS_DEMAND if s.tls_verify else ldap.OPT_X_TLS_NEVER)
                if s.ca_file:
                    conn.set_option(ldap.OPT_X_TLS_CACERTFILE, s.ca_file)
                conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
            if s.start_tls:
                conn.start_tls_s()
        except BaseException:
            discard(conn)
            raise
        return conn

    def _open_service(self, timeout: float) -> LDAPObject:
        """A new connection bound as the service account (or anonymous).

        Connections for patron binds are opened the same way: the bind makes
        sure the directory is reachable before a patron's bind is attempted.
        """
        started = time.monotonic()
        conn = self._open(timeout)
        try:
            conn.timeout = max(0.001, timeout - (time.monotonic() - started))
            if self.settings.bind_dn:
                password = self.settings.bind_password.get_secret_value() if self.settings.bind_password else ""
                conn.simple_bind_s(self.settings.bind_dn, password)
            else:
                conn.simple_bind_s("", "")
        except BaseException:
            discard(conn)
            raise
        return conn
