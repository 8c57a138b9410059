"""The durable outbox: rows in the change's transaction, sent after it by the queue, retried
with back-off, kept as failed and shown to admins; nothing in a request waits on SendGrid."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from support import (
    AuthActions,
    FakeSendGrid,
    Maker,
    dispose,
    new_queued_app,
    outbox,
    seed_world,
    sendgrid_env,
)

from core.extensions import db
from core.timeutil import utcnow
from infra import mail, queue
from outbox import sending
from outbox.models import OutboxMessage


@pytest.fixture
def fake_sendgrid(monkeypatch):
    fake = FakeSendGrid().start()
    sendgrid_env(monkeypatch, fake)
    yield fake
    fake.stop()


@pytest.fixture
def queued_app(database_url, tmp_path):
    """An app whose jobs wait in a queue (Huey's memory store) for ``queue.run_due()``."""
    app = new_queued_app(database_url, tmp_path, MAIL_MAX_ATTEMPTS=4)
    yield app
    dispose(app)


def rows(app) -> list[OutboxMessage]:
    with app.app_context():
        found = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return found


def _queue_one(app, to: str = "ba@example.vn") -> None:
    with app.test_request_context():
        mail.queue("reset", to=to, locale="en", name="Ba", link="http://localhost/x", hours=2)
        db.session.commit()


def _everything_due(app) -> None:
    """The clock moved on: every pending message's next attempt has come."""
    with app.app_context():
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.status == "pending")
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


@pytest.mark.postgres
def test_the_row_is_written_in_the_same_transaction(app, world):
    with app.test_request_context():
        mail.queue("reset", to="a@example.vn", locale="en", name="A", link="http://x", hours=2)
        db.session.rollback()
    assert rows(app) == []
    assert outbox(app) == []
    _queue_one(app)
    [row] = rows(app)
    assert (row.recipient, row.status, row.kind) == ("ba@example.vn", "sent", "account")
    assert row.subject == "Choose a new password for Góp ý"
    assert "http://localhost/x" in row.text
    [written] = outbox(app)  # no key: the JSON file, as before
    assert set(written) == {"to", "subject", "text", "html", "sender", "kind", "headers"}


def test_posting_while_sendgrid_hangs_returns_at_normal_speed(fake_sendgrid, queued_app, tmp_path):
    world = seed_world(queued_app)
    cid = Maker(queued_app, world).consultation("open")
    fake_sendgrid.delay = 3
    client = queued_app.test_client()
    AuthActions(client).login(world.email("resident"))
    started = time.perf_counter()
    r = client.post(f"/consultations/{cid}/opinions", data={"body": "Xin chào", "stance": "agree"})
    elapsed = time.perf_counter() - started
    assert r.status_code == 302
    assert elapsed < 1.0, elapsed
    assert fake_sendgrid.sent() == []  # the receipt is queued, not sent
    [pending] = rows(queued_app)
    assert pending.status == "pending"
    # Not even drawn in the request: the worker writes the letter at its first attempt.
    assert (pending.template, pending.text, pending.html) == ("opinion_receipt", "", "")

    fake_sendgrid.delay = 0
    with queued_app.app_context():
        assert queue.run_due() == 2  # the receipt's send, and the grouping of alike opinions
    [sent] = rows(queued_app)
    assert sent.status == "sent"
    assert "Xin chào" in sent.text
    assert "YK-" in sent.subject + sent.text  # its tracking number
    assert len(fake_sendgrid.delivered) == 1


def test_backoff_then_failed_then_listed_for_admins(fake_sendgrid, queued_app):
    world = seed_world(queued_app)
    fake_sendgrid.status = 500
    _queue_one(queued_app)
    waits = []
    for _attempt in range(4):
        with queued_app.app_context():
            queue.run_due()
        [row] = rows(queued_app)
        if row.status == "pending":
            waits.append((row.next_attempt_at - utcnow()).total_seconds())
            _everything_due(queued_app)
    # 1 min, 2, 4: the wait doubles; the fourth attempt (MAIL_MAX_ATTEMPTS) was the last.
    assert [round(w / 60) for w in waits] == [1, 2, 4]
    assert (row.status, row.attempts, row.last_error) == ("failed", 4, "SendGrid answered 500")
    with queued_app.app_context():
        queue.run_due()
    assert len(fake_sendgrid.sent()) == 4  # a failed message is not tried again by itself

    client = queued_app.test_client()
    auth = AuthActions(client)
    auth.login(world.email("moderator"))
    assert client.get("/admin/mail").status_code == 403
    auth.logout()
    auth.login(world.email("admin"))
    page = client.get("/admin/mail").get_data(as_text=True)
    assert "ba@example.vn" in page
    assert "SendGrid answered 500" in page
    assert "Choose a new password" in page
    assert "http://localhost/x" not in page  # never the body

    fake_sendgrid.status = 202
    r = client.post(f"/admin/mail/{row.id}/send")
    assert r.status_code == 302
    assert fake_sendgrid.delivered == {}  # the request only made it due
    with queued_app.app_context():
        queue.run_due()
    assert rows(queued_app)[0].status == "sent"
    assert len(fake_sendgrid.delivered) == 1
    assert "data-status=" not in client.get("/admin/mail").get_data(as_text=True)


def test_provider_down_for_hours_then_everything_arrives_once(fake_sendgrid, queued_app):
    seed_world(queued_app)
    queued_app.config["MAIL_MAX_ATTEMPTS"] = 13
    fake_sendgrid.fail_next = 10_000
    for i in range(12):
        _queue_one(queued_app, to=f"p{i}@example.vn")
    for _hour in range(8):  # every sweep an hour or more later, the provider still down
        with queued_app.app_context():
            queue.run_due()
        _everything_due(queued_app)
    assert {r.status for r in rows(queued_app)} == {"pending"}
    assert {r.attempts for r in rows(queued_app)} == {8}
    fake_sendgrid.fail_next = 0
    with queued_app.app_context():
        queue.run_due()
    assert {r.status for r in rows(queued_app)} == {"sent"}
    assert len(fake_sendgrid.delivered) == 12
    delivered = sorted(
        m["personalizations"][0]["to"][0]["email"] for m in fake_sendgrid.delivered.values()
    )
    assert delivered == sorted(f"p{i}@example.vn" for i in range(12))


def test_enqueue_failure_loses_nothing(queued_app, monkeypatch):
    seed_world(queued_app)

    def redis_down(*args, **kwargs):
        raise ConnectionError("queue down")

    monkeypatch.setattr(sending, "send", redis_down)
    _queue_one(queued_app)  # the commit succeeds
    assert [r.status for r in rows(queued_app)] == ["pending"]
    with queued_app.app_context():
        assert queue.run_due() == 0  # nothing in the queue, the sweep sends from the table
    assert [r.status for r in rows(queued_app)] == ["sent"]
    assert len(outbox(queued_app)) == 1


def test_a_claim_is_taken_once_and_a_stale_one_again(queued_app):
    seed_world(queued_app)
    queued_app.config["MAIL_CLAIM_SECONDS"] = 60
    _queue_one(queued_app)
    [row] = rows(queued_app)
    with queued_app.app_context():
        db.session.execute(
            sa.update(OutboxMessage).values(status="sending", claimed_at=utcnow(), attempts=1)
        )
        db.session.commit()
        assert sending.send_one(row.id) is None  # another worker holds it
        db.session.execute(
            sa.update(OutboxMessage).values(claimed_at=utcnow() - timedelta(minutes=2))
        )
        db.session.commit()
        assert sending.send_one(row.id) is True  # that worker died: taken up again
        assert sending.send_one(row.id) is None  # sent: never twice
    [row] = rows(queued_app)
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(outbox(queued_app)) == 1


def test_mail_retry_sends_the_waiting_now(fake_sendgrid, queued_app):
    seed_world(queued_app)
    fake_sendgrid.status = 503
    _queue_one(queued_app)
    with queued_app.app_context():
        queue.run_due()
    assert rows(queued_app)[0].next_attempt_at > utcnow()
    fake_sendgrid.status = 202
    result = queued_app.test_cli_runner().invoke(args=["mail", "retry"])
    assert result.exit_code == 0, result.output
    assert "1 sent, 0 still failing" in result.output
    assert rows(queued_app)[0].status == "sent"
