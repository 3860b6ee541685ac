"""SAML 2.0 identity provider: suppliers' SSO and single logout, signed in-process (docs/saml.md)."""
