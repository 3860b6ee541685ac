"""The demo CAS client, built on python-cas (``CASClientV3``: /p3/serviceValidate, with attributes).

The service URL is the page itself: Sésame sends the patron back to it with a
``ticket``, which the page validates over a back channel before showing what
it received. Sésame's CAS server does not use this library.
"""

from __future__ import annotations

import re
from typing import Any

import requests
from cas import CASClient

from .kinds import DemoSupplierError

HTTP_TIMEOUT = 10
_TICKET = re.compile(r"[?&]ticket=[^&#]*$")
#: attributes about the ticket rather than the patron, shown after the others
TECHNICAL = ("authenticationDate", "isFromNewLogin", "longTermAuthenticationRequestTokenUsed")


class CasClientError(DemoSupplierError):
    """The ticket (or its validation) could not be used."""


class _Session(requests.Session):
    """python-cas takes a requests session: this one never waits forever."""

    def request(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return super().request(*args, **kwargs)


def client(base_url: str, service_url: str) -> CASClient:
    return CASClient(version=3, service_url=service_url, server_url=base_url.rstrip("/") + "/cas/",
                     session=_Session())


def without_ticket(url: str) -> str:
    """The service URL a ticket was issued for: Sésame adds ``ticket`` last."""
    return _TICKET.sub("", url)


def login_url(base_url: str, service_url: str) -> str:
    return client(base_url, service_url).get_login_url()


def validate(base_url: str, service_url: str, ticket: str) -> dict[str, Any]:
    """Validate ``ticket`` for ``service_url``: the user and the attributes Sésame released."""
    cas = client(base_url, service_url)
    try:
        user, attributes, _pgtiou = cas.verify_ticket(ticket)
    except requests.RequestException as exc:
        raise CasClientError(f"the CAS server cannot be reached ({type(exc).__name__})") from None
    except Exception as exc:  # python-cas parses the answer with ElementTree: a broken answer raises
        raise CasClientError(f"the validation answer cannot be read ({type(exc).__name__})") from None
    if not user:
        raise CasClientError("the CAS server did not validate the ticket")
    attributes = attributes or {}
    listed = {k: (v if isinstance(v, list) else [v]) for k, v in attributes.items()}
    patron = [(k, [str(x) for x in v]) for k, v in listed.items() if k not in TECHNICAL]
    ticket_facts = [(k, [str(x) for x in listed[k]]) for k in TECHNICAL if k in listed]
    return {"user": user, "values": patron + ticket_facts, "library": (listed.get("library") or [None])[0],
            "network": (listed.get("network") or [None])[0]}
