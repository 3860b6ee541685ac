"""CAS services: registered on Supplier rows as fully anchored URL patterns, looked up per process.

Only registered services get tickets (no open redirect): a service URL is
matched with ``re.fullmatch`` against the patterns of each CAS supplier, in
registration order; the first supplier that matches owns it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db.models import Supplier
from ...errors import Conflict, InvalidInput
from ...services import audit
from ...services import suppliers as supplier_service
from ...web.redirects import sendable
from ..registry_cache import invalidate, registry

if TYPE_CHECKING:
    from ...runtime import Runtime

MAX_PATTERN = 500
MAX_SERVICE = 2048
#: URLs no sensible pattern matches: a pattern that does is too broad to be an allow-list
_FOREIGN = ("https://attacker.example/", "http://attacker.example/", "https://attacker.example/?https://x",
            "javascript:alert(1)", "data:text/html,x", "//attacker.example/")


@dataclass(frozen=True)
class CasService:
    """A supplier that takes CAS tickets, with its compiled service patterns."""

    supplier_id: int
    slug: str
    name: str
    patterns: tuple[re.Pattern[str], ...]
    login_url: str = ""
    #: the service takes CAS single logout: a logoutRequest POSTed to its service URL when a session ends
    single_logout: bool = False
    #: the Supplier row (with its networks, detached) for the access decision
    supplier: Supplier | None = field(default=None, repr=False, compare=False)

    def matches(self, service: str) -> bool:
        return any(p.fullmatch(service) for p in self.patterns)


def check_pattern(pattern: str) -> str:
    """A service pattern an admin may register: a valid regex, not matching foreign URLs."""
    pattern = (pattern or "").strip()
    if not pattern or len(pattern) > MAX_PATTERN:
        raise InvalidInput(f"service pattern: expected a regular expression of at most {MAX_PATTERN} characters")
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise InvalidInput(f"service pattern {pattern!r}: not a valid regular expression ({exc})") from None
    broad = [url for url in (*_FOREIGN, *_host_escapes(pattern)) if compiled.fullmatch(url)]
    if broad:
        raise InvalidInput(f"service pattern {pattern!r}: too broad, it accepts {broad[0]!r}; anchor it on the "
                           "supplier's own https:// address, e.g. ^https://www\\.example\\.org/.*$")
    return pattern


#: the literal start of a pattern: scheme and host (``\.`` for dots), as admins write them
_LITERAL_HOST = re.compile(r"^\^?(https?)(?:\?)?://((?:[A-Za-z0-9-]|\\\.)+)")


def _host_escapes(pattern: str) -> tuple[str, ...]:
    r"""URLs that leave the pattern's own host while keeping its text as a prefix.

    ``https://ok\.example\.org.*`` names ok.example.org but also accepts
    ``https://ok.example.org.attacker.example/`` and ``https://ok.example.org@attacker.example/``:
    a ticket would go to the attacker's host.
    """
    found = _LITERAL_HOST.match(pattern)
    if found is None:
        return ()
    scheme, host = found.group(1), found.group(2).replace("\\.", ".")
    return (f"{scheme}://{host}.attacker.example/", f"{scheme}://{host}@attacker.example/",
            f"{scheme}://{host}:443@attacker.example/")


def _service_from_row(row: Supplier) -> CasService | None:
    patterns = ((row.config or {}).get("cas") or {}).get("service_patterns") or []
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern))
        except re.error:
            continue  # registration validated it; a damaged row just loses that pattern
    if not compiled:
        return None
    single_logout = bool(((row.config or {}).get("cas") or {}).get("single_logout"))
    return CasService(row.id, row.slug, row.name, tuple(compiled), row.login_url or "", single_logout, row)


def services(runtime: Runtime) -> tuple[CasService, ...]:
    """Every enabled CAS service of this instance, in registration order (cached per process)."""

    def build(rows: list[Supplier]) -> tuple[CasService, ...]:
        found = (_service_from_row(r) for r in rows)
        return tuple(s for s in found if s is not None)

    return registry(runtime, "cas", build).get()


def acceptable_url(service: str | None) -> bool:
    # the service gets the ticket in a Location header: it must go out exactly as it came in
    # (no control character or space, ASCII as sent, an encodable host and a valid port)
    if not service or len(service) > MAX_SERVICE or sendable(service) != service:
        return False
    try:
        parts = urlsplit(service)
    except ValueError:
        return False
    # user info before the host ("https://ok.example.org@elsewhere/") only ever serves to hide the real host
    return parts.scheme in ("http", "https") and bool(parts.hostname) and "@" not in parts.netloc


def find_service(runtime: Runtime, service: str | None) -> CasService | None:
    """The registered service that owns this URL, or None (never a guess)."""
    if not acceptable_url(service):
        return None
    for candidate in services(runtime):
        if candidate.matches(service):
            return candidate
    return None


def register(runtime: Runtime, session: Session, slug: str, *, patterns: Iterable[str], networks: Iterable[str] = (),
             name: str | None = None, login_url: str = "", release: str | list[str] | None = None,
             single_logout: bool = False, actor: str = "cli") -> Supplier:
    """Make a supplier a CAS service (creating the supplier when new)."""
    checked = list(dict.fromkeys(check_pattern(p) for p in patterns))
    if not checked:
        raise InvalidInput("a CAS service needs at least one --service-pattern")
    if login_url and not acceptable_url(login_url):
        raise InvalidInput(f"login URL {login_url!r}: expected an http(s) URL")
    conf: dict = {"service_patterns": checked}
    if single_logout:
        conf["single_logout"] = True
    row = session.scalar(select(Supplier).where(Supplier.slug == slug))
    if row is None:
        row = supplier_service.add_supplier(runtime, session, slug, name=name or slug, networks=list(networks),
                                            protocol="cas", login_url=login_url, release=release,
                                            config={"cas": conf}, actor=actor)
    else:
        if row.protocol not in ("none", ""):
            raise Conflict(f"supplier '{slug}' already uses {row.protocol}; a CAS service needs a supplier "
                           "without protocol")
        row.config = {**(row.config or {}), "cas": conf}
        row.protocol = "cas"
        supplier_service.update_common(session, row, name=name, login_url=login_url, release=release,
                                       networks=networks)
        session.flush()
        audit.record(runtime, session, actor, "supplier.cas", slug)
    invalidate(runtime, "cas")
    return row


def update_service(runtime: Runtime, session: Session, row: Supplier, *, patterns: Iterable[str] | None = None,
                   single_logout: bool | None = None) -> None:
    """Change a CAS service's patterns or single logout (None: unchanged); patterns checked as at registration."""
    conf = dict((row.config or {}).get("cas") or {})
    if patterns is not None:
        checked = list(dict.fromkeys(check_pattern(p) for p in patterns))
        if not checked:
            raise InvalidInput("a CAS service needs at least one service pattern")
        conf["service_patterns"] = checked
    if single_logout is not None:
        if single_logout:
            conf["single_logout"] = True
        else:
            conf.pop("single_logout", None)
    row.config = {**(row.config or {}), "cas": conf}
    session.flush()
    invalidate(runtime, "cas")


def try_patterns(patterns: Iterable[str], url: str) -> int | None:
    """Which of ``patterns`` (checked as at registration) gives ``url`` tickets: its index, or None.

    A URL a browser could not be sent back to exactly (``acceptable_url``) matches none.
    """
    checked = [check_pattern(p) for p in patterns]
    if not acceptable_url(url):
        return None
    for index, pattern in enumerate(checked):
        if re.fullmatch(pattern, url):
            return index
    return None
