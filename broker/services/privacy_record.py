"""The record of processing (GDPR art. 30) generated from the same facts the code acts on.

``docs/privacy.md`` is written for a data-protection officer; its tables of
retention periods and of what each supplier receives are generated here, from
the settings (``broker/config.py``) and the suppliers' release policies
(``services.release``), between ``<!-- generated:NAME -->`` markers. The
repository's copy shows the default settings and the demo network; ``broker
privacy record`` prints the same document with an instance's own settings and
suppliers. A test keeps the repository's copy up to date:

    .venv/bin/python -m broker.services.privacy_record docs/privacy.md
"""

from __future__ import annotations

import dataclasses
import re
import sys
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Settings
from .suppliers import RELEASABLE, parse_release

if TYPE_CHECKING:
    from ..runtime import Runtime

#: the record in a source checkout (an installed package carries no docs: the record is then printed alone)
DOC = Path(__file__).resolve().parents[2] / "docs" / "privacy.md"
DEMO_NETWORK = Path(__file__).resolve().parent.parent / "demo_data" / "network.toml"

#: what a release policy item means, for the DPO (the order of the table's columns)
ATTRIBUTE_MEANING = {
    "library": "library code (ISIL)",
    "network": "network name",
    "birth_year": "birth year",
    "age_bracket": "age bracket (e.g. 18-25)",
    "display_name": "first and last name",
    "email": "e-mail address",
}
ALWAYS_RELEASED = ("pairwise pseudonymous identifier (per supplier, never the card number)",
                   "entitlement `common-lib-terms`", "scoped affiliation `member@<network scope>`")


@dataclass(frozen=True)
class RetentionRow:
    data: str
    kept: str
    setting: str

    def as_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ReleaseRow:
    supplier: str
    protocol: str
    networks: tuple[str, ...]
    release: tuple[str, ...]


def _days(n: int) -> str:
    return f"{n} days" + (f" (about {round(n / 30.4)} months)" if n >= 60 else "")


def retention_table(settings: Any) -> list[RetentionRow]:
    """How long each kind of data is kept, with the setting that decides it."""
    s = settings
    return [
        RetentionRow("Raw usage events (time, library, supplier, outcome, pseudonymous patron key)",
                     f"{_days(s.retention_usage_events_days)}, then deleted once their month is aggregated",
                     "retention_usage_events_days"),
        RetentionRow("Monthly statistics (counts per library and supplier, no key, no person)",
                     "kept: anonymous", "—"),
        RetentionRow("Refused registration (patron data and reasons)",
                     f"{_days(s.retention_refused_registrations_days)} after the refusal, then erased",
                     "retention_refused_registrations_days"),
        RetentionRow("Registration left pending without a decision",
                     f"{_days(s.retention_refused_registrations_days)}, then closed and erased",
                     "retention_refused_registrations_days"),
        RetentionRow("Ended membership (closed by staff, expired card or agreement)",
                     f"{_days(s.retention_inactive_membership_days)} after the end, then erased",
                     "retention_inactive_membership_days"),
        RetentionRow("Account closed by the patron", "erased at once", "—"),
        RetentionRow("Linked cards of one person (which cards, when and by whom linked, which card's identifier "
                     f"each supplier keeps; at most {s.cards_max_per_person} cards)",
                     "until the card is unlinked or its account erased: the card and its part of the history "
                     "are then deleted at once", "cards_max_per_person"),
        RetentionRow("Card number of a pending registration (encrypted, for the referent's SIGB check)",
                     "until the referent decides", "—"),
        RetentionRow("Login session (patron identifier, login time, and what the access decision reads: "
                     "membership state, card validity, birth year; no name, e-mail or card number)", f"at most {s.session_absolute_timeout // 3600} hours, "
                     f"{s.session_idle_timeout // 60} minutes without activity",
                     "session_absolute_timeout, session_idle_timeout"),
        RetentionRow("One-time codes and tickets (OIDC, CAS)",
                     f"{s.oidc_code_lifetime} s (OIDC code), {s.cas_ticket_lifetime} s (CAS ticket), single use",
                     "oidc_code_lifetime, cas_ticket_lifetime"),
        RetentionRow("E-mail to a patron in the outbox (address, subject, text)",
                     "until sent, then the address and the text are erased; one that cannot be sent after "
                     f"{s.mail_max_attempts} attempts: until a network admin sends it again or deletes it, "
                     f"at most {_days(s.mail_keep_days)}",
                     "mail_max_attempts, mail_keep_days"),
        RetentionRow("Trace of a sent e-mail (subject and dates; no address, no text)",
                     f"{_days(s.mail_keep_days)}, then deleted", "mail_keep_days"),
        RetentionRow("Login guards: failures per client address (counts), and the pair (client address, keyed "
                     "digest of a card or staff account) that signed in from it, so that it skips that address's "
                     "back-off (no card number, no PIN)",
                     f"counts {s.login_ip_window // 3600} hours at most; pairs {s.login_known_days} days",
                     "login_ip_window, login_known_days"),
        RetentionRow("Audit trail (staff actions; a patron appears as library code and last four card characters)",
                     "kept with the agreement's records: no automatic deletion", "—"),
    ]


def release_table(suppliers: Iterable[Any]) -> list[ReleaseRow]:
    """What each supplier receives, from its release policy (objects with slug/name/protocol/networks/release)."""
    rows = []
    for s in suppliers:
        networks = tuple(sorted(getattr(n, "slug", n) for n in (s.networks or ())))
        rows.append(ReleaseRow(f"{s.name} (`{s.slug}`)", s.protocol or "none", networks,
                               tuple(r for r in RELEASABLE if r in (s.release or []))))
    return sorted(rows, key=lambda r: r.supplier.lower())


def render_retention(rows: list[RetentionRow]) -> str:
    lines = ["| Data | Kept | Setting |", "|---|---|---|"]
    for r in rows:
        setting = ", ".join(f"`{name}`" for name in r.setting.split(", ")) if r.setting != "—" else "—"
        lines.append(f"| {r.data} | {r.kept} | {setting} |")
    return "\n".join(lines)


def render_release(rows: list[ReleaseRow]) -> str:
    head = ["Supplier", "Protocol", "Networks"] + [ATTRIBUTE_MEANING[a] for a in RELEASABLE]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        marks = ["yes" if a in r.release else "—" for a in RELEASABLE]
        lines.append("| " + " | ".join([r.supplier, r.protocol, ", ".join(r.networks)] + marks) + " |")
    if not rows:
        lines.append("| (no supplier registered) |" + " |" * (len(head) - 1))
    lines += ["", "Every supplier also receives: " + "; ".join(ALWAYS_RELEASED) + "."]
    return "\n".join(lines)


@dataclass(frozen=True)
class _DemoSupplier:
    slug: str
    name: str
    protocol: str
    networks: tuple[str, ...]
    release: list[str]


def demo_suppliers(path: Path = DEMO_NETWORK) -> list[_DemoSupplier]:
    """The demo network's suppliers as ``broker demo`` registers them (same default release policy)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [_DemoSupplier(s["slug"], s["name"], s.get("protocol", "none"), tuple(s["networks"]),
                          parse_release(s.get("release"))) for s in data.get("suppliers", [])]


def default_settings() -> Any:
    """The settings' defaults (what a new instance uses until configured)."""
    values = {f.name: f.default for f in dataclasses.fields(Settings) if f.default is not dataclasses.MISSING}
    return type("Defaults", (), values)


def sections(settings: Any, suppliers: Iterable[Any]) -> dict[str, str]:
    return {"retention": render_retention(retention_table(settings)),
            "release": render_release(release_table(suppliers))}


_BLOCK = re.compile(r"(<!-- generated:(?P<name>[a-z]+) -->\n)(?P<body>.*?)(\n<!-- /generated:(?P=name) -->)", re.S)


def fill(text: str, generated: dict[str, str]) -> str:
    """The document with each generated block replaced by its fresh content."""
    def replace(match: re.Match) -> str:
        name = match.group("name")
        return match.group(1) + generated.get(name, match.group("body")) + match.group(4)

    return _BLOCK.sub(replace, text)


def repository_document() -> str:
    """docs/privacy.md as it should read: defaults and the demo network."""
    return fill(DOC.read_text(encoding="utf-8"), sections(default_settings(), demo_suppliers()))


def instance_document(runtime: Runtime, session) -> str:
    """The record of processing of this instance: its settings and its suppliers."""
    from . import suppliers as supplier_service

    generated = sections(runtime.settings, supplier_service.list_suppliers(session))
    if DOC.is_file():
        return fill(DOC.read_text(encoding="utf-8"), generated)
    return "\n\n".join(f"## {name}\n\n{body}" for name, body in generated.items()) + "\n"


def main(argv: list[str] | None = None) -> int:
    target = Path((argv or sys.argv[1:] or [str(DOC)])[0])
    target.write_text(repository_document(), encoding="utf-8")
    print("wrote", target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
