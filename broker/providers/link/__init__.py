"""Signed links: the supplier receives a URL carrying the patron's pairwise identifier, a time and a keyed hash."""
