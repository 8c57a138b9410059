"""Rate limits against a real Redis, shared by several application processes (workers).

Uses ``TEST_REDIS_URL`` (CI sets it; default redis://127.0.0.1:6379/15). The database is
flushed first, so point it at a database of its own.
"""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from support import PASSWORD, Client

from app import create_app
from consultations.models import Opinion
from core.extensions import db
from infra import ratelimits

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BUDGETS = {
    "login_ip": "6 per minute",
    "login_account": "50 per hour",
    "opinion_account": "4 per minute",
}


@pytest.fixture
def redis_url():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI") or os.environ.get("TEST_REDIS_URL"):
            pytest.fail(f"Redis at {REDIS_URL} is not reachable")
        pytest.skip("Redis not reachable (set TEST_REDIS_URL)")
    yield REDIS_URL
    client.flushdb()
    client.close()


def _make_app(database_url, tmp_path, storage: str, name: str):
    url, engine_options = database_url
    app = create_app(
        {
            "TESTING": True,
            "QUEUE_IMMEDIATE": True,  # jobs run where enqueued; no queue file in instance/
            "SECRET_KEY": "test-shared-key",
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
            "OUTBOX_DIR": str(tmp_path / f"outbox-{name}"),
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            "BASE_URL": "http://localhost",
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": storage,
            "RATELIMITS": BUDGETS,
        }
    )
    app.test_client_class = Client
    return app


@pytest.fixture
def app(database_url, tmp_path, redis_url):
    app = _make_app(database_url, tmp_path, redis_url, "a")
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_limits_and_lockout_are_shared_through_redis(app, world, database_url, tmp_path, redis_url):
    import redis

    # A second application on the same database and Redis stands for another gunicorn worker.
    # The limiter extension is one object per process, so both apps count in the same Redis
    # keys exactly as two worker processes would.
    other = _make_app(database_url, tmp_path, redis_url, "b")
    clients = [app.test_client(), other.test_client()]
    statuses = [
        clients[i % 2]
        .post(
            "/auth/login",
            data={"email": f"x{i}@example.vn", "password": "x"},
            environ_base={"REMOTE_ADDR": "198.51.100.7"},
        )
        .status_code
        for i in range(10)
    ]
    refused = statuses.count(429)
    print(
        f"\n[rate limit, redis] login per address (6/minute) over two apps: {len(statuses)} requests, {refused} refused"
    )
    assert statuses[:6] == [400] * 6
    assert refused == 4
    keys = redis.Redis.from_url(redis_url).keys("*LIMITER*")
    assert keys, "the counters live in Redis"

    # The login lockout store is Redis too: failures counted by one app lock the account in the other.
    with app.test_request_context():
        from auth.models import User

        user = db.session.get(User, world.ids["resident"])
        for _ in range(ratelimits.LOGIN_MAX_FAILURES):
            ratelimits.register_failure(user)
        db.session.commit()
    with other.test_request_context():
        user = db.session.get(User, world.ids["resident"])
        assert ratelimits.login_blocked(user)
    print(
        "[rate limit, redis] login lockout: account locked after "
        f"{ratelimits.LOGIN_MAX_FAILURES} failures, seen by the other app"
    )


def test_opinion_limit_over_redis(app, world, make):
    cid = make.consultation("open")
    client = app.test_client()
    assert (
        client.post(
            "/auth/login", data={"email": world.email("resident"), "password": PASSWORD}
        ).status_code
        == 302
    )
    statuses = [
        client.post(
            f"/consultations/{cid}/opinions",
            data={"body": f"Ý kiến {i}", "stance": "agree", "section_id": ""},
        ).status_code
        for i in range(7)
    ]
    refused = statuses.count(429)
    print(
        f"\n[rate limit, redis] opinions per account (4/minute): {len(statuses)} requests, {refused} refused"
    )
    assert statuses == [302] * 4 + [429] * 3
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Opinion)) == 4


def test_redis_down_does_not_take_the_site_down(database_url, tmp_path, world, app):
    """With Redis unreachable, logins and opinions still work (limits fall back to memory)."""
    down = _make_app(database_url, tmp_path, "redis://127.0.0.1:1/0", "down")
    client = down.test_client()
    statuses = [
        client.post(
            "/auth/login", data={"email": world.email("resident"), "password": "wrong"}
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [400] * 3
    ok = client.post("/auth/login", data={"email": world.email("resident"), "password": PASSWORD})
    assert ok.status_code == 302
    assert client.get("/healthz").status_code == 200
    # The in-memory fallback still enforces the budget.
    many = [
        client.post("/auth/login", data={"email": f"y{i}@example.vn", "password": "x"}).status_code
        for i in range(8)
    ]
    print(
        f"\n[rate limit, redis down] login per address (6/minute, memory fallback): {len(many)} requests, {many.count(429)} refused"
    )
    assert 500 not in many
