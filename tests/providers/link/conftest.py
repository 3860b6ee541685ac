"""Fixtures of the signed-link tests: a live demo broker with a second patron, suppliers registered with add-link
(the browsers: ../conftest.py)."""

from __future__ import annotations

import json
import os
import secrets

import pytest

from fixtures.live import serve
from providers.link.linkkit import OTHER_CARD, OTHER_PIN, SECRET, SECRET_VAR


@pytest.fixture(scope="module")
def live(tmp_path_factory, demo_db):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(SECRET_VAR, SECRET)
        for value in serve(tmp_path_factory, demo_db(sip2="offline")):
            _add_other_patron(value.runtime)
            yield value


def _add_other_patron(runtime) -> None:
    from broker.services import memberships
    from connectors.local import patrons as local_patrons

    csv = ("card,name,birth_date,expires,pin,email\n"
           f"{OTHER_CARD},Agathe Lemaire,1979-02-11,2030-12-31,{OTHER_PIN},agathe.lemaire@example.org\n")
    with runtime.db.session() as s:
        local_patrons.import_rows(runtime, s, "FR-147626101", local_patrons.parse(csv), actor="tests")
        memberships.import_rows(runtime, s, "FR-147626101",
                                [memberships.ImportRow(2, OTHER_CARD, "agathe.lemaire@example.org", "active")],
                                actor="tests")


@pytest.fixture
def add_link(live):
    """Run ``broker suppliers add-link`` against the live broker's database; returns (exit code, stdout, stderr)."""
    from click.testing import CliRunner

    import broker.cli as cli_module
    from broker.cli import admin, system  # noqa: F401

    settings = live.runtime.settings
    env = {"BROKER_SECRET_KEY": settings.secret_key, "BROKER_DATABASE_URL": settings.effective_database_url,
           "BROKER_INSTANCE_PATH": settings.instance_path, SECRET_VAR: SECRET}
    cli_module._attach_plugin_commands()

    def run(slug: str | None = None, *args: str, env_extra: dict | None = None):
        slug = slug or f"vod-{secrets.token_hex(3)}"
        with pytest.MonkeyPatch.context() as mp:
            for name in list(os.environ):
                if name.startswith("BROKER_") and not name.startswith(("BROKER_TEST_", "BROKER_BENCH_")):
                    mp.delenv(name)
            for k, v in {**env, **(env_extra or {})}.items():
                if v is None:
                    mp.delenv(k, raising=False)
                else:
                    mp.setenv(k, v)
            cli_module._APP = None
            result = CliRunner().invoke(cli_module.cli, ["suppliers", "add-link", slug, *args, "--json"],
                                        catch_exceptions=False)
            if cli_module._APP is not None:
                cli_module._APP.extensions["broker"].close()
                cli_module._APP = None
        data = json.loads(result.stdout) if result.exit_code == 0 else None
        return slug, result, data

    return run
