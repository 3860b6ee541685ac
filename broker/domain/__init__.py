"""The framework-free core of Sésame: records, rules and contracts.

Nothing in this package imports Flask, SQLAlchemy, pysaml2 or Authlib; the web,
storage and protocol layers depend on it, never the other way round.
"""
