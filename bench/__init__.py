"""Sésame's load benchmark: ``python -m bench.run`` (``make bench``).

It starts PostgreSQL, Redis, the SIP2 emulator and Sésame as `broker serve` runs it (granian),
loads a network, drives the standard scenarios with ``wrk`` and writes
``bench/results/latest.json`` and ``latest.md``.

Beside it: ``python -m bench.stacks`` compares serving stacks by the workers' CPU per flow, and
``python -m bench.pipeline`` splits one worker's CPU per request into the request pipeline, the
view and (OpenID Connect) the flow's operations alone.
"""
