"""A group answer writes one durable fan-out row; the worker expands it, once, in one
transaction, into each author's notification and e-mail (issue 14: under a second for 5,000)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from support import (
    AuthActions,
    Maker,
    dispose,
    new_queued_app,
    notifications_of,
    outbox,
    seed_world,
)

from auth.models import User
from consultations.models import Opinion, Outcome
from core.extensions import db
from core.timeutil import utcnow
from infra import mail, queue
from moderation import services as moderation
from moderation import telling
from notifications.models import Notification
from outbox import sending
from outbox.models import OutboxMessage

AUTHORS = ("resident", "reviewer", "official", "moderator")


@pytest.fixture
def queued_app(database_url, tmp_path):
    app = new_queued_app(database_url, tmp_path, MAIL_MAX_ATTEMPTS=3)
    yield app
    dispose(app)


@pytest.fixture
def answered(queued_app):
    """Four authors' opinions answered together by the moderator (one of the authors), with the
    receipts of the opinions already sent: what is left in the outbox is the answer's."""
    world = seed_world(queued_app)
    make = Maker(queued_app, world)
    cid = make.consultation("open")
    ids = [make.opinion(cid, who=who, body=f"Ý kiến của {who}.") for who in AUTHORS]
    with queued_app.app_context():
        queue.run_due()
    sent_before = len(outbox(queued_app))
    with queued_app.test_request_context():
        ops = [db.session.get(Opinion, i) for i in ids]
        moderator = db.session.get(User, world.ids["moderator"])
        moderation.respond(ops, by=moderator, outcome=Outcome.accepted, explanation="Tiếp thu.")
        db.session.commit()
    return world, ids, sent_before


def _rows(app, kind: str | None = None) -> list[OutboxMessage]:
    with app.app_context():
        query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
        if kind:
            query = query.where(OutboxMessage.kind == kind)
        found = db.session.scalars(query).all()
        db.session.expunge_all()
        return found


def _answered_notes(app) -> int:
    with app.app_context():
        return db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(Notification.type == "opinion_answered")
        )


def _answer_mails(app, sent_before: int) -> list[str]:
    return sorted(m["to"] for m in outbox(app)[sent_before:])


@pytest.mark.postgres
def test_the_answer_writes_one_row_and_the_worker_tells_each_author_once(queued_app, answered):
    world, _ids, sent_before = answered
    [fan] = _rows(queued_app, mail.FANOUT)
    assert (fan.status, fan.template, fan.recipient) == ("pending", "opinions_answered", "")
    assert _answered_notes(queued_app) == 0  # nothing per author in the moderator's request
    assert _rows(queued_app, "account")[-1].template != "opinion_answered"

    with queued_app.app_context():
        queue.run_due()
        queue.run_due()  # again: the row is done, nobody is told twice
        assert sending.send_one(fan.id) is None
    [fan] = _rows(queued_app, mail.FANOUT)
    assert fan.status == "sent"
    # Everyone but the moderator, who answered their own opinion among the others.
    assert _answered_notes(queued_app) == 3
    assert notifications_of(queued_app, world.ids["moderator"]) == []
    assert _answer_mails(queued_app, sent_before) == sorted(
        world.email(who) for who in AUTHORS if who != "moderator"
    )


@pytest.mark.postgres
def test_a_failed_expansion_leaves_nothing_and_is_retried(queued_app, answered, monkeypatch):
    _world, _ids, sent_before = answered

    def broken(*args, **kwargs):
        raise RuntimeError("the worker died halfway")

    # The notifications are written first; the mail step then fails: both roll back together.
    monkeypatch.setattr(telling, "_mail_authors_answered", broken)
    with queued_app.app_context():
        queue.run_due()
    [fan] = _rows(queued_app, mail.FANOUT)
    assert (fan.status, fan.attempts) == ("pending", 1)
    assert fan.last_error == "not expanded: RuntimeError"
    assert _answered_notes(queued_app) == 0
    assert outbox(queued_app)[sent_before:] == []

    monkeypatch.undo()
    with queued_app.app_context():
        db.session.execute(
            sa.update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        queue.run_due()  # the sweep expands it again…
        queue.run_due()  # …and the messages it queued go out
    [fan] = _rows(queued_app, mail.FANOUT)
    assert (fan.status, fan.attempts) == ("sent", 2)
    assert _answered_notes(queued_app) == 3
    assert len(outbox(queued_app)[sent_before:]) == 3


def test_after_the_last_attempt_it_is_kept_and_shown_to_admins(queued_app, answered, monkeypatch):
    world, _ids, _sent_before = answered
    monkeypatch.setitem(mail.FANOUTS, "opinions_answered", lambda **kw: 1 / 0)
    for _ in range(3):
        with queued_app.app_context():
            db.session.execute(
                sa.update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1))
            )
            db.session.commit()
            queue.run_due()
    [fan] = _rows(queued_app, mail.FANOUT)
    assert (fan.status, fan.attempts) == ("failed", 3)
    client = queued_app.test_client()
    AuthActions(client).login(world.email("admin"))
    page = client.get("/admin/mail").get_data(as_text=True)
    assert "not expanded: ZeroDivisionError" in page
    assert "Everyone an event concerns" in page


def test_a_slow_worker_whose_claim_was_taken_over_writes_nothing(queued_app, answered):
    _world, _ids, sent_before = answered
    queued_app.config["MAIL_CLAIM_SECONDS"] = 60
    [fan] = _rows(queued_app, mail.FANOUT)
    long_ago = utcnow() - timedelta(minutes=5)
    with queued_app.app_context():
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == fan.id)
            .values(status="sending", claimed_at=long_ago, attempts=1)
        )
        db.session.commit()
        assert sending.send_one(fan.id) is True  # the stale claim is taken over and done
        # The first worker wakes up and tries to finish with its old claim: refused.
        with db.engine.connect() as conn:
            row = (
                conn.execute(sa.select(OutboxMessage.__table__).where(OutboxMessage.id == fan.id))
                .mappings()
                .one()
            )
        assert sending._expand(row, long_ago) is None
        queue.run_due()  # the messages the expansion queued
    assert _answered_notes(queued_app) == 3
    assert len(outbox(queued_app)[sent_before:]) == 3


def test_an_opinion_answered_again_before_the_worker_is_told_by_the_newer_answer(
    queued_app, answered
):
    world, ids, _sent_before = answered
    with queued_app.test_request_context():
        moderator = db.session.get(User, world.ids["moderator"])
        op = db.session.get(Opinion, ids[0])
        moderation.respond([op], by=moderator, outcome=Outcome.noted, explanation="Ghi nhận.")
        db.session.commit()
    with queued_app.app_context():
        queue.run_due()
    # The resident's opinion: one notification, from the second answer; the others one each.
    assert [t for t, *_ in notifications_of(queued_app, world.ids["resident"])] == [
        "opinion_answered"
    ]
    assert _answered_notes(queued_app) == 3
