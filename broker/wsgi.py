"""The WSGI application for any production server: ``broker.wsgi:app``.

Configured from ``BROKER_*`` variables and the config file (see ``broker check-config``).
``broker serve`` runs it under granian; another WSGI server can import it the same way.
"""

import sys

from .app import create_app
from .errors import ConfigError

try:
    app = create_app()
except ConfigError as exc:  # one line naming the key, never a traceback
    print(f"error: {exc.message}", file=sys.stderr)
    sys.exit(2)
