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
