"""``broker keys …`` and ``broker suppliers add-saml / refresh-saml``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ...cli import emit, json_option, with_runtime
from ...keys import PURPOSES
from . import registry

if TYPE_CHECKING:
    from ...runtime import Runtime


@click.group()
def keys() -> None:
    """Signing and encryption keys (SAML, OpenID Connect), shared by every node.

    A rollover takes two steps: `rotate` publishes a next key; once suppliers
    have refreshed the metadata (or JWKS), `rotate` again switches to it. The
    old key stays published until `retire`.
    """


@keys.command("list")
@json_option
@with_runtime
def keys_list(runtime: Runtime, session, as_json):
    """List keys, retired ones included."""
    emit(runtime.key_store.describe(), as_json,
         columns=["kid", "purpose", "algorithm", "status", "created_at", "retired_at", "certificate_until"])


@keys.command("rotate")
@click.option("--purpose", type=click.Choice(sorted(PURPOSES)), help="Only this purpose (default: every purpose in use).")
@json_option
@with_runtime
def keys_rotate(runtime: Runtime, session, purpose, as_json):
    """One rollover step: publish a next key, or switch to the next key published earlier."""
    changed = runtime.key_store.rotate(purpose)
    emit([{"kid": k.kid, "purpose": k.purpose, "status": k.status} for k in changed], as_json)


@keys.command("retire")
@click.argument("kid_or_purpose")
@json_option
@with_runtime
def keys_retire(runtime: Runtime, session, kid_or_purpose, as_json):
    """Stop publishing a key (by kid), or every previous key of a purpose."""
    kids = runtime.key_store.retire(kid_or_purpose)
    emit([{"kid": k, "status": "retired"} for k in kids], as_json)


@click.group()
def suppliers() -> None:
    """Suppliers (SAML commands)."""


@suppliers.command("add-saml")
@click.argument("slug")
@click.option("--metadata", required=True, metavar="FILE-or-URL", help="The supplier's SAML metadata.")
@click.option("--network", "networks", multiple=True, required=True, help="A network offering it (repeatable).")
@click.option("--name", help="Display name (default: the slug).")
@click.option("--release", help="Comma-separated extra attributes: library,network,birth_year,age_bracket,display_name,email.")
@click.option("--encrypt", is_flag=True, help="Encrypt assertions (AES-256-GCM, RSA-OAEP).")
@click.option("--nameid", type=click.Choice(["persistent", "transient"]), default="persistent", show_default=True)
@click.option("--sign", "sign_mode", type=click.Choice(registry.SIGN_CHOICES), default="response", show_default=True,
              help="What to sign: the response, the assertion, or both.")
@click.option("--metadata-cert", metavar="FILE", help="Certificate that signs URL metadata (required with a URL).")
@click.option("--entity-id", help="The entity to use when the metadata is an aggregate.")
@click.option("--category", default="")
@json_option
@with_runtime
def add_saml(runtime: Runtime, session, slug, metadata, networks, name, release, encrypt, nameid, sign_mode, metadata_cert,
             entity_id, category, as_json):
    """Register a SAML supplier (or give SAML to an existing supplier) from its metadata."""
    supplier = registry.add_saml(runtime, session, slug, metadata=metadata, networks=list(networks), name=name,
                                 release=release, encrypt=encrypt, nameid=nameid, metadata_cert=metadata_cert,
                                 entity_id=entity_id, sign=sign_mode, category=category)
    emit(registry.describe(supplier), as_json)


@suppliers.command("refresh-saml")
@click.argument("slug", required=False)
@click.option("--force", is_flag=True, help="Refresh now even if not due.")
@json_option
@with_runtime
def refresh_saml(runtime: Runtime, session, slug, force, as_json):
    """Fetch URL metadata again (all due suppliers, or SLUG); suited to a cron job."""
    emit(registry.refresh_due(runtime, force=force or bool(slug), slug=slug), as_json)
