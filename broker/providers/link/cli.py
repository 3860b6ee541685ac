"""``broker suppliers add-link``: register a supplier reached with signed links."""

from __future__ import annotations

from .. import kit
from .suppliers import describe


def _add_link():
    from .plugin import spec

    return kit.supplier_command(spec(), describe=describe, help=(
        "Register SLUG as a signed-link supplier: /go/SLUG redirects a granted patron to --url-template with "
        "{sig}, the hex digest of --message under --algorithm with the secret of --secret-env. Legacy "
        "algorithms (md5-concat, sha1-concat) need --allow-legacy; {target} needs --target-origin."))


suppliers = kit.suppliers_group(_add_link())
