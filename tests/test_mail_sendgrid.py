"""Mail through the real SendGrid client, against a fake SendGrid on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from support import FakeSendGrid, outbox, sendgrid_env

from core.extensions import db
from infra.mail import KEY_ARG, KEY_HEADER
from outbox.cli import import_failed_files
from outbox.models import OutboxMessage

REGISTRATION = {
    "email": "ong.ba@example.vn",
    "password": "Cây-đa-đầu-làng-2026",
    "full_name": "Lê Văn Ba",
    "locality": "00004-T2",
    "consent": "y",
}


@pytest.fixture
def fake_sendgrid(monkeypatch):
    fake = FakeSendGrid().start()
    sendgrid_env(monkeypatch, fake)
    yield fake
    fake.stop()


@pytest.fixture
def sg_app(fake_sendgrid, app, world):
    """The app, created after the environment names the fake (fixtures run in this order)."""
    assert app.config["SENDGRID_API_HOST"] == fake_sendgrid.url
    return app


def _failed_dir(app) -> Path:
    return Path(app.config["OUTBOX_DIR"]) / "failed"


def _rows(app) -> list[OutboxMessage]:
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return rows


def test_registration_mail_goes_through_sendgrid(sg_app, fake_sendgrid, client):
    response = client.post("/auth/register", data=REGISTRATION)
    assert response.status_code == 302
    [request] = fake_sendgrid.sent()
    assert request["auth"] == "Bearer SG.test-key"
    message = request["json"]
    assert message["personalizations"][0]["to"] == [{"email": "ong.ba@example.vn"}]
    assert message["subject"] == "Confirm your e-mail address for Góp ý"
    contents = {c["type"]: c["value"] for c in message["content"]}
    assert "http://localhost/auth/verify/" in contents["text/plain"]
    assert "http://localhost/auth/verify/" in contents["text/html"]
    assert message["from"]["email"] == "no-reply@gopy.local"
    # The idempotency key travels as a header and as SendGrid custom_args.
    [row] = _rows(sg_app)
    assert message["headers"][KEY_HEADER] == row.idempotency_key
    assert message["custom_args"] == {KEY_ARG: row.idempotency_key}
    assert row.status == "sent"
    assert row.sent_at is not None
    assert row.attempts == 1
    # Nothing went to the outbox folder: the provider took it.
    assert outbox(sg_app) == []


def test_provider_failure_keeps_the_message_for_retry(sg_app, fake_sendgrid, client, runner):
    fake_sendgrid.status = 500
    response = client.post("/auth/register", data=REGISTRATION)
    # The resident's request succeeds all the same.
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/auth/registered")
    assert client.get("/auth/registered").status_code == 200
    assert len(fake_sendgrid.sent()) == 1
    [row] = _rows(sg_app)
    assert row.recipient == "ong.ba@example.vn"
    assert "/auth/verify/" in row.text
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "SendGrid answered 500")

    # Still down: the retry keeps it and says so.
    result = runner.invoke(args=["mail", "retry"])
    assert result.exit_code == 1
    assert "0 sent, 1 still failing" in result.output
    assert _rows(sg_app)[0].attempts == 2

    fake_sendgrid.status = 202
    result = runner.invoke(args=["mail", "retry"])
    assert result.exit_code == 0, result.output
    assert "1 sent, 0 still failing" in result.output
    assert _rows(sg_app)[0].status == "sent"
    last = fake_sendgrid.sent()[-1]["json"]
    assert last["personalizations"][0]["to"] == [{"email": "ong.ba@example.vn"}]
    assert "/auth/verify/" in {c["type"]: c["value"] for c in last["content"]}["text/plain"]
    # Three requests, one message: the same key each time.
    assert len(fake_sendgrid.delivered) == 1
    assert len({r["json"]["custom_args"][KEY_ARG] for r in fake_sendgrid.sent()}) == 1


def test_files_saved_by_the_older_version_are_sent_by_mail_retry(sg_app, runner):
    folder = _failed_dir(sg_app)
    folder.mkdir(parents=True)
    old = {"to": "a@example.vn", "subject": "S", "text": "T", "html": "<p>T</p>", "sender": "x@y"}
    (folder / "0a1b.json").write_text(json.dumps(old), encoding="utf-8")
    with sg_app.app_context():
        assert import_failed_files() == 1
    assert list(folder.glob("*.json")) == []
    [row] = _rows(sg_app)
    assert (row.recipient, row.status, row.kind) == ("a@example.vn", "failed", "account")


def test_mail_retry_imports_and_sends_old_files(sg_app, fake_sendgrid, runner):
    folder = _failed_dir(sg_app)
    folder.mkdir(parents=True)
    old = {"to": "b@example.vn", "subject": "S", "text": "T", "html": "<p>T</p>", "sender": "x@y"}
    (folder / "0a1c.json").write_text(json.dumps(old), encoding="utf-8")
    result = runner.invoke(args=["mail", "retry"])
    assert result.exit_code == 0, result.output
    assert "1 sent, 0 still failing" in result.output
    assert [r["json"]["subject"] for r in fake_sendgrid.sent()] == ["S"]
