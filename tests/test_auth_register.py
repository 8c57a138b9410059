"""Registration: consent, password rules, duplicate addresses, the verification link."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from support import find_link, outbox

from audit.models import AuditEvent
from auth.models import Consent, User
from auth.services import CONSENT_TEXT_VERSION
from core.extensions import db

GOOD = {
    "email": "  Bà.Lan@Example.VN ",
    "password": "Trâu-cày-ruộng-sớm",
    "full_name": "Trần Thị Lan",
    "locality": "00004-T1",
    "consent": "y",
}


def register(client, **changes):
    data = {**GOOD, **changes}
    return client.post("/auth/register", data={k: v for k, v in data.items() if v is not None})


def user_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)))


@pytest.mark.postgres
def test_register_then_verify(app, client, world):
    page = client.get("/auth/register")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # Both consent boxes start unticked.
    assert re.search(r'<input[^>]*name="consent"', html)
    assert not re.search(r'<input[^>]*name="consent"[^>]*checked', html)
    assert not re.search(r'<input[^>]*name="notifications"[^>]*checked', html)
    assert "Tổ dân phố số 2" in html  # the select lists the villages

    response = register(client)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/auth/registered")
    assert "Check your e-mail" in client.get("/auth/registered").get_data(as_text=True)

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "bà.lan@example.vn"))
        assert user is not None
        assert user.full_name == "Trần Thị Lan"
        assert user.display_name == "Người dân"  # never the residence (test_privacy.py)
        assert user.locality.code == "00004-T1"
        assert user.password_hash.startswith("scrypt:")
        assert user.email_verified_at is None
        consents = db.session.scalars(select(Consent).where(Consent.user_id == user.id)).all()
        assert [(c.purpose, c.text_version) for c in consents] == [
            ("participation", CONSENT_TEXT_VERSION)
        ]
        assert consents[0].granted_at is not None
        assert consents[0].withdrawn_at is None
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_id == user.id)
        ).all()
        assert "user.register" in actions
        user_id = user.id

    # Not logged in until the address is proven (a taken address gets the same answer).
    assert client.get("/me/account").status_code == 302

    [message] = outbox(app)
    assert message["to"] == "bà.lan@example.vn"
    assert "Confirm your e-mail" in message["subject"]
    link = find_link(message["text"], r"http://localhost/auth/verify/\S+")
    assert link in message["html"]

    verified = client.get(link.removeprefix("http://localhost"))
    assert verified.status_code == 302
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user.email_verified_at is not None
        assert (
            db.session.scalar(
                select(func.count()).where(
                    AuditEvent.action == "user.verify", AuditEvent.object_id == user_id
                )
            )
            == 1
        )
    # The link logged the resident in.
    assert "confirmed on" in client.get("/me/account").get_data(as_text=True)
    # A second use of the same link, from another browser, logs nobody in.
    other = app.test_client()
    assert other.get(link.removeprefix("http://localhost")).status_code == 302
    assert other.get("/me/account").status_code == 302


def test_optional_notifications_consent_is_recorded(app, client, world):
    register(client, notifications="y", display_name="Cô Lan")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "bà.lan@example.vn"))
        assert sorted(c.purpose for c in user.consents) == ["notifications", "participation"]
        assert user.display_name == "Cô Lan"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"email": ""}, "Enter your e-mail address."),
        ({"email": "not-an-address"}, "Enter a valid e-mail address"),
        ({"password": ""}, "Choose a password."),
        ({"password": "short1"}, "Use at least 10 characters."),
        ({"password": "1234567890"}, "too common"),
        ({"password": "Password123"}, "too common"),
        ({"password": "aaaaaaaaaaaa"}, "too common"),
        ({"password": "bà.lan@example.vn"}, "Do not use your e-mail address or your name"),
        ({"password": "Trần Thị Lan"}, "Do not use your e-mail address or your name"),
        ({"full_name": ""}, "Enter your full name."),
        # Nothing visible is nothing: zero-width space, word joiner, BOM.
        ({"full_name": "\u200b\u2060\ufeff"}, "Enter your full name."),
        ({"display_name": "Ủy ban MTTQ Việt Nam xã Cam Lộ"}, "cannot be the name of an authority"),
        ({"display_name": "UBND xa Cam Lo"}, "cannot be the name of an authority"),
        ({"display_name": "Chủ tịch xã"}, "cannot be the name of an authority"),
        ({"full_name": "x" * 121}, "at most 120 characters"),
        ({"locality": ""}, "Choose the commune or village where you live."),
        ({"locality": "99999"}, "Choose the commune or village where you live."),
        ({"locality": "01"}, "Choose the commune or village where you live."),  # a province
        ({"consent": None}, "You need to agree to this to register."),
    ],
)
def test_bad_input_is_refused_and_kept(app, client, world, changes, message):
    response = register(client, **changes)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert "There is a problem" in html  # the error summary at the top of the page
    # What was typed stays in the form (not the password).
    if "full_name" not in changes:
        assert 'value="Trần Thị Lan"' in html
    if "email" not in changes:
        assert 'value="bà.lan@example.vn"' in html
    if "password" not in changes:
        assert GOOD["password"] not in html
    assert user_count(app) == len(world.ids)
    assert outbox(app) == []


def test_register_without_csrf_token_is_refused(app, client, world):
    response = client.post("/auth/register", data=GOOD, csrf=False)
    assert response.status_code == 400
    assert user_count(app) == len(world.ids)


def test_duplicate_address_is_not_revealed(app, client, world):
    response = register(client, email="Resident@Example.vn")
    # The same answer as for a new address...
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/auth/registered")
    assert user_count(app) == len(world.ids)
    # ...and the owner of the address is told instead.
    [message] = outbox(app)
    assert message["to"] == "resident@example.vn"
    assert "tried to register" in message["subject"]
    assert "/auth/reset" in message["text"]
    assert "/auth/verify/" not in message["text"]
    # Nobody was logged in as the owner.
    assert client.get("/me/account").status_code == 302


def test_new_and_taken_addresses_get_the_same_answer(app, world):
    """Registration tells nobody whether an address has an account: the same status, place,
    cookies and page after it, for a new address and for a taken one."""
    answers = []
    for email in ("someone.new@example.vn", "resident@example.vn"):
        client = app.test_client()
        client.get("/auth/register")
        response = register(client, email=email)
        cookies = sorted(c.key for c in client._cookies.values())
        answers.append(
            (
                response.status_code,
                response.headers["Location"],
                cookies,
                client.get("/me/account").status_code,
                client.get("/auth/registered").get_data(as_text=True),
            )
        )
    assert answers[0] == answers[1]
    assert answers[0][3] == 302


def test_logged_in_user_is_sent_home_from_register(client, auth, world):
    auth.login("resident@example.vn")
    assert client.get("/auth/register").status_code == 302


def test_locality_can_be_preselected(client, world):
    html = client.get("/auth/register?locality=00004-T3").get_data(as_text=True)
    assert '<option value="00004-T3" selected>' in html
