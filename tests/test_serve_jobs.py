"""`broker serve` runs the background jobs plugins offer in each worker: the mail outbox is sent by one."""

import threading

from broker import mail
from broker.server import worker_jobs


def test_each_worker_sends_the_outbox(make_app, smtp_sink):
    app = make_app(mail_send_at_once=False, mail_poll_seconds=1, **smtp_sink.settings)
    runtime = app.extensions["broker"]
    jobs = {getattr(job, "__name__", ""): job for job in worker_jobs(app)}
    assert sorted(jobs) == ["mail", "sushi-harvest"]
    with runtime.db.session() as s:
        mail.queue(runtime, s, "camille@example.org", "Bienvenue", "Votre inscription est validée.")
    assert smtp_sink.messages == []  # queued, not sent by the request
    stop = threading.Event()
    worker = threading.Thread(target=jobs["mail"], args=(stop,), daemon=True)
    worker.start()
    try:
        smtp_sink.wait_for(1)  # woken by the delivery, however busy the machine
    finally:
        stop.set()
        worker.join(30)
    assert not worker.is_alive()
    assert [m["Subject"] for m in smtp_sink.messages] == ["Bienvenue"]


def test_no_mail_job_without_an_smtp_server(make_app):
    assert [getattr(job, "__name__", "") for job in worker_jobs(make_app())] == ["sushi-harvest"]
