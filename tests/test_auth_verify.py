"""The e-mail verification link: valid 48 hours, bad or expired links get a 400 and a way out."""

from __future__ import annotations

import time

from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from support import find_link, outbox

from auth.email import VERIFY_SALT, make_verify_token
from auth.models import User
from core.extensions import db


class _SignerFromThePast(TimestampSigner):
    hours_ago = 49

    def get_timestamp(self) -> int:
        return int(time.time()) - self.hours_ago * 3600


def _old_token(app, user_id: int, email: str, hours_ago: int) -> str:
    signer = type("Signer", (_SignerFromThePast,), {"hours_ago": hours_ago})
    serializer = URLSafeTimedSerializer(app.secret_key, salt=VERIFY_SALT, signer=signer)
    return serializer.dumps({"id": user_id, "email": email})


def _verified(app, who_id) -> bool:
    with app.app_context():
        return db.session.get(User, who_id).email_verified_at is not None


def test_token_of_47_hours_still_works(app, client, world):
    token = _old_token(app, world.ids["unverified"], "unverified@example.vn", hours_ago=47)
    assert client.get(f"/auth/verify/{token}").status_code == 302
    assert _verified(app, world.ids["unverified"])


def test_expired_token_is_refused_with_send_again(app, client, auth, world):
    token = _old_token(app, world.ids["unverified"], "unverified@example.vn", hours_ago=49)
    anonymous = client.get(f"/auth/verify/{token}")
    assert anonymous.status_code == 400
    assert "Log in" in anonymous.get_data(as_text=True)
    assert not _verified(app, world.ids["unverified"])

    auth.login("unverified@example.vn")
    page = client.get(f"/auth/verify/{token}")
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert "no longer works" in html
    assert 'action="/auth/verify/resend"' in html

    again = client.post("/auth/verify/resend")
    assert again.status_code == 302
    [message] = outbox(app)
    assert message["to"] == "unverified@example.vn"
    link = find_link(message["text"], r"http://localhost/auth/verify/\S+")
    assert client.get(link.removeprefix("http://localhost")).status_code == 302
    assert _verified(app, world.ids["unverified"])


def test_tampered_or_foreign_tokens_are_refused(app, client, world):
    with app.test_request_context():
        token = make_verify_token(db.session.get(User, world.ids["unverified"]))
    assert client.get(f"/auth/verify/{token[:-2]}xx").status_code == 400
    assert client.get("/auth/verify/nonsense").status_code == 400
    # A token signed for another purpose (a reset link) does not verify.
    other = URLSafeTimedSerializer(app.secret_key, salt="reset-password").dumps(
        {"id": world.ids["unverified"], "email": "unverified@example.vn"}
    )
    assert client.get(f"/auth/verify/{other}").status_code == 400
    assert not _verified(app, world.ids["unverified"])


def test_resend_needs_login(client, world):
    response = client.post("/auth/verify/resend")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_resend_when_already_verified_sends_nothing(app, client, auth, world):
    auth.login("resident@example.vn")
    client.post("/auth/verify/resend")
    assert outbox(app) == []
