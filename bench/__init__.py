"""Sésame's load benchmark: ``python -m bench.run`` (``make bench``).

It starts PostgreSQL, Redis, the SIP2 emulator and Sésame as `broker serve` runs it (granian),
loads a network, drives the standard scenarios with ``wrk`` and writes
``bench/results/latest.json`` and ``latest.md``.
"""
