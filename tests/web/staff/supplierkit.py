"""Supplier registration test data: SP metadata documents, good and bad."""

from __future__ import annotations


def sp_metadata(name: str, *, acs: bool = True) -> str:
    """A service provider's SAML metadata (with an HTTP-POST ACS unless ``acs`` is False)."""
    service = (f'<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
               f'Location="https://{name}.example.org/Shibboleth.sso/SAML2/POST" index="0"/>') if acs else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            f'entityID="https://{name}.example.org/shibboleth">'
            f'<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
            f'{service}</md:SPSSODescriptor></md:EntityDescriptor>')


def active_membership(app, library_code: str) -> int:
    """The id of an active membership of ``library_code``."""
    from sqlalchemy import select

    from broker.db.models import Library, Membership

    with app.extensions["broker"].db.session() as s:
        lib = s.scalar(select(Library).where(Library.code == library_code))
        return s.scalar(select(Membership.id).where(Membership.library_id == lib.id, Membership.state == "active")
                        .order_by(Membership.id))


def closed_port() -> int:
    """A local port nothing listens on (taken from the system, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
