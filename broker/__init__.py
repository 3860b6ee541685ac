"""Sésame: single sign-on broker for networks of public libraries."""

import pluggy

__version__ = "0.1.0"

#: Marker for plugin hook implementations: ``@hookimpl def broker_connectors(): ...``
hookimpl = pluggy.HookimplMarker("broker")

__all__ = ["hookimpl", "__version__"]
