"""The terms of service, the privacy notice and the accessibility statement, in plain words; the icon."""

from __future__ import annotations

from flask import redirect, render_template, url_for

from .blueprint import bp
from .patron_page import apply_brand, chosen_library, runtime


def _page(template: str, **context):
    """``template`` in the colours of the chosen library (the patron's, or the one picked on the home page)."""
    library = chosen_library()
    apply_brand(library)
    return render_template(template, library=library, **context)


@bp.get("/terms")
def terms():
    return _page("portal/terms.html")


@bp.get("/privacy")
def privacy():
    return _page("portal/privacy.html", settings=runtime().settings)


@bp.get("/accessibility")
def accessibility():
    return _page("portal/accessibility.html")


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico before reading the page's icon link: the same icon."""
    return redirect(url_for("static", filename="favicon.svg"), 301)
