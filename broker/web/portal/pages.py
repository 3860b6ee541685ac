"""The terms of service and the privacy notice, in plain words."""

from __future__ import annotations

from flask import render_template

from .blueprint import bp
from .context import apply_brand, chosen_library, runtime


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
