"""OpenID Connect claims from the released attributes, by scope.

``services.release.attributes`` has already applied the supplier's release
policy and the plugins; this module only renames friendly attributes to
claims and keeps those the granted scopes ask for. ``sub`` is always the
pairwise identifier, never the card number.
"""

from __future__ import annotations

from typing import Any

#: claim → (scope that releases it, friendly attribute it comes from, multi-valued?)
CLAIMS: dict[str, tuple[str, str, bool]] = {
    "name": ("profile", "displayName", False),
    "birthdate": ("profile", "birthYear", False),
    "age_bracket": ("profile", "ageBracket", False),
    "email": ("email", "mail", False),
    "library": ("library", "library", False),
    "network": ("library", "network", False),
    "eduperson_entitlement": ("library", "eduPersonEntitlement", True),
    "eduperson_scoped_affiliation": ("library", "eduPersonScopedAffiliation", True),
}

SCOPE_CLAIMS: dict[str, list[str]] = {"openid": ["sub"]}
for _claim, (_scope, _attr, _multi) in CLAIMS.items():
    SCOPE_CLAIMS.setdefault(_scope, []).append(_claim)


def claims_for(attributes: dict[str, list[str]], subject: str, scope: str) -> dict[str, Any]:
    """The claims of an ID token and of /oidc/userinfo for the granted ``scope``."""
    scopes = set(scope.split())
    claims: dict[str, Any] = {"sub": subject}
    for claim, (needs, attribute, multi) in CLAIMS.items():
        if needs not in scopes:
            continue
        values = attributes.get(attribute)
        if not values:
            continue
        claims[claim] = list(values) if multi else values[0]
    return claims
