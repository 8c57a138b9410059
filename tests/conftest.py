"""Shared fixtures: an app on a fresh database, a CSRF-aware client, a small world of users.
The helpers they use, and that tests import, are in support.py.

Tests marked ``postgres`` run twice: on SQLite and on the PostgreSQL of ``TEST_DATABASE_URL``
(each test in a schema of its own, dropped afterwards). On CI that variable is always set.
"""

from __future__ import annotations

import os
import secrets

import pytest
import sqlalchemy as sa
from support import AuthActions, Client, Maker, World, dispose, new_app, seed_world

from auth.models import User
from core.extensions import db


def pytest_generate_tests(metafunc):
    if "db_backend" in metafunc.fixturenames:
        backends = ["sqlite"]
        if metafunc.definition.get_closest_marker("postgres"):
            backends.append("postgresql")
        metafunc.parametrize("db_backend", backends, scope="function")


@pytest.fixture
def db_backend():  # replaced by the parametrisation above
    return "sqlite"


def _pg_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL")


@pytest.fixture
def database_url(db_backend, tmp_path):
    if db_backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite'}", {}
        return
    url = _pg_url()
    if not url:
        if os.environ.get("CI"):
            pytest.fail("TEST_DATABASE_URL must be set on CI: PostgreSQL tests may not be skipped")
        pytest.skip("PostgreSQL not configured (set TEST_DATABASE_URL)")
    schema = "t_" + secrets.token_hex(6)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS unaccent"))
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url, {"connect_args": {"options": f"-csearch_path={schema},public"}}
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture
def app(database_url, tmp_path):
    app = new_app(database_url, tmp_path)
    yield app
    dispose(app)


@pytest.fixture
def client(app) -> Client:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def world(app) -> World:
    return seed_world(app)


@pytest.fixture
def en(app, client, world):
    """Pages and mail in English, so the assertions do not depend on the translations."""
    with app.app_context():
        db.session.execute(sa.update(User).values(locale="en"))
        db.session.commit()
    client.set_cookie("lang", "en")


@pytest.fixture
def make(app, world) -> Maker:
    return Maker(app, world)


@pytest.fixture(scope="session")
def s3_peer():
    """moto's S3 server, one process for the whole run (each test takes a bucket of its own)."""
    from peers import S3Peer  # lazy: only the tests of S3 storage start it

    peer = S3Peer()
    yield peer
    peer.close()


@pytest.fixture
def s3(s3_peer, monkeypatch):
    """The S3 peer, with the AWS_* variables an operator would set pointing at it."""
    for name, value in s3_peer.env().items():
        monkeypatch.setenv(name, value)
    return s3_peer
