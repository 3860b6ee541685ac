"""Statistics for staff: pages under /staff/stats/ and JSON under /api/v1/stats/.

Both use the staff scoping of the back-office (a referent sees their
libraries, a network admin their network). The API is CSRF-exempt: a bearer
token authenticates it, never a cookie; it is mounted under the API blueprint
like the rest of /api/v1.
"""

from __future__ import annotations

import os

from flask import Blueprint, Flask

bp = Blueprint("stats", __name__, url_prefix="/staff/stats")
#: mounted under the API blueprint (``web.api.mount``): /api/v1/stats, the API's token guard and error shape
api_bp = Blueprint("stats_api", __name__, url_prefix="/stats")

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
    from ..api import mount
    from . import api, pages  # noqa: F401  (routes attach to the blueprints)

    _add_translations(app)
    app.register_blueprint(bp)
    mount(app, api_bp)
