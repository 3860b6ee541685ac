"""The JSON API under /api/v1 for scripts and SIGBs, authenticated with per-staff bearer tokens."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def init_app(app: Flask) -> None:
    """Register the API; it is CSRF-exempt because no cookie authenticates it, only the bearer token."""
    from . import providers, routes  # noqa: F401  (routes attach to bp)

    app.extensions["csrf"].exempt(bp)
    app.register_blueprint(bp)
    from . import counter_routes  # noqa: F401  (suppliers' SUSHI accounts, on admin_bp)
    from .admin_routes import admin_bp  # network administration (partners, fees, staff accounts)
    from . import person_routes  # noqa: F401  (linked cards: attach to admin_bp)
    from . import supplier_routes  # noqa: F401  (suppliers of every protocol: attach to admin_bp)

    app.extensions["csrf"].exempt(admin_bp)
    app.register_blueprint(admin_bp)
