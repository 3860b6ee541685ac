"""Consortium members a supplier knows (SUSHI ``/members``), each mapped once to a library.

A member is suggested a library whose code appears among its identifiers, or
whose name matches its name (accents, case and the words "bibliothèque",
"médiathèque"… aside); a network admin confirms it. A supplier whose
``/members`` lists only the customer itself (or that has none) reports for the
whole network: no mapping is needed.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db.counter_models import SushiAccount, SushiMember
from ...db.models import Library, Partner, Supplier
from ...errors import NotFound
from .. import audit
from ..field_errors import FieldError
from . import sushi

if TYPE_CHECKING:
    from ...runtime import Runtime

_NOISE = {"bibliotheque", "mediatheque", "municipale", "intercommunale", "de", "du", "la", "le", "les", "des", "d",
          "l", "et", "reseau", "library", "of", "the"}


def _words(name: str) -> frozenset[str]:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return frozenset(w for w in re.split(r"[^a-z0-9]+", plain) if w and w not in _NOISE)


def _identifiers(entry: dict) -> set[str]:
    raw = entry.get("Institution_ID")
    values: set[str] = set()
    if isinstance(raw, list):  # 5.0: [{"Type", "Value"}]
        values |= {str(i.get("Value", "")) for i in raw if isinstance(i, dict)}
    elif isinstance(raw, dict):  # 5.1: {"ISIL": [...], "Proprietary": [...]}
        for v in raw.values():
            values |= {str(x) for x in (v if isinstance(v, list) else [v])}
    return {v.split(":", 1)[-1] for v in values if v}


def libraries_of(session: Session, supplier: Supplier) -> list[Library]:
    """The libraries of the networks offering ``supplier``."""
    ids = [n.id for n in supplier.networks]
    return list(session.scalars(select(Library).join(Partner).where(Partner.network_id.in_(ids))
                                .order_by(Library.code)))


def suggest(entry: dict, libraries: list[Library]) -> Library | None:
    ids = _identifiers(entry)
    for lib in libraries:
        if lib.code in ids:
            return lib
    words = _words(str(entry.get("Name", "")))
    if not words:
        return None
    scored = sorted(((len(words & _words(lib.name)) / len(words | _words(lib.name)), lib.code, lib)
                     for lib in libraries), key=lambda t: (-t[0], t[1]))
    if scored and scored[0][0] >= 0.5 and (len(scored) == 1 or scored[1][0] < scored[0][0]):
        return scored[0][2]
    return None


def store(session: Session, supplier: Supplier, account: SushiAccount, entries: list) -> list[SushiMember]:
    """Record the members listed by ``/members`` (the customer itself aside); the mappings already confirmed stay."""
    libraries = libraries_of(session, supplier)
    known = {m.customer_id: m
             for m in session.scalars(select(SushiMember).where(SushiMember.supplier_id == supplier.id))}
    out = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("Customer_ID"), str):
            continue
        cid = entry["Customer_ID"].strip()[:200]
        if not cid or cid == account.customer_id:
            continue
        member = known.get(cid)
        if member is None:
            member = SushiMember(supplier_id=supplier.id, customer_id=cid)
            session.add(member)
            known[cid] = member
        member.name = str(entry.get("Name", ""))[:300]
        found = suggest(entry, libraries)
        member.suggested_library_id = found.id if found else None
        out.append(member)
    session.flush()
    return out


def refresh(runtime: Runtime, session: Session, supplier: Supplier, account: SushiAccount) -> list[SushiMember]:
    """Ask ``/members`` and store what it lists; a server without /members (404, exception) lists none."""
    from .accounts import api_key

    creds = sushi.Credentials(account.url, account.customer_id, account.requestor_id, api_key(runtime, account),
                              account.platform)
    try:
        entries = sushi.get(creds, "members")
    except sushi.SushiProblem as problem:
        if problem.kind in ("credentials", "backoff"):
            raise
        return []
    if not isinstance(entries, list):
        raise sushi.SushiProblem("fault", "/members did not answer a list")
    return store(session, supplier, account, entries)


def confirm(runtime: Runtime, session: Session, supplier: Supplier, customer_id: str, library: str | None, *,
            actor: str = "cli") -> SushiMember:
    """Map the member to ``library`` (a code; "" takes the suggested one; None removes the mapping)."""
    member = session.scalar(select(SushiMember).where(SushiMember.supplier_id == supplier.id,
                                                      SushiMember.customer_id == customer_id))
    if member is None:
        raise NotFound(f"supplier '{supplier.slug}' lists no member {customer_id[:200]!r} "
                       f"(broker suppliers members {supplier.slug} --refresh)", code="unknown_member")
    if library is None:
        member.library_id, member.confirmed_by = None, ""
    else:
        allowed = {lib.code: lib for lib in libraries_of(session, supplier)}
        if library == "":
            if member.suggested_library_id is None:
                raise FieldError("library", "no_suggestion", f"no library is suggested for {customer_id!r}: name one")
            member.library_id = member.suggested_library_id
        elif library in allowed:
            member.library_id = allowed[library].id
        else:
            raise FieldError("library", "unknown_library",
                             f"library {library[:64]!r} is not in a network offering '{supplier.slug}'")
        member.confirmed_by = actor[:254]
    session.flush()
    audit.record(runtime, session, actor, "supplier.member", supplier.slug, customer_id=customer_id,
                 library=library)
    return member


def member_json(session: Session, member: SushiMember) -> dict:
    codes = {lib.id: lib.code for lib in session.scalars(select(Library).where(
        Library.id.in_([i for i in (member.library_id, member.suggested_library_id) if i is not None])))}
    return {"customer_id": member.customer_id, "name": member.name,
            "suggested_library": codes.get(member.suggested_library_id), "library": codes.get(member.library_id),
            "confirmed": member.library_id is not None}
