"""Two libraries of two networks, each on its own SIP2 emulator (for the linked-cards end-to-end tests)."""

from __future__ import annotations

import contextlib
from pathlib import Path

BAYEUX, CAMILLE = "FR-140476101", "29001000000017"   # network calvados
CAEN, LOUIS = "FR-141186001", "29003000000015"      # network caen-la-mer
PIN = "1234"
HEADER = "card,password,name,email,birth_date,category,expires,blocked\n"
ROWS = {
    BAYEUX: "29001000000017,1234,Camille Martin,camille.martin@example.org,1988-04-12,ADULTE,{expires},\n",
    CAEN: "29003000000015,1234,Camille Martin,camille.martin@example.org,1988-04-12,ADULTE,2030-12-31,\n",
}


@contextlib.contextmanager
def two_sigbs(runtime, folder: Path, *, bayeux_expires: str = "2030-12-31"):
    """Bayeux's card on one emulator, Caen's on another; the two libraries pointed at them."""
    from broker.demo import SIP2_LOGIN, SIP2_PASSWORD
    from broker.services import libraries
    from broker.testing.sip2 import running_emulator

    files = {}
    for code, row in ROWS.items():
        files[code] = folder / f"sip2-{code}.csv"
        files[code].write_text(HEADER + row.format(expires=bayeux_expires))
    with running_emulator(files[BAYEUX], login=SIP2_LOGIN, login_password=SIP2_PASSWORD) as one, \
            running_emulator(files[CAEN], login=SIP2_LOGIN, login_password=SIP2_PASSWORD) as two:
        with runtime.db.session() as s:
            for code, emulator in ((BAYEUX, one), (CAEN, two)):
                libraries.update_connector(runtime, s, code, "sip2", {
                    "host": "127.0.0.1", "port": str(emulator.port), "login": SIP2_LOGIN,
                    "password": SIP2_PASSWORD, "institution": code}, actor="test")
        yield one, two
