"""``broker suppliers add-oidc``: register a supplier as an OpenID Connect client."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ...cli import emit, json_option, with_runtime
from ...services.suppliers import RELEASABLE
from ..kit import supplier_options, suppliers_group
from .clients import ID_TOKEN_ALGS, register

if TYPE_CHECKING:
    from ...runtime import Runtime


@click.command("add-oidc")
@supplier_options(click.option("--redirect-uri", "redirect_uris", multiple=True, required=True,
                               help="A redirect URI, matched exactly (repeatable)."))
@click.option("--public", is_flag=True, help="A public client (no secret; PKCE S256 required).")
@click.option("--post-logout-redirect-uri", "logout_uris", multiple=True,
              help="Where RP-initiated logout may return (repeatable).")
@click.option("--login-url", default="", help="Where /go/SLUG sends patrons (the supplier's login page).")
@click.option("--refresh-tokens", is_flag=True, help="Issue refresh tokens (rotated on every use).")
@click.option("--release", default="", help=f"Comma-separated, among {', '.join(RELEASABLE)}.")
@click.option("--jwks", "jwks_file", type=click.File("r"), help="The client's public JWKS (for private_key_jwt).")
@click.option("--id-token-alg", default="RS256", type=click.Choice(ID_TOKEN_ALGS), show_default=True)
@click.option("--sector", default=None, help="Pairwise sector identifier (default: the slug).")
@click.option("--backchannel-logout-uri", default="",
              help="Where a logout_token is POSTed when a patron's Sésame session ends (back-channel logout).")
@json_option
@with_runtime
def add_oidc(runtime: Runtime, session, slug, redirect_uris, networks, name, public, logout_uris, login_url,
             refresh_tokens, release, jwks_file, id_token_alg, sector, backchannel_logout_uri, as_json):
    """Register SLUG as an OIDC client; prints client_id and client_secret (shown once)."""
    reg = register(runtime, session, slug, redirect_uris=redirect_uris, networks=networks, name=name,
                   public=public, post_logout_redirect_uris=logout_uris, login_url=login_url,
                   refresh=refresh_tokens, release=release or None,
                   jwks=jwks_file.read() if jwks_file else None, id_token_alg=id_token_alg, sector=sector,
                   backchannel_logout_uri=backchannel_logout_uri)
    row = {"slug": reg.slug, "client_id": reg.client_id, "client_secret": reg.client_secret,
           "public": reg.public, "redirect_uris": list(reg.redirect_uris)}
    if not as_json:
        row["redirect_uris"] = " ".join(reg.redirect_uris)
        if reg.client_secret is None:
            row["client_secret"] = "(none: public client)"
    emit(row, as_json)
    if not as_json and reg.client_secret:
        click.echo("The client secret is shown only now: give it to the supplier over a safe channel.", err=True)


suppliers = suppliers_group(add_oidc)
