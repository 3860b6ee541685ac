"""Load the demo network shipped in broker/demo_data/ (once)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from .db.models import Network
from .services import libraries, memberships, network, staff, suppliers

if TYPE_CHECKING:
    from .runtime import Runtime

DEMO_DIR = Path(__file__).parent / "demo_data"
SIP2_LOGIN = "sesame"
SIP2_PASSWORD = "sip2-demo"


def load_demo(runtime: Runtime, session: Session, *, sip2_port: int = 6001, demo_dir: Path = DEMO_DIR) -> dict:
    data = tomllib.loads((demo_dir / "network.toml").read_text(encoding="utf-8"))
    first = data["networks"][0]["slug"]
    if session.scalar(select(Network.id).where(Network.slug == first)) is not None:
        moved = _point_sip2_libraries_at(runtime, session, data, sip2_port)
        return {"loaded": False, "reason": "the demo network is already there", "sip2_libraries_moved": moved}
    actor = "demo"
    for n in data["networks"]:
        network.add_network(runtime, session, n["slug"], n["name"], scope=n.get("scope", ""),
                            branding=n.get("branding", {}), contact_email=n.get("contact_email", ""), actor=actor)
    for p in data["partners"]:
        network.add_partner(runtime, session, p["slug"], name=p["name"], kind=p["kind"], population=p["population"],
                            network=p["network"], agreement=p.get("agreement"), rate=p.get("rate"), actor=actor)
    for lib in data["libraries"]:
        settings = _sip2_settings(lib["code"], sip2_port) if lib["connector"] == "sip2" else {}
        libraries.add_library(runtime, session, lib["code"], name=lib["name"], partner=lib["partner"],
                              connector=lib["connector"], settings=settings,
                              registration=lib.get("registration", "referent"), commune=lib.get("commune", ""),
                              contact_email=lib.get("contact_email", ""), actor=actor)
    for s in data["suppliers"]:
        suppliers.add_supplier(runtime, session, s["slug"], name=s["name"], networks=s["networks"],
                               category=s.get("category", ""), description=s.get("description", ""),
                               login_url=s.get("login_url", ""), min_age=s.get("min_age"), max_age=s.get("max_age"),
                               release=s.get("release"), actor=actor)
    for local in data.get("local_patrons", []):
        from connectors.local import patrons as local_patrons

        text = (demo_dir / local["file"]).read_text(encoding="utf-8")
        local_patrons.import_rows(runtime, session, local["library"], local_patrons.parse(text), actor=actor)
    for block in data.get("memberships", []):
        rows = [memberships.ImportRow(i, r["card"], r.get("email"), r["state"]) for i, r in enumerate(block["rows"], 2)]
        memberships.import_rows(runtime, session, block["library"], rows, actor=actor)
    accounts = []
    for s in data.get("staff", []):
        staff.add_staff(runtime, session, s["email"], s["role"], s["scope"], name=s.get("name", ""),
                        password=s["password"], actor=actor)
        accounts.append({"email": s["email"], "role": s["role"], "scope": s["scope"], "password": s["password"]})
    return {"loaded": True, "networks": len(data["networks"]), "libraries": len(data["libraries"]),
            "suppliers": len(data["suppliers"]), "staff": accounts}


def _sip2_settings(code: str, port: int) -> dict[str, str]:
    return {"host": "127.0.0.1", "port": str(port), "login": SIP2_LOGIN, "password": SIP2_PASSWORD,
            "institution": code}


def _point_sip2_libraries_at(runtime: Runtime, session: Session, data: dict, sip2_port: int) -> int:
    """The demo's SIP2 libraries talk to the emulator on ``sip2_port`` (the demo may start on another)."""
    moved = 0
    for lib in data["libraries"]:
        if lib["connector"] != "sip2":
            continue
        current = libraries.get_library(session, lib["code"])
        if current.connector == "sip2" and str((current.connector_settings or {}).get("port")) != str(sip2_port):
            libraries.update_connector(runtime, session, lib["code"], "sip2", _sip2_settings(lib["code"], sip2_port),
                                       actor="demo")
            moved += 1
    return moved


def register_demo_suppliers(runtime: Runtime, session: Session, base_url: str | None = None) -> list[dict] | str:
    """The three demo suppliers (SAML, OIDC, CAS) at ``base_url`` (default: the setting), added or refreshed.

    They need ``demo = true`` (their pages are served only then) and the ``demo`` extra (their client
    libraries); otherwise nothing is registered and the reason is returned.
    """
    if not runtime.settings.demo:
        return "skipped: the setting demo is false, so their pages are not served"
    try:
        import cas  # noqa: F401
        import jwkest  # noqa: F401
        import onelogin.saml2  # noqa: F401
    except ImportError as exc:
        return f"skipped: the demo extra is not installed ({exc.name})"
    from .demo_suppliers import registration

    return registration.register(runtime, session, base_url)
