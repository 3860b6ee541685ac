"""``broker suppliers add-cas``: registration and the checks on service patterns."""

from __future__ import annotations


def _network(broker_cli):
    assert broker_cli("networks", "add", "calvados", "--name", "Calvados").exit_code == 0


def test_add_cas(broker_cli):
    _network(broker_cli)
    result = broker_cli("suppliers", "add-cas", "mediatheque-numerique", "--service-pattern",
                        r"https://vod\.example\.org/(login|film/\d+)", "--network", "calvados",
                        "--release", "library", "--json")
    assert result.exit_code == 0, result.output
    data = result.json()
    assert data["protocol"] == "cas" and data["service_patterns"] == [r"https://vod\.example\.org/(login|film/\d+)"]
    assert data["release"] == ["library"]
    again = broker_cli("suppliers", "add-cas", "mediatheque-numerique", "--service-pattern",
                       r"https://vod\.example\.org/.*")
    assert again.exit_code == 2 and "already uses cas" in again.stderr


def test_patterns_are_checked(broker_cli):
    _network(broker_cli)
    for pattern, expected in ((".*", "too broad"), ("https?://.*", "too broad"), ("(", "not a valid"),
                              ("https://[a-z.]*/.*", "too broad"), ("x" * 600, "at most")):
        result = broker_cli("suppliers", "add-cas", "bad", "--service-pattern", pattern, "--network", "calvados")
        assert result.exit_code == 2, pattern
        assert expected in result.stderr, (pattern, result.stderr)
    result = broker_cli("suppliers", "add-cas", "bad", "--service-pattern", r"https://ok\.example\.org/.*")
    assert result.exit_code == 2 and "network" in result.stderr


def test_patterns_match_the_whole_url():
    import re

    from broker.providers.cas.services import CasService, check_pattern

    service = CasService(1, "s", "S", (re.compile(check_pattern(r"https://ok\.example\.org/app")),))
    assert service.matches("https://ok.example.org/app")
    assert not service.matches("https://ok.example.org/app.evil.example/")
    assert not service.matches("https://ok.example.org/app/../x")


def test_a_pattern_that_lets_the_host_run_on_is_too_broad():
    """``https://ok\\.example\\.org.*`` would also accept ok.example.org.attacker.example and user@host URLs."""
    import pytest

    from broker.errors import InvalidInput
    from broker.providers.cas.services import check_pattern

    for pattern in (r"https://ok\.example\.org.*", r"^https://ok\.example\.org(.*)$", r"https?://ok\.example\.org\S*"):
        with pytest.raises(InvalidInput, match="too broad"):
            check_pattern(pattern)
    for pattern in (r"https://ok\.example\.org/.*", r"^https://ok\.example\.org(/.*)?$",
                    r"https://ok\.example\.org:8443/app"):
        assert check_pattern(pattern) == pattern


def test_a_service_url_with_user_info_is_never_a_registered_service():
    """Whatever the pattern, ``https://host@elsewhere/`` sends the ticket to ``elsewhere``."""
    from broker.providers.cas.services import acceptable_url

    assert acceptable_url("https://ok.example.org/app")
    for url in ("https://ok.example.org@attacker.example/", "https://ok.example.org:443@attacker.example/",
                "https://user:pw@ok.example.org/app"):
        assert not acceptable_url(url), url


def test_add_cas_with_single_logout(broker_cli):
    _network(broker_cli)
    result = broker_cli("suppliers", "add-cas", "slo-service", "--service-pattern", r"https://slo\.example\.org/.*",
                        "--network", "calvados", "--single-logout", "--json")
    assert result.exit_code == 0, result.output
    assert result.json()["single_logout"] is True
    plain = broker_cli("suppliers", "add-cas", "plain-service", "--service-pattern",
                       r"https://plain\.example\.org/.*", "--network", "calvados", "--json")
    assert plain.json()["single_logout"] is False
