"""Staff page fixtures: an app on a copy of the staff tests' database (``staff_template``, tests/fixtures/staff.py)."""

from __future__ import annotations

import pytest

from fixtures import staff as staffkit


@pytest.fixture
def staff_app(make_app, staff_template, sip2_emulator, tmp_path, smtp_sink):
    app = staffkit.app_from_template(make_app, staff_template, tmp_path, sip2_port=sip2_emulator.port,
                                     **smtp_sink.settings)
    app.smtp = smtp_sink
    return app


@pytest.fixture
def staff_client(staff_app):
    return staff_app.test_client()
