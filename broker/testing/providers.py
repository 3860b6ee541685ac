"""The provider contract: tests every provider plugin must pass, reused by subclassing.

A provider author writes, in a test module::

    from broker.testing import Access, ProviderContract

    class TestMyProvider(ProviderContract):
        protocol = "myproto"

        @pytest.fixture(scope="class")
        @classmethod
        def provider_plugins(cls):             # optional: plugins not installed as entry points
            return (my_package.plugin,)

        def add_supplier(self, runtime, session, slug, networks, release):
            ...                                # make ``slug`` a supplier of the protocol, in ``session``

        @pytest.fixture
        def access(self):
            def access(client, slug) -> Access: ...                # one access, as the supplier sees it
            return access

The kit builds a broker of its own (a fresh SQLite database, a network, a
partner with a current agreement, a library with the ``local`` connector), an
active member and a patron whose registration is pending, each logged in
through the real login and registration forms of a Flask test client. The
``access`` function performs one access through the protocol with such a
client and returns an :class:`Access`: whether the supplier got through,
everything it received as text (decoded: an assertion's XML, a token's
claims, a URL), and the patron's identifier at the supplier. Optional
fixture: ``provider_secrets`` (strings the provider must never log, such as
a client secret or a shared key). When registering needs other fixtures,
override the fixture ``register_supplier`` instead of ``add_supplier``: it
returns ``register(runtime, slug, networks, release)``.

A provider that sends the patron from ``/go/<slug>`` to the supplier with a
redirect (303) may define, instead of the fixture ``access``, the methods
``redirect_prefix(slug)`` (how the URL at the supplier starts) and
``received(slug, location)`` (what the supplier got at that URL, as text,
and the patron's identifier there).

For an ``access`` function: ``Access.refused(answer)`` reports a refusal
with the page the patron saw, ``redirect_to(answer, prefix)`` gives the URL
a redirect sends the browser to (None when it goes elsewhere) and
``query_of(url)`` its query parameters. ``capture_logs()`` records what the
broker logs meanwhile, as production's JSON lines.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from .logs import CapturedLogs, capture_logs

NETWORK = "kit-network"
LIBRARY = "FR-999990001"
#: the kit's patrons: distinctive values, so that a leak is found by searching for them
ACTIVE = {"card": "KIT70451289", "pin": "6174", "name": "Zéphyrine Kitpatron", "email": "zephyrine.kit@example.org",
          "birth": "1987-05-04"}
PENDING = {"card": "KIT70451297", "pin": "6174", "name": "Aurèle Kitpending", "email": "aurele.kit@example.org",
           "birth": "1990-02-10"}
SECRET_KEY = "provider-kit-secret-key-" + "5d2c7b1e9a40f368"


@dataclass(frozen=True)
class Access:
    """What one access attempt gave the supplier.

    :param granted: the supplier got an assertion, token, ticket or link for the patron.
    :param received: everything the supplier received, as text (decoded), for leak checks.
    :param subject: the patron's identifier at the supplier ("" when refused).
    :param status: the HTTP status the patron's browser got at the end.
    """

    granted: bool
    received: str = ""
    subject: str = ""
    status: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def refused(cls, answer: Any) -> Access:
        """The supplier got nothing: ``answer`` (a test client's response) is the page the patron saw instead."""
        return cls(False, answer.get_data(as_text=True), status=answer.status_code)


def query_of(url: str) -> dict[str, str]:
    """The query parameters of ``url``, each with its first value."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def redirect_to(answer: Any, prefix: str, status: int = 303) -> str | None:
    """Where ``answer`` sends the browser when it is a ``status`` redirect to a URL starting with ``prefix``, else None."""
    location = answer.headers.get("Location", "")
    return location if answer.status_code == status and location.startswith(prefix) else None


@dataclass
class ProviderWorld:
    """The kit's broker: its app, runtime and the two patrons' logged-in test clients."""

    app: Any
    runtime: Any
    member: Any
    pending: Any

    def usage(self, slug: str) -> list[str]:
        """Outcomes of the usage events recorded for supplier ``slug``, oldest first."""
        from sqlalchemy import select

        from broker.db.models import Supplier, UsageEvent

        with self.runtime.db.session() as s:
            supplier_id = s.scalar(select(Supplier.id).where(Supplier.slug == slug))
            return list(s.scalars(select(UsageEvent.outcome).where(UsageEvent.supplier_id == supplier_id)
                                  .order_by(UsageEvent.id)))


def _csrf(page) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert found, "no CSRF token on the page"
    return found.group(1)


def build_world(folder: Path, plugins: tuple[Any, ...] = ()) -> ProviderWorld:
    """A fresh broker in ``folder`` with the kit's network, library and patrons, both logged in."""
    from sqlalchemy import create_engine

    from broker.app import create_app
    from broker.db.migrate import upgrade
    from broker.services import libraries, memberships, network
    from connectors.local import patrons as local_patrons

    database = folder / "broker.db"
    engine = create_engine(f"sqlite:///{database}")
    upgrade(engine)
    engine.dispose()
    saved = {k: v for k, v in os.environ.items() if k.startswith("BROKER_") and not k.startswith("BROKER_TEST_")}
    for name in saved:
        del os.environ[name]
    try:
        app = create_app({"secret_key": SECRET_KEY, "database_url": f"sqlite:///{database}",
                          "instance_path": str(folder / "instance"), "base_url": "http://localhost",
                          "stats_flush_ms": 0, "log_json": True, "log_level": "WARNING"},
                         extra_plugins=tuple(plugins))
    finally:
        os.environ.update(saved)
    app.config["TESTING"] = True
    runtime = app.extensions["broker"]
    year = runtime.clock.today().year
    with runtime.db.session() as s:
        network.add_network(runtime, s, NETWORK, "Kit network", actor="kit")
        network.add_partner(runtime, s, "kit-partner", name="Kit partner", kind="commune", population="1000",
                            network=NETWORK, agreement=f"{year - 1}-01-01:{year + 1}-12-31", actor="kit")
        libraries.add_library(runtime, s, LIBRARY, name="Kit library", partner="kit-partner", connector="local",
                              actor="kit")
        csv = "card,name,birth_date,expires,pin,email\n" + "".join(
            f"{p['card']},{p['name']},{p['birth']},{year + 2}-12-31,{p['pin']},{p['email']}\n" for p in (ACTIVE, PENDING))
        local_patrons.import_rows(runtime, s, LIBRARY, local_patrons.parse(csv), actor="kit")
        memberships.import_rows(runtime, s, LIBRARY, [memberships.ImportRow(2, ACTIVE["card"], ACTIVE["email"],
                                                                           "active")], actor="kit")
    member = app.test_client()
    page = member.get(f"/login?library={LIBRARY}")
    done = member.post("/login", data={"csrf_token": _csrf(page), "library": LIBRARY, "card": ACTIVE["card"],
                                       "password": ACTIVE["pin"]})
    assert done.status_code == 302, "the kit's member could not log in"
    pending = app.test_client()
    page = pending.get(f"/register?library={LIBRARY}")
    done = pending.post("/register", data={"csrf_token": _csrf(page), "library": LIBRARY, "card": PENDING["card"],
                                           "password": PENDING["pin"], "email": PENDING["email"], "consent": "yes"})
    assert done.status_code == 302, "the kit's pending patron could not register"
    return ProviderWorld(app, runtime, member, pending)


class ProviderContract:
    """Tests of a provider plugin; subclass as ``TestSomething(ProviderContract)`` and set ``protocol``."""

    #: the protocol name of the provider under test (its ProviderSpec.name)
    protocol: str = ""

    @pytest.fixture(scope="class")
    @classmethod
    def provider_plugins(cls) -> tuple[Any, ...]:
        return ()

    @pytest.fixture(scope="class")
    @classmethod
    def provider_world(cls, tmp_path_factory, provider_plugins) -> Iterator[ProviderWorld]:
        folder = tmp_path_factory.mktemp("provider-kit")
        world = build_world(folder, tuple(provider_plugins))
        try:
            yield world
        finally:
            world.runtime.close()
            shutil.rmtree(folder, ignore_errors=True)

    def add_supplier(self, runtime: Any, session: Any, slug: str, networks: list[str], release: list[str]) -> None:
        """Make ``slug`` a supplier of the protocol offered by ``networks``, with the ``release`` policy."""
        raise NotImplementedError("define add_supplier, or the fixture register_supplier")

    @pytest.fixture
    def register_supplier(self) -> Callable[[Any, str, list[str], list[str]], None]:
        """``register(runtime, slug, networks, release)``: :meth:`add_supplier` in a session of its own."""

        def register(runtime: Any, slug: str, networks: list[str], release: list[str]) -> None:
            with runtime.db.session() as s:
                self.add_supplier(runtime, s, slug, networks, release)

        return register

    def redirect_prefix(self, slug: str) -> str:
        """How the URL at supplier ``slug`` starts, where ``/go/<slug>`` sends the patron (for the default access)."""
        raise NotImplementedError("define redirect_prefix and received, or the fixture access")

    def received(self, slug: str, location: str) -> tuple[str, str]:
        """What supplier ``slug`` received at ``location``, as text, and the patron's identifier there."""
        raise NotImplementedError("define redirect_prefix and received, or the fixture access")

    @pytest.fixture
    def access(self) -> Callable[[Any, str], Access]:
        """``access(client, slug)``: one access through ``/go/<slug>`` and its redirect to the supplier."""

        def run(client: Any, slug: str) -> Access:
            answer = client.get(f"/go/{slug}")
            location = redirect_to(answer, self.redirect_prefix(slug))
            if location is None:
                return Access.refused(answer)
            received, subject = self.received(slug, location)
            return Access(True, received, subject, answer.status_code)

        return run

    @pytest.fixture
    def supplier(self, provider_world, register_supplier) -> Callable[..., str]:
        """``supplier(release=[...])``: a new supplier of the protocol offered by the kit's network; its slug."""

        def make(release: list[str] | None = None) -> str:
            slug = f"kit-{self.protocol}-{secrets.token_hex(3)}"
            register_supplier(provider_world.runtime, slug, [NETWORK], release or ["library", "network"])
            return slug

        return make

    @pytest.fixture
    def captured_logs(self) -> Iterator[CapturedLogs]:
        with capture_logs() as captured:
            yield captured

    # -- the contract ---------------------------------------------------------------------
    def test_the_provider_is_registered(self, provider_world) -> None:
        assert self.protocol, "set the class attribute protocol"
        assert self.protocol in provider_world.runtime.providers

    def test_a_member_gets_through(self, provider_world, supplier, access) -> None:
        result: Access = access(provider_world.member, supplier())
        assert result.granted, result
        assert result.subject, "the supplier must receive an identifier for the patron"

    def test_refuses_a_pending_patron(self, provider_world, supplier, access) -> None:
        slug = supplier()
        result: Access = access(provider_world.pending, slug)
        assert not result.granted, "a patron whose registration is pending must get nothing"
        assert not result.subject
        assert provider_world.usage(slug) == ["membership_pending"]

    def test_records_usage_once_per_access(self, provider_world, supplier, access) -> None:
        slug = supplier()
        for count in (1, 2):
            assert access(provider_world.member, slug).granted
            assert provider_world.usage(slug) == ["granted"] * count, "one usage event per access"

    def test_the_identifier_is_pairwise_and_stable(self, provider_world, supplier, access) -> None:
        first, second = supplier(), supplier()
        a1 = access(provider_world.member, first).subject
        a2 = access(provider_world.member, first).subject
        b1 = access(provider_world.member, second).subject
        assert a1 == a2, "the same patron keeps the same identifier at a supplier"
        assert a1 != b1, "two suppliers must not share a patron's identifier"

    def test_never_leaks_the_card(self, provider_world, supplier, access) -> None:
        result = access(provider_world.member, supplier(["library", "network", "email", "display_name"]))
        assert result.granted
        assert ACTIVE["card"] not in result.received and ACTIVE["card"] not in result.subject
        assert f"pin={ACTIVE['pin']}" not in result.received.lower()

    def test_honours_the_release_policy(self, provider_world, supplier, access) -> None:
        lean = access(provider_world.member, supplier(["library"]))
        assert lean.granted
        for personal in (ACTIVE["email"], ACTIVE["name"], ACTIVE["name"].split()[1]):
            assert personal not in lean.received, f"{personal!r} released without the release policy"
        rich = access(provider_world.member, supplier(["library", "email"]))
        assert rich.granted
        assert ACTIVE["email"] in rich.received, "a released attribute must reach the supplier"

    def test_masks_secrets_in_logs(self, provider_world, supplier, access, captured_logs,
                                   request: pytest.FixtureRequest) -> None:
        slug = supplier(["library", "email"])
        result = access(provider_world.member, slug)
        assert result.granted
        access(provider_world.pending, slug)
        try:  # read after the registration: a provider may make its secrets then (a client secret)
            declared = list(request.getfixturevalue("provider_secrets"))
        except pytest.FixtureLookupError:
            declared = []
        text = captured_logs.text
        assert result.subject not in text, "the patron's identifier at the supplier was logged"
        for value in (ACTIVE["card"], PENDING["card"], *declared):
            assert value and value not in text, f"{value[:6]}… was logged"
