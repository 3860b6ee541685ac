"""Sending messages to suppliers through the browser: the POST form page and signed redirects."""

from __future__ import annotations

import base64

from flask import Response, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from lxml import etree
from markupsafe import escape

from ...keys import KeyMaterial
from ...web.security_headers import allow_form_action, allow_script
from .names import BINDING_POST
from .signing import redirect_query, sign
from .spmeta import Endpoint
from .xmlsafe import deflate

# The auto-POST page is on the path of every sign-on: a fixed string, not a Jinja page.
# Only the form's action and fields change; they are escaped here, the rest is per language.
_PAGE = """<!doctype html>
<html lang="{lang}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="robots" content="noindex">
  <title>{title} – Sésame</title>
  <link rel="stylesheet" href="{css}">
</head>
<body>
  <main id="main" class="wrap">
    <form method="post" action="{action}" id="saml-post">
      {fields}
      <p>{sending}</p>
      <noscript>
        <p>{no_js}</p>
        <button type="submit" class="button">{go_on}</button>
      </noscript>
    </form>
  </main>
  <script>{submit}</script>
</body>
</html>"""
#: the page's one inline script, allowed by its hash in the response's Content-Security-Policy
AUTO_SUBMIT = 'document.getElementById("saml-post").submit();'
_pages: dict[tuple[str, str], tuple[str, str, str]] = {}


def _page_frame() -> tuple[str, str, str]:
    """The page for the current language, in three pieces: before the action, between it and the fields, after."""
    lang = str(get_locale() or "fr")
    # the stylesheet's URL depends only on where the app is mounted: built once per language and mount point
    frame = _pages.get((lang, request.script_root))
    if frame is None:
        css = url_for("static", filename="sesame.css")
        texts = {"title": _("Connexion en cours"), "sending": _("Transmission de votre connexion au fournisseur…"),
                 "no_js": _("JavaScript est désactivé : cliquez sur le bouton pour continuer."),
                 "go_on": _("Continuer")}
        page = _PAGE.format(lang=escape(lang), css=escape(css), action="\0", fields="\0", submit=AUTO_SUBMIT,
                            **{k: escape(v) for k, v in texts.items()})
        head, middle, tail = page.split("\0")
        frame = (head, middle, tail)
        if len(_pages) > 64:  # pragma: no cover - a handful of languages in practice
            _pages.clear()
        _pages[(lang, request.script_root)] = frame
    return frame


def post_form(action: str, param: str, xml: bytes, relay_state: str | None):
    """The page that posts a message to a supplier: submits itself, or shows a button without JavaScript."""
    fields = {param: base64.b64encode(xml).decode()}
    if relay_state:
        fields["RelayState"] = relay_state
    inputs = "\n      ".join(f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
                              for name, value in fields.items())
    head, middle, tail = _page_frame()
    allow_script(AUTO_SUBMIT)
    allow_form_action(action)
    response = Response(f"{head}{escape(action)}{middle}{inputs}{tail}", mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def send(endpoint: Endpoint, location: str, param: str, element: etree._Element, relay_state: str | None,
         key: KeyMaterial):
    """Deliver a logout message over the endpoint's binding, signed either way."""
    if endpoint.binding == BINDING_POST:
        sign(element, key)
        return post_form(location, param, etree.tostring(element, encoding="utf-8"), relay_state)
    encoded = base64.b64encode(deflate(etree.tostring(element, encoding="utf-8"))).decode()
    query = redirect_query(param, encoded, relay_state, key)
    response = redirect(f"{location}{'&' if '?' in location else '?'}{query}")
    response.headers["Cache-Control"] = "no-store"
    return response
