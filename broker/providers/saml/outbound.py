"""Sending messages to suppliers through the browser: the POST form page and signed redirects."""

from __future__ import annotations

import base64

from flask import make_response, redirect, render_template
from lxml import etree

from ...keys import KeyMaterial
from .names import BINDING_POST
from .signing import redirect_query, sign
from .spmeta import Endpoint
from .xmlsafe import deflate


def post_form(action: str, param: str, xml: bytes, relay_state: str | None):
    """The page that posts a message to a supplier: submits itself, or shows a button without JavaScript."""
    fields = {param: base64.b64encode(xml).decode()}
    if relay_state:
        fields["RelayState"] = relay_state
    response = make_response(render_template("saml/post.html", action=action, fields=fields))
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
