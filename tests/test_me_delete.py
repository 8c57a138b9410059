"""Deleting an account erases the personal data; opinions stay under a generic name."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from support import PASSWORD, outbox

from audit.models import AuditEvent
from auth.models import Consent, RoleAssignment, User
from auth.services import DELETED_DISPLAY_NAME
from consultations.models import Consultation, Opinion, Stance, Status
from core.extensions import db
from core.timeutil import utcnow


@pytest.mark.postgres
def test_delete_account_anonymises(app, client, auth, world):
    with app.app_context():
        now = utcnow()
        c = Consultation(
            locality_id=world.commune_id,
            title="Dự thảo",
            stored_status=Status.open,
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=30),
        )
        db.session.add(c)
        db.session.flush()
        db.session.add(
            Opinion(
                consultation_id=c.id,
                author_id=world.ids["resident"],
                stance=Stance.agree,
                body="Tôi đồng ý",
                tracking_number="YK-2026-000001",
            )
        )
        user = db.session.get(User, world.ids["resident"])
        user.phone = "0912345678"
        user.consents.append(Consent(purpose="participation", text_version="2026-11-v1"))
        db.session.commit()

    other = app.test_client()
    other.post("/auth/login", data={"email": "resident@example.vn", "password": PASSWORD})
    auth.login("resident@example.vn")

    wrong = client.post("/me/delete", data={"password": "not my password"})
    assert wrong.status_code == 400
    assert "The password is not correct." in wrong.get_data(as_text=True)

    response = client.post("/me/delete", data={"password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/me/account").status_code == 302
    assert other.get("/me/account").status_code == 302

    with app.app_context():
        user = db.session.get(User, world.ids["resident"])
        assert user.email is None
        assert user.full_name == ""
        assert user.phone is None
        assert user.password_hash is None
        assert user.deleted_at is not None
        assert user.display_name == DELETED_DISPLAY_NAME
        assert user.locality_id is None
        [consent] = user.consents
        assert consent.text_version == "2026-11-v1"
        assert consent.withdrawn_at is not None
        opinion = db.session.scalar(select(Opinion))
        assert opinion.body == "Tôi đồng ý"
        assert opinion.public_author == DELETED_DISPLAY_NAME
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.delete"))
        assert event.object_id == user.id
        assert event.actor_id == user.id
        assert "resident@example.vn" not in str(event.data)

    [message] = outbox(app)
    assert message["to"] == "resident@example.vn"
    assert "deleted" in message["subject"]
    assert auth.login("resident@example.vn").status_code == 400
    # The address is free again.
    again = client.post(
        "/auth/register",
        data={
            "email": "resident@example.vn",
            "password": "Một-khởi-đầu-mới",
            "full_name": "Người mới",
            "locality": "00004-T2",
            "consent": "y",
        },
    )
    assert again.status_code == 302
    with app.app_context():
        assert (
            db.session.scalar(select(User).where(User.email == "resident@example.vn")).id
            != world.ids["resident"]
        )


def test_deleting_staff_removes_their_roles(app, client, auth, world):
    auth.login("moderator@example.vn")
    client.post("/me/delete", data={"password": PASSWORD})
    with app.app_context():
        assert (
            db.session.scalars(
                select(RoleAssignment).where(RoleAssignment.user_id == world.ids["moderator"])
            ).all()
            == []
        )


def test_a_deleted_account_represents_no_household(app, client, auth, world):
    from households.models import Household

    with app.app_context():
        household = Household(
            locality_id=world.village_ids[0], code="H009", representative_id=world.ids["resident"]
        )
        db.session.add(household)
        db.session.commit()
        hid = household.id
    auth.login("resident@example.vn")
    assert client.post("/me/delete", data={"password": PASSWORD}).status_code == 302
    with app.app_context():
        household = db.session.get(Household, hid)
        assert household.representative_id is None
        assert household.linked_at is None
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "household.unlink", AuditEvent.object_id == hid
            )
        )
        assert event.data["via"] == "account_deleted"


def test_delete_needs_csrf(app, client, auth, world):
    auth.login("resident@example.vn")
    assert client.post("/me/delete", data={"password": PASSWORD}, csrf=False).status_code == 400
    with app.app_context():
        assert db.session.get(User, world.ids["resident"]).deleted_at is None
