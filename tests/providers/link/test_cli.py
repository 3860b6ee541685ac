"""``broker suppliers add-link``: every bad input is exit 2 with a clear message, and nothing is registered."""

from __future__ import annotations

import pytest

from providers.link.linkkit import SECRET, SECRET_VAR

GOOD = "https://vod.example.org/sso?u={uid}&t={ts}&s={sig}"


@pytest.fixture
def cli(broker_cli, monkeypatch):
    monkeypatch.setenv(SECRET_VAR, SECRET)
    assert broker_cli("networks", "add", "calvados", "--name", "Calvados").exit_code == 0
    return broker_cli


def _registered(cli) -> list:
    return [s["slug"] for s in cli("suppliers", "list", "--json").json()]


@pytest.mark.parametrize("args,expected", [
    (("--url-template", "https://vod.example.org/sso?u={uid}&t={ts}&s={sig}&x={card}"), "unknown placeholder {card}"),
    (("--url-template", "https://vod.example.org/sso?u={uid}&t={ts}"), "must hold {sig}"),
    (("--url-template", "http://vod.example.org/sso?u={uid}&s={sig}"), "https://"),
    (("--url-template", "https://{uid}.example.org/?s={sig}"), "host must be written out"),
    (("--url-template", "https://vod.example.org{target}?s={sig}", "--target-origin", "https://vod.example.org"),
     "host must be written out"),
    (("--url-template", "https://vod.example.org@{library}/?s={sig}"), "host must be written out"),
    (("--url-template", "https://vod.example.org/sso?u={uid&s={sig}"), "lone '{'"),
    (("--url-template", "https://vod.example.org/sso?u={uid}}&s={sig}"), "lone '}'"),
    (("--url-template", GOOD, "--message", "{uid}{sig}"), "unknown placeholder {sig}"),
    (("--url-template", GOOD, "--message", "{uid}{pin}"), "unknown placeholder {pin}"),
    (("--url-template", GOOD, "--algorithm", "md5-concat"), "--allow-legacy"),
    (("--url-template", GOOD, "--algorithm", "sha1-concat"), "legacy"),
    (("--url-template", GOOD + "&to={target}"), "--target-origin"),
    (("--url-template", GOOD + "&to={target}", "--target-origin", "http://vod.example.org"), "https://host"),
    (("--url-template", GOOD + "&to={target}", "--target-origin", "https://vod.example.org/films"), "without a path"),
    (("--url-template", GOOD, "--lifetime", "5"), "lifetime"),
    (("--url-template", GOOD + "&m={email}"), "release policy"),
])
def test_bad_input_is_refused_and_nothing_registered(cli, args, expected):
    result = cli("suppliers", "add-link", "vod", "--network", "calvados", "--secret-env", SECRET_VAR, *args)
    assert result.exit_code == 2, result.output
    assert expected in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert _registered(cli) == []


def test_the_secret_variable_must_be_set_and_long_enough(cli, monkeypatch):
    for args, expected in (((), "exactly one"), (("--secret-env", "NO_SUCH_VARIABLE_HERE"), "is not set"),
                           (("--secret-env", "not a name"), "expected a variable name")):
        result = cli("suppliers", "add-link", "vod", "--network", "calvados", "--url-template", GOOD, *args)
        assert result.exit_code == 2 and expected in result.stderr, result.stderr
    monkeypatch.setenv("SHORT_SECRET", "tooshort")
    result = cli("suppliers", "add-link", "vod", "--network", "calvados", "--url-template", GOOD,
                 "--secret-env", "SHORT_SECRET")
    assert result.exit_code == 2 and "at least 16" in result.stderr and "tooshort" not in result.output
    assert _registered(cli) == []


def test_http_only_with_allow_http_and_unknown_network(cli):
    result = cli("suppliers", "add-link", "vod", "--network", "nowhere", "--url-template", GOOD,
                 "--secret-env", SECRET_VAR)
    assert result.exit_code == 2 and "unknown network" in result.stderr
    result = cli("suppliers", "add-link", "vod", "--network", "calvados", "--secret-env", SECRET_VAR,
                 "--url-template", "http://127.0.0.1:9/sso?u={uid}&s={sig}", "--allow-http", "--json")
    assert result.exit_code == 0, result.output
    assert result.json()["secret"] == f"environment variable {SECRET_VAR}" and SECRET not in result.output
    listed = cli("suppliers", "list", "--json").json()
    assert [(s["slug"], s["protocol"]) for s in listed] == [("vod", "link")]


def test_an_existing_supplier_gets_the_protocol_and_another_protocol_is_a_conflict(cli):
    assert cli("suppliers", "add", "press", "--name", "Press", "--network", "calvados").exit_code == 0
    result = cli("suppliers", "add-link", "press", "--url-template", GOOD, "--secret-env", SECRET_VAR, "--json")
    assert result.exit_code == 0 and result.json()["protocol"] == "link"
    assert cli("suppliers", "add-cas", "films", "--service-pattern", r"https://films\.example\.org/.*",
               "--network", "calvados").exit_code == 0
    result = cli("suppliers", "add-link", "films", "--url-template", GOOD, "--secret-env", SECRET_VAR)
    assert result.exit_code == 2 and "already uses cas" in result.stderr


def test_the_help_names_the_legacy_algorithms(cli):
    result = cli("suppliers", "add-link", "--help")
    text = " ".join(result.output.split())
    assert "md5-concat (legacy)" in text and "sha1-concat (legacy)" in text
    assert "--secret-env" in result.output and "--target-origin" in result.output
