"""Work done outside the request, by Huey (https://huey.readthedocs.io): a maintained job
queue with retries, back-off, schedules and periodic tasks, and two stores that fit this
project. ``QUEUE_URL`` chooses the store:

- ``sqlite:///path`` (the default, ``instance/queue.sqlite``): nothing to install, so
  ``make run`` needs only Python; one machine only.
- ``redis://host:port/db``: production, shared by every app server and worker (Redis is
  already there for the rate limits).

Jobs are declared with ``@queue.task()`` (and ``@queue.periodic(crontab)``) and run inside an
application context. A web request only enqueues: ``flask --app app worker`` runs them (one
process, ``--workers`` threads), ``flask --app app worker --burst`` does what is due and exits.
With ``QUEUE_IMMEDIATE`` (the tests' default) a job runs at once where it is enqueued, in the
same process: the same code path, Huey's own immediate mode.

A job must be safe to run twice: a worker killed mid-job leaves it to run again (Huey takes a
job off the queue before running it, so the periodic sweeps — e.g. the mail outbox's — pick up
whatever a dead worker dropped).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app, has_app_context
from flask.cli import with_appcontext
from huey import Huey, crontab
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage

log = logging.getLogger("gopy.queue")

__all__ = ["COMMANDS", "crontab", "huey", "init_app", "periodic", "run_due", "task"]

#: The one queue; its store is chosen by init_app() from QUEUE_URL.
huey = Huey("gopy", storage_class=MemoryStorage, results=False, utc=True)

#: The app whose context the worker's jobs run in (set by init_app; the last one wins, which
#: is what a worker process, with its single app, needs).
_app: Flask | None = None

#: Periodic jobs, also run by ``worker --burst`` each time (each checks what is due itself).
_periodic: list[Callable[[], Any]] = []


class _SqliteStorage(SqliteStorage):
    """Huey's SQLite store in WAL with ``synchronous=NORMAL``, as the app's own SQLite database
    (app.py): a commit no longer waits for the disk (Huey's default, FULL, did, twice for every
    opinion posted), and a power cut can lose the last jobs but never corrupt the file. A lost
    job is not lost work: the sweeps send what the outbox holds and group what is ungrouped."""

    def _create_connection(self):
        conn = super()._create_connection()
        conn.execute("pragma synchronous=1")
        return conn


def _storage(url: str, instance_path: str) -> tuple[type, dict[str, Any]]:
    if url.startswith(("redis://", "rediss://")):
        return RedisStorage, {"url": url}
    if url.startswith("memory://"):
        return MemoryStorage, {}
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///") or str(Path(instance_path) / "queue.sqlite")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return _SqliteStorage, {"filename": path}
    raise RuntimeError(f"QUEUE_URL must be sqlite:///…, redis://… or memory://, not {url!r}")


def init_app(app: Flask) -> None:
    global _app
    url = app.config.get("QUEUE_URL") or "sqlite:///" + str(
        Path(app.instance_path) / "queue.sqlite"
    )
    storage_class, kwargs = _storage(url, app.instance_path)
    huey.storage_class = storage_class
    huey.storage_kwargs = kwargs
    huey._immediate = bool(app.config.get("QUEUE_IMMEDIATE"))
    huey.storage = huey.create_storage()
    _app = app
    app.extensions["gopy_queue"] = huey


def _in_app_context(fn: Callable) -> Callable:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        if has_app_context():
            return fn(*args, **kwargs)
        if _app is None:  # pragma: no cover - init_app runs in create_app
            raise RuntimeError("the queue is not bound to an application")
        with _app.app_context():
            return fn(*args, **kwargs)

    return run


def task(**options: Any) -> Callable[[Callable], Any]:
    """A job: ``send_mail.call_local(42)`` runs it now, ``send_mail(42)`` enqueues it (Huey's
    options: ``retries``, ``retry_delay``, ``retry_backoff``, ``expires``…)."""

    def decorator(fn: Callable) -> Any:
        wrapper = huey.task(name=f"{fn.__module__}.{fn.__name__}", **options)(_in_app_context(fn))
        return wrapper

    return decorator


def periodic(schedule: Callable, **options: Any) -> Callable[[Callable], Any]:
    """A job the worker runs on ``schedule`` (``crontab(minute="*")``, in UTC), and
    ``worker --burst`` every time it runs."""

    def decorator(fn: Callable) -> Any:
        wrapped = _in_app_context(fn)
        _periodic.append(wrapped)
        return huey.periodic_task(schedule, name=f"{fn.__module__}.{fn.__name__}", **options)(
            wrapped
        )

    return decorator


def run_due(*, periodic_too: bool = True) -> int:
    """Run every job that is due now (queued, or scheduled for a time already past), then the
    periodic sweeps; return how many queued jobs ran. What ``worker --burst`` does."""
    ran = 0
    while True:
        for scheduled in huey.read_schedule():  # what is due now (Huey keeps its clock)
            huey.enqueue(scheduled)
        job = huey.dequeue()
        if job is None:
            break
        huey.execute(job)
        ran += 1
    if periodic_too:
        for sweep in list(_periodic):
            try:
                sweep()
            except Exception:  # one failing sweep must not stop the others
                log.exception("periodic job %s failed", getattr(sweep, "__name__", sweep))
    return ran


@click.command("worker")
@click.option("--burst", is_flag=True, help="Do every job that is due, then exit (tests, cron).")
@click.option("--workers", default=2, show_default=True, help="Jobs run at once (threads).")
@with_appcontext
def worker_command(burst: bool, workers: int) -> None:
    """Run the background jobs: mail, exports, notifications."""
    if burst:
        ran = run_due()
        click.echo(f"{ran} jobs done")
        return
    if huey.immediate:
        raise click.ClickException("QUEUE_IMMEDIATE is set: jobs run where they are enqueued.")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    log.info("worker on %s with %d threads", app.config.get("QUEUE_URL") or "sqlite", workers)
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=True)
    consumer.run()


#: Registered by commands.register().
COMMANDS = [worker_command]
