"""Health, readiness, metrics, and errors that are pages or JSON — never a 500."""

import pytest

METRICS_TOKEN = "m" * 40


def test_health_and_ready(client):
    assert client.get("/healthz").json == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json["checks"] == {"database": "ok", "state": "ok"}


def test_metrics_are_not_for_everyone(make_app):
    closed = make_app().test_client()
    assert closed.get("/metrics").status_code == 404
    assert closed.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404

    guarded = make_app(metrics_token=METRICS_TOKEN).test_client()
    assert guarded.get("/metrics").status_code == 404
    assert guarded.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    r = guarded.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert r.status_code == 200 and b"broker_http_requests_total" in r.data


def test_a_short_metrics_token_is_refused(make_app):
    from broker.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        make_app(metrics_token="short")
    assert caught.value.key == "metrics_token"


def test_ready_with_redis(make_app, redis_url):
    app = make_app(redis_url=redis_url)
    assert app.test_client().get("/readyz").json["checks"]["state"] == "ok"


def test_not_ready_when_redis_is_down(make_app):
    from fixtures.servers import free_port

    app = make_app(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    r = app.test_client().get("/readyz")
    assert r.status_code == 503 and r.json["checks"]["state"].startswith("unavailable")


@pytest.mark.parametrize("path, status", [("/nope", 404), ("/api/v1/nope", 404)])
def test_errors_are_pages_or_json(client, path, status):
    r = client.get(path)
    assert r.status_code == status
    if path.startswith("/api/"):
        assert r.is_json and "error" in r.json
    else:
        assert b"<h1>" in r.data and b"Traceback" not in r.data


def test_oversized_body_is_413(client):
    r = client.post("/healthz", data=b"x" * (2 * 1024 * 1024), content_type="application/octet-stream")
    assert r.status_code in (405, 413)


def test_session_cookie_is_secure_over_https(make_app):
    app = make_app(base_url="https://sesame.example.org")
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_language_switch_keeps_the_query(client):
    page = client.get("/nope?q=caen&x=1").get_data(as_text=True)
    assert 'href="?q=caen&amp;x=1&amp;lang=en"' in page
    english = client.get("/nope?q=caen&lang=en").get_data(as_text=True)
    assert 'href="?q=caen&amp;lang=fr"' in english
