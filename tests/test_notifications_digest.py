"""Digests from each person's own last-sent mark: due or not, never twice, grouped per
consultation newest first, and no clock window (a run a few minutes early still sends)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from support import grant_notifications, outbox

from auth.models import User
from consultations import services
from consultations.models import Consultation
from core.extensions import db
from core.timeutil import LOCAL_TZ
from notifications import digests
from notifications import services as notifications

#: 07:00 in Vietnam, the cron's time.
MORNING = datetime(2030, 3, 4, 7, 0, tzinfo=LOCAL_TZ)


@pytest.fixture
def follower(app, world, make, en):
    """A resident with consent, following two consultations, extensions told daily."""
    ids = [make.consultation("open", title=t) for t in ("Chợ phường", "Đường ngõ")]
    grant_notifications(app, world.ids["resident"])
    with app.test_request_context():
        user = db.session.get(User, world.ids["resident"])
        for cid in ids:
            notifications.follow(user, consultation=db.session.get(Consultation, cid))
        notifications.set_frequency(user, "consultation_changed", "daily")
        db.session.commit()
    return ids


def _extend(app, world, cid):
    with app.test_request_context():
        c = db.session.get(Consultation, cid)
        official = db.session.get(User, world.ids["official"])
        services.extend_consultation(c, by=official, closes_at=c.closes_at + timedelta(days=1))
        db.session.commit()


def _send(app, frequency="daily", now=MORNING):
    with app.test_request_context():
        sent = digests.send_digests(frequency, now=now)
        db.session.commit()
    return sent


def _digests(app):
    return [
        m for m in outbox(app) if m["to"] == "resident@example.vn" and "news of the" in m["subject"]
    ]


@pytest.mark.postgres
def test_grouped_per_consultation_newest_first_and_never_twice(app, world, follower):
    market, lane = follower
    _extend(app, world, market)
    _extend(app, world, lane)
    _extend(app, world, market)
    assert [m for m in outbox(app) if m.get("kind") == "notification"] == []  # daily: not now
    assert _send(app) == 1
    assert _send(app) == 0  # twice: nothing twice
    [mail] = _digests(app)
    text = mail["text"]
    assert text.index("== Chợ phường ==") < text.index("== Đường ngõ ==")  # newest item first
    assert text.count("== Chợ phường ==") == 1
    assert text.count("has been extended") == 3
    assert mail["kind"] == "notification"
    assert mail["headers"]["List-Unsubscribe"].startswith("<http://localhost/unsubscribe/")
    assert mail["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.mark.postgres
def test_due_from_the_persons_own_mark_not_from_a_clock_window(app, world, follower):
    market, _ = follower
    _extend(app, world, market)
    assert _send(app, now=MORNING) == 1
    _extend(app, world, market)
    assert _send(app, now=MORNING + timedelta(hours=3)) == 0  # the same day: not due
    # The next day's cron, a few minutes early: less than 24 hours, still the next day's digest.
    assert _send(app, now=MORNING + timedelta(days=1, minutes=-5)) == 1
    assert len(_digests(app)) == 2
    # Nothing new: not sent, however late.
    assert _send(app, now=MORNING + timedelta(days=5)) == 0


@pytest.mark.postgres
def test_weekly_is_due_a_week_after_the_last_one(app, world, follower):
    market, _ = follower
    with app.test_request_context():
        user = db.session.get(User, world.ids["resident"])
        notifications.set_frequency(user, "consultation_changed", "weekly")
        db.session.commit()
    _extend(app, world, market)
    assert _send(app, "daily") == 0
    assert _send(app, "weekly", now=MORNING) == 1  # never sent before: due
    _extend(app, world, market)
    assert _send(app, "weekly", now=MORNING + timedelta(days=6)) == 0
    assert _send(app, "weekly", now=MORNING + timedelta(days=7, minutes=-5)) == 1
    assert _send(app, "weekly", now=MORNING + timedelta(days=30)) == 0  # and never again twice


def test_withdrawn_consent_or_off_sends_no_digest(app, world, follower, auth, client):
    market, _ = follower
    _extend(app, world, market)
    auth.login(world.email("resident"))
    client.post("/me/account/consent", data={"purpose": "notifications", "action": "withdraw"})
    assert _send(app) == 0
    assert _digests(app) == []


def test_the_command_sends_due_digests(app, world, follower, runner):
    _extend(app, world, follower[0])
    result = runner.invoke(args=["notifications", "digest", "--frequency", "daily"])
    assert result.exit_code == 0, result.output
    assert "1 digest(s) sent" in result.output
    result = runner.invoke(args=["notifications", "digest", "--frequency", "daily"])
    assert "0 digest(s) sent" in result.output
    assert len(_digests(app)) == 1
