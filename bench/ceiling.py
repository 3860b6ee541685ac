"""The framework ceiling: the smallest Flask app, served and loaded exactly as Sésame is.

``gunicorn bench.ceiling:app``. Every scenario's throughput is judged as a
ratio to this one's in the same run, so a busy machine does not change the verdict.
"""

from flask import Flask

app = Flask("ceiling")


@app.get("/")
def index():
    return "ok\n"


@app.get("/healthz")
def healthz():
    return {"status": "ok"}
