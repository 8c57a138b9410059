"""Each event leaves a notification for every follower but the person who did it, in the same
transaction; instant mail needs the ``notifications`` consent, except about one's own opinions."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from support import grant_notifications, notifications_of, outbox

from auth.models import User
from consultations import record, services
from consultations.models import Consultation, Opinion, Outcome
from core.extensions import db
from core.timeutil import utcnow
from localities.models import Locality
from moderation import services as moderation
from notifications import services as notifications
from notifications.models import Follow


def _follow(app, world, who, *, consultation=None, locality=None):
    with app.test_request_context():
        user = db.session.get(User, world.ids[who])
        c = db.session.get(Consultation, consultation) if consultation else None
        place = db.session.get(Locality, locality) if locality else None
        notifications.follow(user, consultation=c, locality=place)
        db.session.commit()


def _types(app, world, who):
    return [(t, d, cid) for t, d, cid, _ in notifications_of(app, world.ids[who])]


def _as(world, who):
    return db.session.get(User, world.ids[who])


def _mails(app, who, kind="notification"):
    return [m for m in outbox(app) if m["to"] == f"{who}@example.vn" and m.get("kind") == kind]


@pytest.mark.postgres
def test_opening_notifies_followers_of_the_place_and_above_not_the_actor(app, world, make):
    village_draft = make.consultation("draft", locality_id=world.village_ids[0])
    other = make.consultation("draft", locality_id=world.other_commune_id)
    _follow(app, world, "resident", locality=world.commune_id)  # the commune: villages below too
    _follow(app, world, "reviewer", locality=world.other_commune_id)
    _follow(app, world, "official", locality=world.province.id)
    with app.test_request_context():
        for cid in (village_draft, other):
            services.open_consultation(db.session.get(Consultation, cid), by=_as(world, "official"))
        db.session.commit()
    assert _types(app, world, "resident") == [("consultation_opened", None, village_draft)]
    assert _types(app, world, "reviewer") == [("consultation_opened", None, other)]
    assert _types(app, world, "official") == []  # they opened them


@pytest.mark.postgres
def test_a_scheduled_opening_is_told_on_its_date_once(app, world, make, runner):
    cid = make.consultation("draft")
    _follow(app, world, "resident", locality=world.commune_id)
    with app.test_request_context():
        c = db.session.get(Consultation, cid)
        c.opens_at, c.closes_at = utcnow() + timedelta(days=2), utcnow() + timedelta(days=40)
        services.open_consultation(c, by=_as(world, "official"))
        db.session.commit()
    assert runner.invoke(args=["notifications", "openings"]).exit_code == 0
    assert _types(app, world, "resident") == []  # not open yet
    with app.app_context():  # three days on: it opened a minute ago
        c = db.session.get(Consultation, cid)
        c.opened_at, c.opens_at = utcnow() - timedelta(days=3), utcnow() - timedelta(minutes=1)
        db.session.execute(sa.update(Follow).values(created_at=utcnow() - timedelta(days=3)))
        db.session.commit()
    for _ in range(2):
        assert runner.invoke(args=["notifications", "openings"]).exit_code == 0
    assert _types(app, world, "resident") == [("consultation_opened", None, cid)]


@pytest.mark.postgres
def test_closing_soon_is_told_once_ever(app, world, make, runner):
    soon, later = make.consultation("open"), make.consultation("open")
    for cid in (soon, later):
        _follow(app, world, "resident", consultation=cid)
    with app.app_context():
        db.session.get(Consultation, soon).closes_at = utcnow() + timedelta(days=2)
        db.session.commit()
    for _ in range(2):
        result = runner.invoke(args=["notifications", "closing-soon"])
        assert result.exit_code == 0, result.output
    with app.app_context():  # extended, and closing soon again: not told twice
        db.session.get(Consultation, soon).closes_at = utcnow() + timedelta(days=2, hours=5)
        db.session.commit()
    runner.invoke(args=["notifications", "closing-soon"])
    assert _types(app, world, "resident") == [("closing_soon", None, soon)]


@pytest.mark.postgres
def test_answers_and_moderation_tell_the_author_and_mail_once(app, world, make, en):
    cid = make.consultation("open")
    op = make.opinion(cid, who="resident")
    own = make.opinion(cid, who="moderator")
    with app.test_request_context():
        ops = [db.session.get(Opinion, i) for i in (op, own)]
        moderation.respond(
            ops, by=_as(world, "moderator"), outcome=Outcome.noted, explanation="Ghi nhận."
        )
        db.session.commit()  # the worker tells the authors of an answer after its commit
    with app.test_request_context():
        moderation.hide_opinion(
            db.session.get(Opinion, op), by=_as(world, "moderator"), reason="Xúc phạm"
        )
        db.session.commit()
    with app.test_request_context():
        moderation.restore_opinion(db.session.get(Opinion, op), by=_as(world, "moderator"))
        db.session.commit()
    assert _types(app, world, "resident") == [
        ("opinion_answered", None, cid),
        ("opinion_moderated", "hidden", cid),
        ("opinion_moderated", "restored", cid),
    ]
    assert _types(app, world, "moderator") == []  # answered their own opinion
    # No consent needed, and the account mail is the only one: no notification mail beside it.
    answered = [m for m in _mails(app, "resident", "account") if "answered" in m["subject"]]
    assert len(answered) == 1
    assert _mails(app, "resident") == []


@pytest.mark.postgres
def test_a_digest_choice_holds_back_the_answer_mail(app, world, make, en):
    cid = make.consultation("open")
    op = make.opinion(cid, who="resident")
    with app.test_request_context():
        notifications.set_frequency(_as(world, "resident"), "opinion_answered", "daily")
        moderation.respond(
            [db.session.get(Opinion, op)],
            by=_as(world, "moderator"),
            outcome="noted",
            explanation="Ghi nhận.",
        )
        db.session.commit()
    assert not [m for m in outbox(app) if "answered" in m["subject"]]
    assert notifications_of(app, world.ids["resident"]) == [("opinion_answered", None, cid, None)]


@pytest.mark.postgres
def test_changes_and_the_record_tell_followers_but_not_the_actor(app, world, make, en):
    cid = make.consultation("open")
    for who in ("resident", "reviewer", "official", "moderator"):
        _follow(app, world, who, consultation=cid)
    grant_notifications(app, world.ids["resident"])
    with app.test_request_context():
        c = db.session.get(Consultation, cid)
        services.extend_consultation(
            c, by=_as(world, "official"), closes_at=c.closes_at + timedelta(days=5)
        )
        services.close_consultation(c, by=_as(world, "official"), reason="Đã đủ ý kiến")
        db.session.commit()
    with app.test_request_context():
        record.publish_record(
            db.session.get(Consultation, cid),
            by=_as(world, "moderator"),
            conclusion="Kết luận",
            signer_name="Nguyễn Văn A",
            signer_title="Chủ tịch",
        )
        db.session.commit()
    expected = [
        ("consultation_changed", "extended", cid),
        ("consultation_changed", "closed_early", cid),
        ("record_published", None, cid),
    ]
    assert _types(app, world, "resident") == expected
    assert _types(app, world, "official") == expected[2:]
    assert _types(app, world, "moderator") == expected[:2]
    # The resident consented: three instant mails; the reviewer did not: none.
    mails = _mails(app, "resident")
    assert len(mails) == 3
    assert "extended" in mails[0]["subject"]
    assert _mails(app, "reviewer") == []
    assert [m for _, _, _, m in notifications_of(app, world.ids["reviewer"])] == ["skipped"] * 3


@pytest.mark.postgres
def test_withdrawing_consent_stops_mail_at_once(app, world, make, auth, client, en):
    cid = make.consultation("open")
    _follow(app, world, "resident", consultation=cid)
    grant_notifications(app, world.ids["resident"])

    def extend():
        with app.test_request_context():
            c = db.session.get(Consultation, cid)
            services.extend_consultation(
                c, by=_as(world, "official"), closes_at=c.closes_at + timedelta(days=1)
            )
            db.session.commit()

    extend()
    assert len(_mails(app, "resident")) == 1
    auth.login(world.email("resident"))
    client.post("/me/account/consent", data={"purpose": "notifications", "action": "withdraw"})
    extend()
    assert len(_mails(app, "resident")) == 1
    assert len(notifications_of(app, world.ids["resident"])) == 2  # still listed on the page


@pytest.mark.postgres
def test_every_notification_mail_has_one_click_unsubscribe_under_base_url(app, world, make, en):
    cid = make.consultation("open")
    _follow(app, world, "resident", consultation=cid)
    grant_notifications(app, world.ids["resident"])
    with app.test_request_context():
        c = db.session.get(Consultation, cid)
        services.extend_consultation(
            c, by=_as(world, "official"), closes_at=c.closes_at + timedelta(days=1)
        )
        db.session.commit()
    [message] = _mails(app, "resident")
    header = message["headers"]["List-Unsubscribe"]
    assert header.startswith("<http://localhost/unsubscribe/")
    assert header.endswith(">")
    assert message["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "http://localhost/me/notifications/settings" in message["text"]
    assert header[1:-1] in message["text"]
    assert header[1:-1] in message["html"]
