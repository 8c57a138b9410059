"""Password reset: always the same answer, a 2-hour single-use link, other sessions end."""

from __future__ import annotations

import time

from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select
from support import PASSWORD, Client, find_link, outbox

from audit.models import AuditEvent
from auth.email import RESET_SALT, make_reset_token
from auth.models import User
from core.extensions import db

NEW_PASSWORD = "Mưa-phùn-tháng-hai"


def _reset_link(app, client, email: str) -> str:
    response = client.post("/auth/reset", data={"email": email})
    assert response.status_code == 200
    messages = [m for m in outbox(app) if m["to"] == email]
    return find_link(messages[-1]["text"], r"http://localhost/auth/reset/\S+").removeprefix(
        "http://localhost"
    )


def test_reset_end_to_end(app, client, auth, world):
    other_device: Client = app.test_client()
    other_device.post("/auth/login", data={"email": "resident@example.vn", "password": PASSWORD})
    assert other_device.get("/me/account").status_code == 200

    assert client.get("/auth/reset").status_code == 200
    link = _reset_link(app, client, "resident@example.vn")
    [message] = outbox(app)
    assert "new password" in message["subject"]
    assert client.get(link).status_code == 200

    response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    # Logged in here with the new password; logged out everywhere else.
    assert client.get("/me/account").status_code == 200
    assert other_device.get("/me/account").status_code == 302
    assert "password was changed" in outbox(app)[-1]["subject"]

    # The link works once.
    assert client.get(link).status_code == 400
    assert (
        client.post(
            link, data={"password": "Another-pass-2026", "confirm": "Another-pass-2026"}
        ).status_code
        == 400
    )

    auth.logout()
    assert auth.login("resident@example.vn", PASSWORD).status_code == 400
    assert auth.login("resident@example.vn", NEW_PASSWORD).status_code == 302
    with app.app_context():
        assert db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "user.password_reset",
                AuditEvent.object_id == world.ids["resident"],
            )
        )


def test_unknown_address_gets_the_same_answer(app, client, world):
    known = client.post("/auth/reset", data={"email": "resident@example.vn"}).get_data(as_text=True)
    unknown = client.post("/auth/reset", data={"email": "nobody@example.vn"}).get_data(as_text=True)
    assert known.replace("resident@", "X@") == unknown.replace("nobody@", "X@")
    assert [m["to"] for m in outbox(app)] == ["resident@example.vn"]


def test_reset_request_needs_a_valid_address(client, world):
    response = client.post("/auth/reset", data={"email": "not an address"})
    assert response.status_code == 400
    assert 'value="not an address"' in response.get_data(as_text=True)


def test_new_password_is_checked(app, client, world):
    link = _reset_link(app, client, "resident@example.vn")
    weak = client.post(link, data={"password": "password123", "confirm": "password123"})
    assert weak.status_code == 400
    assert "too common" in weak.get_data(as_text=True)
    mismatch = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"})
    assert mismatch.status_code == 400
    assert "not the same" in mismatch.get_data(as_text=True)
    # Refusals did not use the link up.
    assert (
        client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code
        == 302
    )


def test_reset_verifies_the_address(app, client, world):
    link = _reset_link(app, client, "unverified@example.vn")
    client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    with app.app_context():
        assert db.session.get(User, world.ids["unverified"]).email_verified_at is not None


def test_expired_or_forged_link_is_refused(app, client, world):
    class Old(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 3 * 3600

    with app.test_request_context():
        fresh = make_reset_token(db.session.get(User, world.ids["resident"]))
    payload = URLSafeTimedSerializer(app.secret_key, salt=RESET_SALT).loads(fresh)
    old = URLSafeTimedSerializer(app.secret_key, salt=RESET_SALT, signer=Old).dumps(payload)
    response = client.get(f"/auth/reset/{old}")
    assert response.status_code == 400
    assert "Ask for a new link" in response.get_data(as_text=True)
    forged = URLSafeTimedSerializer("another key", salt=RESET_SALT).dumps(payload)
    assert client.get(f"/auth/reset/{forged}").status_code == 400
    assert client.get(f"/auth/reset/{fresh}").status_code == 200
