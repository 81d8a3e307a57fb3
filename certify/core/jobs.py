"""Slow work off the request: in a thread by default, on RQ workers when Redis is configured.

``enqueue`` is called after the request has committed what the job reads.  With
CERTIFY_REDIS_URL set the job goes to the "certify" RQ queue, where
``certify worker`` processes pick it up (each builds the application once from
the same CERTIFY_* settings); otherwise a daemon thread of the web process runs
it, or, with JOBS=inline (the tests), the caller runs it at once.  A job is a
function named by its import path, given plain arguments (ids, not objects),
that opens its own session and commits its own work.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from flask import Flask

QUEUE = "certify"
JOB_TIMEOUT = 6 * 60 * 60
_worker_app: Flask | None = None


def resolve(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def run(app: Flask, path: str, *args: Any) -> None:
    """Run the job ``path`` with ``args`` inside an application context of ``app``."""
    with app.app_context():
        resolve(path)(*args)


def perform(path: str, *args: Any) -> None:
    """The entry point RQ workers call: the job inside this worker's application."""
    global _worker_app
    if _worker_app is None:
        from certify import create_app

        _worker_app = create_app()
    run(_worker_app, path, *args)


def redis_connection(url: str):
    from redis import Redis

    return Redis.from_url(url)


def enqueue(app: Flask, path: str, *args: Any) -> str:
    """Start the job ``path(*args)``; returns how it runs: "rq", "thread" or "inline"."""
    if app.config.get("REDIS_URL"):
        from rq import Queue

        Queue(QUEUE, connection=redis_connection(app.config["REDIS_URL"])).enqueue(
            perform, path, *args, job_timeout=JOB_TIMEOUT)
        return "rq"
    if app.config.get("JOBS") == "inline":
        run(app, path, *args)
        return "inline"
    threading.Thread(target=run, args=(app, path, *args), name=f"job {path}",
                     daemon=True).start()
    return "thread"
