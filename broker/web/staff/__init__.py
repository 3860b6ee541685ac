"""The staff back-office under /staff/: referents and network admins manage memberships."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("staff", __name__, url_prefix="/staff")


def init_app(app: Flask) -> None:
    """Register the staff pages (CSRF-protected like every form)."""
    # The routes attach to bp in this order: not sorted.
    # isort: off
    from . import admin, exports, guard, login, mail, memberships, patrons  # noqa: F401  (routes attach to bp)
    from . import accounts, admin_guard, fees, libraries, network_queue, partners  # noqa: F401  (network admin pages)
    from . import keys  # noqa: F401  (the instance's keys, read-only)
    from . import person_links  # noqa: F401  (a patron's linked cards)
    from . import supplier_usage  # noqa: F401  (suppliers' SUSHI accounts and COUNTER files)
    from . import supplier_settings  # noqa: F401  (suppliers: protocol settings, bundle, release and its preview)
    # isort: on

    app.register_blueprint(bp)
