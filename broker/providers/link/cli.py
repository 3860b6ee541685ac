"""``broker suppliers add-link``: register a supplier reached with signed links."""

from __future__ import annotations

import click

from .. import kit
from .suppliers import describe


@click.group("suppliers")
def suppliers() -> None:
    """Suppliers and the networks that offer them."""


def _add_link():
    from .plugin import spec

    return kit.supplier_command(spec(), describe=describe, help=(
        "Register SLUG as a signed-link supplier: /go/SLUG redirects a granted patron to --url-template with "
        "{sig}, the hex digest of --message under --algorithm with the secret of --secret-env. Legacy "
        "algorithms (md5-concat, sha1-concat) need --allow-legacy; {target} needs --target-origin."))


suppliers.add_command(_add_link())
