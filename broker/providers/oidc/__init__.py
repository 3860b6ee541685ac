"""OpenID Connect provider for suppliers (Authlib): code flow with PKCE, pairwise subjects."""
