"""``python -m broker.cli`` is the ``broker`` command."""

from . import main

main()
