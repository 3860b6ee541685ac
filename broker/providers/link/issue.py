"""``/go/<slug>`` for a signed-link supplier: check the deep link, decide, record, sign, redirect (303).

The order matters: a deep link off the supplier's registered origins is
refused before anything else (no decision, no URL); then the issuance step
(access decision, one usage event, pairwise subject, released attributes);
only a granted patron gets a URL. The shared secret is read from its
environment variable or decrypted from the store at each issuance and never
logged; the issued URL is logged with its identifier and signature masked.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from datetime import UTC
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import redirect

from .. import kit
from . import template as tpl
from .settings import origin_of
from .suppliers import PROTOCOL

if TYPE_CHECKING:
    from ...runtime import Runtime

log = logging.getLogger("broker.providers.link")

MAX_TARGET = 2000
_BAD_CHARS = re.compile(r"[\x00-\x20\x7f\\]")


class SecretMissing(Exception):
    """The supplier's shared secret cannot be read (variable unset, store undecryptable)."""


@lru_cache(maxsize=256)
def _parsed(url_template: str, message: str) -> tuple[tpl.Template, tpl.Template]:
    return tpl.parse(url_template), tpl.parse(message)


def target_allowed(target: str, origins: list[str]) -> bool:
    """Whether ``target`` is an absolute URL on one of ``origins`` (no user info, no odd characters)."""
    if not target or len(target) > MAX_TARGET or _BAD_CHARS.search(target):
        return False
    try:
        parts = urlsplit(target)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme not in ("https", "http") or not parts.hostname or "@" in parts.netloc:
        return False
    return origin_of(parts.scheme, parts.hostname, port) in origins


def shared_secret(runtime: Runtime, conf: dict) -> bytes:
    if conf.get("secret_encrypted"):
        try:
            return runtime.keys.decrypt(conf["secret_encrypted"].encode())
        except Exception as exc:
            raise SecretMissing("the stored secret cannot be decrypted") from exc
    name = conf.get("secret_env") or ""
    value = os.environ.get(name) if name else None
    if not value:
        raise SecretMissing(f"environment variable {name or '(none)'} is not set")
    return value.encode("utf-8")


def values_for(issuance: kit.Issuance, *, now, nonce: str, target: str, lifetime: int) -> dict[str, str]:
    """Every placeholder's value but ``sig``; released attributes only when released."""
    ts = int(now.timestamp())
    values = {"uid": issuance.subject, "ts": str(ts), "exp": str(ts + lifetime),
              "iso_ts": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "nonce": nonce,
              "target": target}
    for name, attribute in tpl.ATTRIBUTE_PLACEHOLDERS.items():
        released = issuance.attributes.get(attribute) or []
        values[name] = released[0] if released else ""
    return values


def issue(runtime: Runtime, supplier, patron, target: str | None):
    """Answer ``/go/<slug>`` for a logged-in patron and a link supplier."""
    from flask_babel import gettext as _

    conf = kit.settings_of(supplier, PROTOCOL)
    if target and not target_allowed(target, list(conf.get("target_origins") or [])):
        return kit.error_page(400, "target_refused", _("Ce lien mène hors du site du fournisseur : Sésame ne "
                                                       "peut pas vous y envoyer."))
    try:
        url_template, message = _parsed(conf["url_template"], conf.get("message") or tpl.DEFAULT_MESSAGE)
        secret = shared_secret(runtime, conf)
    except (KeyError, tpl.TemplateError, SecretMissing) as exc:
        log.error("signed link cannot be built", extra={"event": {
            "supplier": supplier.slug, "reason": str(exc) if isinstance(exc, SecretMissing) else type(exc).__name__}})
        return kit.error_page(503, "link_unavailable", _("Cette ressource est momentanément inaccessible. "
                                                         "Réessayez dans quelques minutes."))
    issuance = kit.issue(runtime, supplier, patron, PROTOCOL)
    if not issuance.granted:
        return kit.refusal_page(issuance.outcome)
    values = values_for(issuance, now=runtime.clock.utcnow(), nonce=secrets.token_hex(16), target=target or "",
                        lifetime=int(conf.get("lifetime") or 300))
    rendered = tpl.render(url_template, message, conf.get("algorithm") or tpl.DEFAULT_ALGORITHM, secret, values)
    log.info("signed link issued", extra={"event": {"supplier": supplier.slug, "url": rendered.masked}})
    response = redirect(rendered.url, code=303)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
