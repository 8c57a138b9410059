"""Logging in and out: a generic error, a safe ``next``, deleted accounts stay out."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from support import PASSWORD

from auth.models import User
from core.extensions import db


@pytest.mark.postgres
def test_login_and_logout(client, auth, world):
    assert client.get("/auth/login").status_code == 200
    response = auth.login("resident@example.vn")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/me/account").status_code == 200
    # The address is matched whatever its case and spaces.
    auth.logout()
    assert client.get("/me/account").status_code == 302
    response = client.post(
        "/auth/login", data={"email": " RESIDENT@example.VN ", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.get("/me/account").status_code == 200


def test_logout_needs_post(client, auth, world):
    auth.login("resident@example.vn")
    assert client.get("/auth/logout").status_code == 405
    assert client.post("/auth/logout", csrf=False).status_code == 400
    assert client.get("/me/account").status_code == 200
    assert auth.logout().status_code == 302
    assert client.get("/me/account").status_code == 302


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("resident@example.vn", "wrong password!"),
        ("nobody@example.vn", PASSWORD),
    ],
)
def test_bad_login_gets_the_same_generic_answer(app, client, world, email, password):
    response = client.post("/auth/login", data={"email": email, "password": password})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "E-mail or password is incorrect." in html
    assert f'value="{email}"' in html
    assert password not in html
    assert client.get("/me/account").status_code == 302


def test_failed_logins_are_counted_and_reset(app, client, auth, world):
    auth.login("resident@example.vn", "wrong password!")
    auth.login("resident@example.vn", "wrong password!")
    with app.app_context():
        assert db.session.get(User, world.ids["resident"]).failed_logins == 2
    auth.login("resident@example.vn")
    with app.app_context():
        assert db.session.get(User, world.ids["resident"]).failed_logins == 0


def test_empty_login_form_is_refused(client, world):
    response = client.post("/auth/login", data={"email": "", "password": ""})
    assert response.status_code == 400
    assert "Enter your e-mail address." in response.get_data(as_text=True)


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/me/opinions", "/me/opinions"),
        ("/me/opinions?page=2", "/me/opinions?page=2"),
        ("https://evil.example/steal", "/"),
        ("//evil.example/steal", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_next_is_followed_only_inside_the_site(client, world, next_url, expected):
    page = client.get("/auth/login", query_string={"next": next_url})
    assert page.status_code == 200
    response = client.post(
        "/auth/login",
        query_string={"next": next_url},
        data={"email": "resident@example.vn", "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_login_page_keeps_next_in_its_form(client, world):
    html = client.get("/auth/login?next=/me/opinions").get_data(as_text=True)
    assert 'action="/auth/login?next=/me/opinions"' in html
    external = client.get("/auth/login?next=https://evil.example/").get_data(as_text=True)
    assert 'action="/auth/login"' in external
    assert 'action="/auth/login?next=https' not in external


def test_protected_page_sends_to_login_and_back(client, world):
    response = client.get("/me/account")
    assert response.status_code == 302
    assert "/auth/login?next=" in response.headers["Location"]
    back = client.post(
        response.headers["Location"], data={"email": "resident@example.vn", "password": PASSWORD}
    )
    assert back.headers["Location"] == "/me/account"


def test_unverified_user_may_log_in(client, auth, world):
    assert auth.login("unverified@example.vn").status_code == 302
    assert "not confirmed" in client.get("/me/account").get_data(as_text=True)


def test_deleted_account_cannot_log_in(app, client, auth, world):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "resident@example.vn"))
        from auth.services import delete_account

        with app.test_request_context():
            delete_account(user)
        db.session.commit()
    response = auth.login("resident@example.vn")
    assert response.status_code == 400
