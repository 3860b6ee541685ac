"""A small Sésame cluster for the scale-out and fault tests (``scale.cluster``, used by conftest.py).

Two nodes (separate ``broker serve`` processes, 2 threaded workers each, on two free ports)
share one PostgreSQL database and one Redis, behind one public URL
(``http://sesame.test``) as a load balancer would present them. PostgreSQL
is a private server started as the ``postgres`` system user when possible
(so that it can be restarted), else a fresh database on the machine's
server. Redis is a private redis-server that the tests may stop and start.
Two SIP2 emulators serve the libraries: the "main" one, and the one of the
library whose SIGB the fault tests silence.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field

import pytest
import requests

from bench import population
from bench.infra import SIP2_LOGIN, SIP2_PASSWORD, Gunicorn, Postgres, Redis, Sip2Emulator, free_port
from bench.stack import SesameServer, make_runtime, sesame_env
from broker.server import ServeOptions

PUBLIC = "http://sesame.test"
MAIN, SILENT = population.library_code(0), population.library_code(1)
PATRONS = 40
#: each node as `broker serve` runs it, with two workers (a timeout above any boot on a busy machine)
NODE = ServeOptions(workers=2, timeout=60, graceful_timeout=5)


@dataclass
class Cluster:
    pg: Postgres
    redis: Redis
    emulators: dict[str, Sip2Emulator]
    loaded: population.Loaded
    env: dict[str, str]
    nodes: dict[str, Gunicorn] = field(default_factory=dict)
    api_token: str = ""

    def node(self, name: str) -> Gunicorn:
        if name not in self.nodes:
            self.nodes[name] = SesameServer("broker.wsgi:app", self.env, serve=NODE).start()
        return self.nodes[name]

    def start_nodes(self, *names: str) -> None:
        """Start several nodes at once (each imports the app in its workers)."""
        for name in names:
            self.nodes[name] = SesameServer("broker.wsgi:app", self.env, serve=NODE).start(wait=False)
        for name in names:
            self.nodes[name].wait()

    def patrons_of(self, code: str) -> list[population.Patron]:
        return [p for p in self.loaded.patrons if p.library == code]


def start(tmp_path_factory, fallback_postgres_url):
    """Start the cluster; a generator yielding it once (the fixture's body)."""
    if not os.path.exists(shutil.which("redis-server") or "/usr/bin/redis-server"):
        pytest.skip("redis-server is not installed (Debian package redis-server)")
    folder = tmp_path_factory.mktemp("scale")
    pg = Postgres()
    why = pg._start_private()
    if why is not None:
        postgres_url = fallback_postgres_url()
        if postgres_url is None:
            pytest.skip(f"no PostgreSQL: a private server could not start ({why}) and none answers on 127.0.0.1:5432")
        from fixtures.servers import reset_postgres

        reset_postgres(postgres_url)
        pg.url, pg.kind = postgres_url, f"the test database on the machine's server ({why})"
    redis_server = Redis(port=free_port())
    redis_server._dir = str(folder / "redis")
    os.makedirs(redis_server._dir)
    redis_server.start_server()
    redis_server.url = f"redis://127.0.0.1:{redis_server.port}/0"
    csv, pairs = population.write_patrons_csv(folder, PATRONS)
    emulators = {MAIN: Sip2Emulator(csv).start(), SILENT: Sip2Emulator(csv).start()}
    instance = str(folder / "instance")
    made: Cluster | None = None
    try:
        runtime = make_runtime(pg.url, redis_server.url, PUBLIC, instance)
        try:
            from broker.db.migrate import upgrade
            from broker.services import libraries, staff

            upgrade(runtime.db.engine)
            loaded = population.load(runtime, libraries=2, patrons=pairs, sip2_port=emulators[MAIN].port,
                                     sip2_login=SIP2_LOGIN, sip2_password=SIP2_PASSWORD)
            with runtime.db.session() as s:
                libraries.update_connector(runtime, s, SILENT, "sip2", {
                    "host": "127.0.0.1", "port": emulators[SILENT].port, "login": SIP2_LOGIN,
                    "password": SIP2_PASSWORD, "institution": "BENCH", "timeout": 1.0, "pool_size": 2}, actor="test")
            with runtime.db.session() as s:
                admin = staff.add_staff(runtime, s, "admin@bench.example.org", "admin", population.NETWORK,
                                        actor="test")
                token = staff.create_api_token(runtime, s, admin.user, "scale tests", actor="test")
        finally:
            runtime.close()
        env = sesame_env(pg.url, redis_server.url, PUBLIC, instance)
        made = Cluster(pg, redis_server, emulators, loaded, env, api_token=token)
        made.start_nodes("a", "b", "doomed")
        yield made
    finally:
        for node in (made.nodes.values() if made else ()):
            node.kill()  # disposable: no graceful shutdown to wait for
        for emulator in emulators.values():
            emulator.stop()
        redis_server.stop_server()
        if pg.private:
            pg.stop()

class Browser:
    """A patron's browser talking to any node: cookies are kept here, whichever node answers."""

    def __init__(self, ip: str = "10.9.0.1") -> None:
        self.http = requests.Session()
        self.ip = ip

    def get(self, node: Gunicorn, path: str, **kw) -> requests.Response:
        return self.http.get(node.base + path, allow_redirects=False, timeout=10,
                             headers={"X-Forwarded-For": self.ip, **kw.pop("headers", {})}, **kw)

    def post(self, node: Gunicorn, path: str, data: dict, **kw) -> requests.Response:
        return self.http.post(node.base + path, data=data, allow_redirects=False, timeout=10,
                              headers={"X-Forwarded-For": self.ip, **kw.pop("headers", {})}, **kw)

    def login(self, node: Gunicorn, patron: population.Patron, next_url: str = "") -> requests.Response:
        page = self.get(node, f"/login?library={patron.library}")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        data = {"csrf_token": token, "library": patron.library, "card": patron.card, "password": patron.pin}
        if next_url:
            data["next"] = next_url
        return self.post(node, "/login", data)


