"""Linking one person's library cards through the JSON API (network admins, within their networks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import jsonify

from ...services import person_admin, staff_desk
from ...services.libraries import get_library
from .admin_routes import admin_bp, admin_only, body, text_field
from .auth import api_view

if TYPE_CHECKING:
    from ...runtime import Runtime


def _in_scope(db, user, action: str, *codes: str | None) -> None:
    networks = admin_only(user, action)
    for code in codes:
        lib = get_library(db, (code or "").strip())
        if lib.partner.network_id not in networks:
            raise staff_desk.deny(user, action, lib.code)


@admin_bp.post("/patrons/link")
@api_view
def patrons_link(rt: Runtime, db, user):
    data = body(("library_a", "card_a", "library_b", "card_b"), required=("library_a", "card_a", "library_b", "card_b"))
    values = [text_field(data, name) or "" for name in ("library_a", "card_a", "library_b", "card_b")]
    _in_scope(db, user, "person.link", values[0], values[2])
    result = person_admin.link(rt, db, *values, actor=user.email)
    return jsonify(result.as_dict())


@admin_bp.post("/patrons/unlink")
@api_view
def patrons_unlink(rt: Runtime, db, user):
    data = body(("library", "card"), required=("library", "card"))
    library, card = text_field(data, "library") or "", text_field(data, "card") or ""
    _in_scope(db, user, "person.unlink", library)
    result = person_admin.unlink(rt, db, library, card, actor=user.email)
    return jsonify(result.as_dict())
