"""Demo suppliers: a SAML service provider, an OpenID Connect relying party and a CAS client.

They are served by the demo broker itself under ``/demo/suppliers/…`` so that
anyone trying Sésame sees single sign-on work end to end: after "Accéder",
each shows what it received (identifier, attributes or claims, library) and
what it did not receive (card number, name…).

Each is built on a client library independent of Sésame's provider side
(python3-saml, requests with pyjwkest, python-cas), installed by the ``demo``
extra. The routes exist only when the setting ``demo`` is true and the
libraries are installed; ``broker demo`` registers the three suppliers
(:mod:`.registration`). In demo mode the statistics pages also aggregate the
current month on demand (:mod:`.stats_refresh`), so the accesses show at once.
"""

from __future__ import annotations

import logging

from flask import Flask

log = logging.getLogger("broker.demo_suppliers")

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    """Register the demo suppliers' pages (and on-demand statistics) when ``demo = true``."""
    runtime = app.extensions["broker"]
    if not runtime.settings.demo:
        log.info("demo suppliers not served: demo = false")
        return
    from . import stats_refresh

    stats_refresh.init_app(app)
    try:
        from .views import make_blueprint
    except ImportError as exc:
        log.info("demo suppliers not served: the demo extra is not installed (%s)", exc.name or exc)
        return
    app.register_blueprint(make_blueprint(app))
