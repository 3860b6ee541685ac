"""The three demo suppliers: slugs, names, the addresses derived from the broker's base URL, and their failure."""

from __future__ import annotations

from dataclasses import dataclass

#: where the demo suppliers live on the demo broker
PREFIX = "/demo/suppliers"
#: the SAML service provider's entity ID: a name, stable whatever the address the demo is served on
SAML_ENTITY_ID = "urn:sesame:demo:saml-supplier"
#: networks of the demo data that offer the demo suppliers (those present are used)
NETWORKS = ("calvados", "caen-la-mer")


class DemoSupplierError(Exception):
    """What a demo supplier received could not be used; ``reason`` says why, for its page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Kind:
    protocol: str
    slug: str
    name: str
    description: str
    built_with: str

    def path(self, rest: str = "") -> str:
        """Path of a page of this demo supplier (``rest`` without a leading slash)."""
        return f"{PREFIX}/{self.protocol}/{rest}"

    def url(self, base_url: str, rest: str = "") -> str:
        return base_url.rstrip("/") + self.path(rest)


SAML = Kind("saml", "demo-saml", "Démo SAML – fournisseur de test",
            "Un site de test qui reçoit la connexion en SAML 2.0 et montre ce que Sésame lui a transmis.",
            "python3-saml")
OIDC = Kind("oidc", "demo-oidc", "Démo OpenID Connect – fournisseur de test",
            "Un site de test qui reçoit la connexion en OpenID Connect et montre ce que Sésame lui a transmis.",
            "requests + pyjwkest")
CAS = Kind("cas", "demo-cas", "Démo CAS – fournisseur de test",
           "Un site de test qui reçoit la connexion en CAS 3.0 et montre ce que Sésame lui a transmis.",
           "python-cas")
KINDS: dict[str, Kind] = {k.protocol: k for k in (SAML, OIDC, CAS)}
