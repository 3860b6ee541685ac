"""WSGI entry point: ``gunicorn wsgi:app``. Configured from BROKER_* variables and the config file."""

import sys

from broker.app import create_app
from broker.errors import ConfigError

try:
    app = create_app()
except ConfigError as exc:  # one line naming the key, never a traceback
    print(f"error: {exc.message}", file=sys.stderr)
    sys.exit(2)
