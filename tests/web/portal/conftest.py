"""The demo network behind a Flask test client, with helpers for the patron forms."""

from __future__ import annotations

import re
import shutil

import pytest
from sqlalchemy import func, select

from fixtures.demo import BAYEUX, HONFLEUR, VIRE  # noqa: F401  (BAYEUX's SIP2 points at a dead port here)

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Portal:
    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self.runtime = app.extensions["broker"]
        self.smtp = app.smtp

    def csrf(self, path: str = "/login", client=None) -> str:
        page = (client or self.client).get(path)
        match = _TOKEN.search(page.get_data(as_text=True))
        assert match, f"no CSRF token on {path} ({page.status_code})"
        return match.group(1)

    def login(self, card: str = "V0001", password: str = "4321", library: str = VIRE, *, client=None,
              next: str | None = None, **environ):
        client = client or self.client
        data = {"csrf_token": self.csrf(client=client), "library": library, "card": card, "password": password}
        if next is not None:
            data["next"] = next
        return client.post("/login", data=data, environ_base=environ)

    def register(self, card: str = "V0002", password: str = "4321", library: str = VIRE,
                 email: str = "thomas@example.org", consent: bool = True, *, client=None):
        client = client or self.client
        data = {"csrf_token": self.csrf("/register", client=client), "library": library, "card": card,
                "password": password, "email": email}
        if consent:
            data["consent"] = "yes"
        return client.post("/register", data=data)

    def session(self):
        return self.runtime.db.session()

    def patron(self, session, card: str, library: str = VIRE):
        from broker.services import libraries, patrons

        return patrons.find(self.runtime, session, libraries.get_library(session, library), card)

    def set_state(self, card: str, state: str, library: str = VIRE) -> None:
        with self.session() as s:
            self.patron(s, card, library).membership.state = state

    def counts(self) -> tuple[int, int, int]:
        from broker.db.models import Membership, MembershipEvent, Patron

        with self.session() as s:
            return (s.scalar(select(func.count()).select_from(Patron)),
                    s.scalar(select(func.count()).select_from(Membership)),
                    s.scalar(select(func.count()).select_from(MembershipEvent)))

    def add_local_patron(self, library: str, card: str, *, pin: str = "1234", expires: str = "2030-12-31",
                         birth: str = "1990-01-01", email: str = "") -> None:
        from connectors.local import patrons as local_patrons

        text = f"card,name,birth_date,expires,pin,email\n{card},Alex Test,{birth},{expires},{pin},{email}\n"
        with self.session() as s:
            local_patrons.import_rows(self.runtime, s, library, local_patrons.parse(text), actor="test")


@pytest.fixture
def make_portal(make_app, smtp_sink, demo_db, tmp_path):
    """A demo network with extra settings (rate limits, lockout…) and the SMTP sink.

    A copy of ``demo_db(sip2="offline")``: SIP2 libraries point at port 1, where nothing answers.
    """
    built = []

    def build(**settings) -> Portal:
        target = tmp_path / f"portal-{len(built)}.db"
        shutil.copy(demo_db(sip2="offline"), target)
        app = make_app(database_url=f"sqlite:///{target}", plugins_load_entrypoints=False,
                       **smtp_sink.settings, **settings)
        app.smtp = smtp_sink
        built.append(app)
        return Portal(app)

    return build


@pytest.fixture
def portal(make_portal) -> Portal:
    return make_portal()
