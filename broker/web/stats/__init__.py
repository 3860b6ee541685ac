"""Statistics for staff: pages under /staff/stats/ and JSON under /api/v1/stats/.

Both use the staff scoping of the back-office (a referent sees their
libraries, a network admin their network). The API is CSRF-exempt: a bearer
token authenticates it, never a cookie.
"""

from __future__ import annotations

import os

from flask import Blueprint, Flask

bp = Blueprint("stats", __name__, url_prefix="/staff/stats")
api_bp = Blueprint("stats_api", __name__, url_prefix="/api/v1/stats")

TRANSLATIONS = "translations_stats"


def _add_translations(app: Flask) -> None:
    """Make this area's catalog available even before BABEL_TRANSLATION_DIRECTORIES lists it."""
    babel = app.extensions.get("babel")
    if babel is None:
        return
    path = os.path.join(app.root_path, TRANSLATIONS)
    if path not in babel.translation_directories:
        babel.translation_directories.append(path)


def init_app(app: Flask) -> None:
    from . import api, pages  # noqa: F401  (routes attach to the blueprints)

    _add_translations(app)
    app.extensions["csrf"].exempt(api_bp)
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
