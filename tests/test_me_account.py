"""The account page: see and correct my data, language, password, optional consent."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from support import PASSWORD, outbox

from audit.models import AuditEvent
from auth.models import Consent, User
from core.extensions import db

NEW_PASSWORD = "Sông-Hồng-đỏ-nặng-phù-sa"


@pytest.mark.parametrize("path", ["/me/account", "/me/opinions", "/me/data", "/me/data?format=csv"])
def test_my_pages_need_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("path", ["/me/account/password", "/me/account/consent", "/me/delete"])
def test_my_posts_need_login(client, path):
    assert client.post(path, data={}).status_code == 302


def test_privacy_page_is_public(client):
    response = client.get("/me/privacy")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "91/2025/QH15" in html
    assert "13/2023/NĐ-CP" in html
    assert "2026-11-v1" in html


def test_account_shows_my_data_and_consents(app, client, auth, world):
    with app.app_context():
        user = db.session.get(User, world.ids["resident"])
        user.consents.append(Consent(purpose="participation", text_version="2026-11-v1"))
        db.session.commit()
    auth.login("resident@example.vn")
    html = client.get("/me/account").get_data(as_text=True)
    for text in (
        "Nguyễn Văn Resident",
        "resident@example.vn",
        "Người dân resident",
        "Tổ dân phố số 1, Phường Ba Đình, Thành phố Hà Nội",
        "2026-11-v1",
        "Taking part in consultations",
    ):
        assert text in html
    assert "Give my consent" in html


def test_change_profile_and_language(app, client, auth, world):
    auth.login("resident@example.vn")
    response = client.post(
        "/me/account",
        data={
            "full_name": "Nguyễn Văn Mới",
            "display_name": "",
            "locality": "00004-T3",
            "locale": "vi",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        user = db.session.get(User, world.ids["resident"])
        assert (user.full_name, user.display_name, user.locality.code, user.locale) == (
            "Nguyễn Văn Mới",
            "Người dân",  # the default never shows residence (test_privacy.py)
            "00004-T3",
            "vi",
        )
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.update"))
        assert event.data == {"fields": ["display_name", "full_name", "locale", "locality_id"]}
    assert '<html lang="vi">' in client.get("/me/account").get_data(as_text=True)


def test_bad_profile_is_refused_and_kept(app, client, auth, world):
    auth.login("resident@example.vn")
    response = client.post(
        "/me/account",
        data={"full_name": "", "display_name": "Bác Ba", "locality": "nowhere", "locale": "vi"},
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Enter your full name." in html
    assert "Choose the commune or village where you live." in html
    assert 'value="Bác Ba"' in html
    with app.app_context():
        assert db.session.get(User, world.ids["resident"]).display_name == "Người dân resident"


def test_a_display_name_cannot_speak_for_an_authority(app, client, auth, world):
    auth.login("resident@example.vn")
    response = client.post(
        "/me/account",
        data={
            "full_name": "\u200b",
            "display_name": "Ủy ban MTTQ Việt Nam xã Cam Lộ",
            "locality": "00004-T1",
            "locale": "vi",
        },
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "cannot be the name of an authority" in html
    assert "Enter your full name." in html, "a zero-width space is no name"
    with app.app_context():
        assert db.session.get(User, world.ids["resident"]).display_name == "Người dân resident"


def test_change_password_ends_other_sessions(app, client, auth, world):
    other = app.test_client()
    other.post("/auth/login", data={"email": "resident@example.vn", "password": PASSWORD})
    auth.login("resident@example.vn")

    wrong = client.post(
        "/me/account/password",
        data={
            "pw-current_password": "not it at all",
            "pw-password": NEW_PASSWORD,
            "pw-confirm": NEW_PASSWORD,
        },
    )
    assert wrong.status_code == 400
    assert "The current password is not correct." in wrong.get_data(as_text=True)
    weak = client.post(
        "/me/account/password",
        data={
            "pw-current_password": PASSWORD,
            "pw-password": "qwertyuiop",
            "pw-confirm": "qwertyuiop",
        },
    )
    assert weak.status_code == 400
    assert other.get("/me/account").status_code == 200

    ok = client.post(
        "/me/account/password",
        data={
            "pw-current_password": PASSWORD,
            "pw-password": NEW_PASSWORD,
            "pw-confirm": NEW_PASSWORD,
        },
    )
    assert ok.status_code == 302
    assert client.get("/me/account").status_code == 200  # this session goes on
    assert other.get("/me/account").status_code == 302  # the other one ended
    assert "password was changed" in outbox(app)[-1]["subject"]
    auth.logout()
    assert auth.login("resident@example.vn", PASSWORD).status_code == 400
    assert auth.login("resident@example.vn", NEW_PASSWORD).status_code == 302
    with app.app_context():
        assert db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "user.password_change")
        )


def test_grant_and_withdraw_the_optional_consent(app, client, auth, world):
    auth.login("resident@example.vn")
    assert (
        client.post(
            "/me/account/consent", data={"purpose": "notifications", "action": "grant"}
        ).status_code
        == 302
    )
    with app.app_context():
        [consent] = db.session.scalars(
            select(Consent).where(Consent.user_id == world.ids["resident"])
        ).all()
        assert (consent.purpose, consent.text_version, consent.withdrawn_at) == (
            "notifications",
            "2026-11-v1",
            None,
        )
    assert "Withdraw my consent" in client.get("/me/account").get_data(as_text=True)

    client.post("/me/account/consent", data={"purpose": "notifications", "action": "withdraw"})
    with app.app_context():
        [consent] = db.session.scalars(
            select(Consent).where(Consent.user_id == world.ids["resident"])
        ).all()
        assert consent.withdrawn_at is not None
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions[-2:] == ["consent.grant", "consent.withdraw"]


def test_participation_consent_cannot_be_withdrawn_alone(app, client, auth, world):
    auth.login("resident@example.vn")
    response = client.post(
        "/me/account/consent", data={"purpose": "participation", "action": "withdraw"}
    )
    assert response.status_code == 400
