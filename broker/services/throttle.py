"""Login throttling per client address, shared by patron and staff logins (each with its own counters).

Three guards, all in the state store so that every node agrees:

- **Flood guard**: at most ``login_ip_limit`` attempts (right or wrong) per
  address in any 60 seconds, counted in a sliding window.
- **Failure budget**: failed logins per address, across all cards, in a
  sliding window of ``login_ip_window`` seconds (two fixed buckets, the older
  one weighted by how much of it is still inside the window: no reset at a
  boundary). Within ``login_ip_failures`` nothing waits. Over it, the address
  gets one attempt per delay, the delay doubling with each failure over the
  budget (1 s, 2 s, 4 s…) up to ``login_ip_max_delay``; attempts in between
  are refused without asking the SIGB. A successful login costs nothing.
- **Known cards**: a card (or staff account) that signed in from an address
  within ``login_known_days`` skips that address's back-off (not the card's
  own lockout). A patron at a library's public computers, behind the same
  address as someone spraying cards, gets in at the first try with the right
  PIN; the sprayer's guesses on those cards stay bounded by the per-card
  lockout, as from any other address.

A network-wide alarm watches the number of distinct cards (or accounts)
failing within 5 minutes, from any address: at ``login_alarm_cards`` it is
raised once per period (metric, log line, audit entry for the admins).

Nothing here holds a card number or an e-mail address: cards are keyed
digests (the caller's ``subject``), addresses appear only in key names, which
expire with the windows.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import Counter

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger("broker.security")

ALARM_PERIOD = 300
FLOOD_WINDOW = 60
THROTTLED = Counter("broker_login_throttled_total", "Login attempts refused by the per-address guards",
                    ["kind", "reason"])
ALARMS = Counter("broker_login_spraying_alarms_total",
                 "Periods in which failed logins on many distinct cards or accounts rose together", ["kind"])


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    #: seconds to wait before the next attempt is checked (0 when allowed)
    retry_after: int = 0
    reason: str = ""
    #: the address is over its budget and this attempt took its one slot
    slot: bool = False
    #: the values of the caller's ``also`` keys (:meth:`LoginThrottle.check`), read in the same round trip
    also: tuple = ()


class LoginThrottle:
    """The guards for one kind of login (``patron`` or ``staff``)."""

    def __init__(self, runtime: Runtime, kind: str) -> None:
        self.runtime = runtime
        self.kind = kind
        self.state = runtime.state
        self.settings = runtime.settings

    # -- keys ------------------------------------------------------------------------------
    def _bucketed(self, name: str, window: int, now: float) -> tuple[str, str, float]:
        bucket = int(now // window)
        base = f"throttle:{self.kind}:{name}"
        return f"{base}:{bucket}", f"{base}:{bucket - 1}", (now % window) / window

    @staticmethod
    def _estimate(current, previous, elapsed: float) -> int:
        """The sliding count: the current bucket, plus the share of the previous one still in the window
        (rounded up: the count falls by one at a time as the window slides, never all at once)."""
        return int(current or 0) + math.ceil(int(previous or 0) * (1.0 - elapsed))

    def _known_key(self, ip: str, subject: str) -> str:
        return f"throttle:{self.kind}:known:{ip}:{subject}"

    # -- before the check ---------------------------------------------------------------
    def check(self, ip: str | None, subject: str | None = None, *, also: Sequence[str] = ()) -> Verdict:
        """May an attempt from ``ip`` (on ``subject``, a keyed digest, when known) be checked now?

        ``also``: the caller's own state-store keys, read in the same round trip (``Verdict.also``).
        """
        ip = ip or "unknown"
        now = self.runtime.clock.wall()
        flood_now, flood_before, flood_elapsed = self._bucketed(f"attempts:{ip}", FLOOD_WINDOW, now)
        window = self.settings.login_ip_window
        fail_now, fail_before, fail_elapsed = self._bucketed(f"failures:{ip}", window, now)
        keys = [fail_now, fail_before, f"throttle:{self.kind}:next:{ip}", flood_before]
        if subject:
            keys.append(self._known_key(ip, subject))
        read, attempts = self.state.read_and_count([*keys, *also], flood_now, 2 * FLOOD_WINDOW)
        theirs = tuple(read[len(keys):])
        current, previous, next_slot, flood_previous, *known = read[:len(keys)]
        if self._estimate(attempts, flood_previous, flood_elapsed) > self.settings.login_ip_limit:
            return self._refused("flood", FLOOD_WINDOW - int(now % FLOOD_WINDOW))
        if known and known[0] is not None:
            return Verdict(True, also=theirs)
        failures = self._estimate(current, previous, fail_elapsed)
        if failures < self.settings.login_ip_failures:
            return Verdict(True, also=theirs)
        until = float((next_slot or {}).get("until", 0))
        if now < until:
            return self._refused("backoff", math.ceil(until - now))
        # the slot is free: this attempt takes it; the wait before the next one is set when it fails
        self.state.put(f"throttle:{self.kind}:next:{ip}", {"until": now + self.delay(failures)},
                       self.settings.login_ip_max_delay + 60)
        return Verdict(True, slot=True, also=theirs)

    def delay(self, failures: int) -> float:
        """The wait after a failure, for an address with ``failures`` in its window."""
        over = failures - self.settings.login_ip_failures
        if over < 0:
            return 0.0
        return float(min(2 ** min(int(over), 30), self.settings.login_ip_max_delay))

    def _refused(self, reason: str, retry_after: int) -> Verdict:
        THROTTLED.labels(self.kind, reason).inc()
        return Verdict(False, max(1, retry_after), reason)

    # -- after the check ----------------------------------------------------------------
    def failed(self, ip: str | None, subject: str) -> None:
        """A wrong password from ``ip`` on ``subject``: one more failure for the address and the alarm."""
        ip = ip or "unknown"
        now = self.runtime.clock.wall()
        window = self.settings.login_ip_window
        fail_now, fail_before, elapsed = self._bucketed(f"failures:{ip}", window, now)
        current = self.state.incr(fail_now, 2 * window)
        previous = self.state.get(fail_before)
        failures = self._estimate(current, previous, elapsed)
        if failures >= self.settings.login_ip_failures:
            self.state.put(f"throttle:{self.kind}:next:{ip}", {"until": now + self.delay(failures)},
                           self.settings.login_ip_max_delay + 60)
        self._watch(subject, now)

    def succeeded(self, ip: str | None, subject: str, verdict: Verdict | None = None) -> None:
        """The right password: remember that this card signed in from this address (no failure counted)."""
        if verdict is not None and verdict.slot:
            # the attempt took the address's slot and succeeded: it gives it back, a success costs nothing
            self.state.delete(f"throttle:{self.kind}:next:{ip or 'unknown'}")
        days = self.settings.login_known_days
        if days > 0:
            self.state.put(self._known_key(ip or "unknown", subject), {"at": int(self.runtime.clock.wall())}, days * 86400)

    # -- the network-wide alarm -----------------------------------------------------------
    def _watch(self, subject: str, now: float) -> None:
        period = int(now // ALARM_PERIOD)
        # each subject counts once per period, whatever the number of its failures or addresses
        if not self.state.add(f"throttle:{self.kind}:alarm-subject:{period}:{subject}", {"at": 1},
                              2 * ALARM_PERIOD):
            return
        current = self.state.incr(f"throttle:{self.kind}:alarm:{period}", 2 * ALARM_PERIOD)
        previous = self.state.get(f"throttle:{self.kind}:alarm:{period - 1}")
        subjects = self._estimate(current, previous, (now % ALARM_PERIOD) / ALARM_PERIOD)
        if subjects < self.settings.login_alarm_cards:
            return
        if not self.state.add(f"throttle:{self.kind}:alarm-raised:{period}", {"at": int(now)}, 2 * ALARM_PERIOD):
            return  # raised already in this period
        self._raise_alarm(int(subjects))

    def _raise_alarm(self, subjects: int) -> None:
        ALARMS.labels(self.kind).inc()
        what = "cards" if self.kind == "patron" else "staff accounts"
        log.warning("login failures rising across many %s", what,
                    extra={"event": {"kind": self.kind, "distinct": subjects, "period_seconds": ALARM_PERIOD}})
        from . import audit

        try:
            audit.record_now(self.runtime, "sesame", "security.login_alarm", self.kind, outcome="alarm",
                             distinct=subjects, period_seconds=ALARM_PERIOD)
        except Exception as exc:  # the alarm must never turn a login into an error
            log.error("login alarm not recorded", extra={"event": {"error": type(exc).__name__}})
