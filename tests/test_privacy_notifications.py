"""What following and mail leave behind about a person: erased with the account, in the data
download, and sent letters forgotten after MAIL_KEEP_DAYS."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from support import PASSWORD

from auth.models import User
from consultations.models import Consultation, Status
from core.extensions import db
from core.timeutil import utcnow
from notifications.models import Follow, Notification, NotificationSetting
from outbox import sending
from outbox.models import OutboxMessage, OutboxStatus


def _followed_consultation(app, world) -> int:
    with app.app_context():
        now = utcnow()
        c = Consultation(
            locality_id=world.commune_id,
            title="Dự thảo quy định về chợ",
            stored_status=Status.open,
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=30),
        )
        db.session.add(c)
        db.session.flush()
        uid = world.ids["resident"]
        db.session.add(Follow(user_id=uid, consultation_id=c.id))
        db.session.add(
            Notification(user_id=uid, type="closing_soon", consultation_id=c.id, delivery="instant")
        )
        db.session.add(
            NotificationSetting(user_id=uid, type="consultation_opened", frequency="weekly")
        )
        db.session.add(
            OutboxMessage(
                recipient="resident@example.vn",
                subject="Sắp hết hạn góp ý",
                text="…",
                html="…",
                sender="Góp ý <no-reply@gopy.local>",
                kind="notification",
                next_attempt_at=now + timedelta(hours=1),
            )
        )
        db.session.commit()
        return c.id


@pytest.mark.postgres
def test_the_data_download_holds_what_one_follows_and_was_told(app, client, auth, world):
    cid = _followed_consultation(app, world)
    auth.login("resident@example.vn")
    data = json.loads(client.get("/me/data").get_data(as_text=True))
    assert [f["consultation_id"] for f in data["following"]] == [cid]
    assert [n["type"] for n in data["notifications"]] == ["closing_soon"]
    assert data["notification_settings"] == {"consultation_opened": "weekly"}
    csv_text = client.get("/me/data?format=csv").get_data(as_text=True)
    assert "following,1,consultation_id," in csv_text


@pytest.mark.postgres
def test_deleting_the_account_erases_follows_notifications_and_waiting_notices(
    app, client, auth, world
):
    _followed_consultation(app, world)
    auth.login("resident@example.vn")
    assert client.post("/me/delete", data={"password": PASSWORD}).status_code == 302
    with app.app_context():
        uid = world.ids["resident"]
        for model in (Follow, Notification, NotificationSetting):
            assert (
                db.session.scalar(
                    select(func.count()).select_from(model).where(model.user_id == uid)
                )
                == 0
            )
        rows = db.session.execute(
            select(OutboxMessage.kind, OutboxMessage.status).where(
                OutboxMessage.recipient == "resident@example.vn"
            )
        ).all()
        # The waiting notice is cancelled; the letter saying the account was deleted still goes.
        assert ("notification", OutboxStatus.cancelled.value) in rows
        assert any(kind == "account" and status != "cancelled" for kind, status in rows)
        assert db.session.get(User, uid).email is None


@pytest.mark.postgres
def test_sent_letters_are_forgotten_after_mail_keep_days(app):
    with app.app_context():
        now = utcnow()
        for age, status in ((40, "sent"), (40, "cancelled"), (40, "failed"), (3, "sent")):
            db.session.add(
                OutboxMessage(
                    recipient="a@example.vn",
                    subject=f"{status} {age}",
                    text="…",
                    html="…",
                    sender="x@example.vn",
                    status=status,
                    created_at=now - timedelta(days=age),
                )
            )
        db.session.commit()
        assert sending.forget_sent.call_local() == 2
        left = sorted(db.session.scalars(select(OutboxMessage.subject)))
        assert left == ["failed 40", "sent 3"]
