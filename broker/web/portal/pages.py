"""The terms of service, the privacy notice and the accessibility statement, in plain words; the icon."""

from __future__ import annotations

from flask import redirect, render_template, url_for

from .blueprint import bp
from .patron_page import apply_brand, chosen_library, runtime


@bp.get("/terms")
def terms():
    library = chosen_library()
    apply_brand(library)
    return render_template("portal/terms.html", library=library)


@bp.get("/privacy")
def privacy():
    library = chosen_library()
    apply_brand(library)
    return render_template("portal/privacy.html", library=library, settings=runtime().settings)


@bp.get("/accessibility")
def accessibility():
    library = chosen_library()
    apply_brand(library)
    return render_template("portal/accessibility.html", library=library)


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico before reading the page's icon link: the same icon."""
    return redirect(url_for("static", filename="favicon.svg"), 301)
