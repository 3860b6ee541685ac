"""Suppliers' own usage (COUNTER R5.0 / R5.1), harvested over SUSHI and attributed to libraries.

- :mod:`.accounts` — SUSHI credentials per supplier (API key encrypted at rest);
- :mod:`.sushi` — the SUSHI client: one request, its faults and COUNTER exceptions;
- :mod:`.reports` — reading and checking a platform report (5.0 and 5.1 shapes);
- :mod:`.members` — consortium members (``/members``) mapped to libraries;
- :mod:`.harvest` — ``broker stats harvest``: months not yet complete, stored whole or not at all;
- :mod:`.attribution` — per-library figures, network-level usage shared pro rata of accesses.
"""
