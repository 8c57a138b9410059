"""The real worker, in its own process: killed with ``kill -9`` mid-send, the message still
arrives exactly once; with Redis flushed between enqueue and work, the sweep sends it all the
same. SQLite store here; the Redis store with ``TEST_REDIS_URL`` (CI sets it; this file uses
the database after it, 14 for 15, so the rate-limit tests' flushes do not meet ours)."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import FakeSendGrid, dispose, new_app, seed_world, sendgrid_env

from core.extensions import db
from infra import mail
from outbox.models import OutboxMessage

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(Path(sys.executable).parent / "flask")
#: How long a claim holds in these tests (MAIL_CLAIM_SECONDS).
CLAIM_SECONDS = 2
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _queue_redis_url() -> str:
    """TEST_REDIS_URL's server, another database number than the rate-limit tests'."""
    base, _, number = REDIS_URL.rpartition("/")
    if not number.isdigit() or "://" not in base:
        return REDIS_URL.rstrip("/") + "/14"
    return f"{base}/{(int(number) - 1) % 16}"


@pytest.fixture
def fake_sendgrid(monkeypatch):
    fake = FakeSendGrid().start()
    sendgrid_env(monkeypatch, fake)
    yield fake
    fake.stop()


@pytest.fixture
def redis_queue():
    import redis

    url = _queue_redis_url()
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI") or os.environ.get("TEST_REDIS_URL"):
            pytest.fail(f"Redis at {url} is not reachable")
        pytest.skip("Redis not reachable (set TEST_REDIS_URL)")
    yield url, client
    client.flushdb()
    client.close()


def _app(database_url, tmp_path, queue_url: str):
    return new_app(database_url, tmp_path, QUEUE_IMMEDIATE=False, QUEUE_URL=queue_url)


def _env(app, queue_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "QUEUE_"))}
    env.update(
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        QUEUE_URL=queue_url,
        SECRET_KEY="worker-" + secrets.token_hex(16),
        MAIL_CLAIM_SECONDS=str(CLAIM_SECONDS),
        RATELIMIT_ENABLED="0",
    )
    return env


def _worker(app, queue_url: str, *args: str, log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(
            [FLASK, "--app", "app", "worker", *args],
            cwd=ROOT,
            env=_env(app, queue_url),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _burst(app, queue_url: str, log: Path) -> str:
    proc = _worker(app, queue_url, "--burst", log=log)
    assert proc.wait(timeout=60) == 0, log.read_text()
    return log.read_text()


def _queue_one(app) -> int:
    with app.test_request_context():
        row = mail.queue("reset", to="ba@example.vn", locale="en", link="http://x/r", hours=2)
        db.session.commit()
        return row.id


def _row(app, message_id: int) -> OutboxMessage:
    with app.app_context():
        row = db.session.get(OutboxMessage, message_id)
        db.session.expunge(row)
        return row


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _killed_mid_send_then_burst(app, fake: FakeSendGrid, queue_url: str, tmp_path: Path):
    seed_world(app)
    message_id = _queue_one(app)
    assert _row(app, message_id).status == "pending"
    fake.delay = 120  # SendGrid takes the message and does not answer
    log = tmp_path / "worker.log"
    proc = _worker(app, queue_url, "--workers", "1", log=log)
    try:
        assert fake.received.wait(30), log.read_text()
        _wait(lambda: _row(app, message_id).status == "sending", 10, "the claim")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert _row(app, message_id).status == "sending"  # the dead worker's claim
    fake.delay = 0
    fake.release.set()

    # Once the claim is stale (test_mail_outbox checks a fresh one is left alone), the sweep
    # of a burst takes the message up again.
    time.sleep(CLAIM_SECONDS + 0.5)
    _burst(app, queue_url, log)
    row = _row(app, message_id)
    assert (row.status, row.attempts) == ("sent", 2)
    # Two requests with one key: delivered exactly once.
    keys = [r["json"]["custom_args"][mail.KEY_ARG] for r in fake.sent()]
    assert keys == [row.idempotency_key] * 2
    assert list(fake.delivered) == [row.idempotency_key]


@pytest.mark.slow
def test_worker_killed_mid_send_sqlite_store(fake_sendgrid, database_url, tmp_path):
    queue_url = f"sqlite:///{tmp_path / 'queue.sqlite'}"
    app = _app(database_url, tmp_path, queue_url)
    try:
        _killed_mid_send_then_burst(app, fake_sendgrid, queue_url, tmp_path)
    finally:
        dispose(app)


@pytest.mark.slow
def test_worker_killed_mid_send_redis_store(fake_sendgrid, redis_queue, database_url, tmp_path):
    queue_url, _client = redis_queue
    app = _app(database_url, tmp_path, queue_url)
    try:
        _killed_mid_send_then_burst(app, fake_sendgrid, queue_url, tmp_path)
    finally:
        dispose(app)


@pytest.mark.slow
def test_redis_flushed_between_enqueue_and_work(fake_sendgrid, redis_queue, database_url, tmp_path):
    queue_url, client = redis_queue
    app = _app(database_url, tmp_path, queue_url)
    try:
        seed_world(app)
        ids = [_queue_one(app) for _ in range(3)]
        assert client.dbsize() > 0  # the jobs are in Redis
        client.flushdb()  # Redis restarted without its data
        output = _burst(app, queue_url, tmp_path / "worker.log")
        assert re.search(r"^0 jobs done$", output, re.M), output
        assert {_row(app, i).status for i in ids} == {"sent"}
        assert len(fake_sendgrid.delivered) == 3
    finally:
        dispose(app)


@pytest.mark.slow
def test_a_running_worker_sends_what_a_request_queued(fake_sendgrid, database_url, tmp_path):
    queue_url = f"sqlite:///{tmp_path / 'queue.sqlite'}"
    app = _app(database_url, tmp_path, queue_url)
    log = tmp_path / "worker.log"
    proc = _worker(app, queue_url, log=log)
    try:
        seed_world(app)
        message_id = _queue_one(app)
        _wait(lambda: _row(app, message_id).status == "sent", 30, "the worker")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        dispose(app)
    assert len(fake_sendgrid.delivered) == 1
