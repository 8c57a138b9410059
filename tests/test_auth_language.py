"""Choosing the language: a cookie for everyone, the account setting for the logged in."""

from __future__ import annotations

from auth.models import User
from extensions import db


def test_vietnamese_is_the_default_language(app, client, world):
    app.config["BABEL_DEFAULT_LOCALE"] = "vi"  # the product default; the test suite reads English
    html = client.get("/auth/login").get_data(as_text=True)
    assert '<html lang="vi">' in html
    assert "Đăng nhập" in html


def test_language_switch_changes_the_page(app, client, world):
    app.config["BABEL_DEFAULT_LOCALE"] = "vi"
    assert '<html lang="vi">' in client.get("/auth/login").get_data(as_text=True)
    response = client.post("/auth/language", data={"lang": "en", "next": "/auth/login"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lang=en")
    assert "Max-Age=31536000" in cookie
    html = client.get("/auth/login").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert 'name="lang" value="vi"' in html  # the button now offers Vietnamese
    client.post("/auth/language", data={"lang": "vi"})
    assert '<html lang="vi">' in client.get("/auth/login").get_data(as_text=True)


def test_language_is_saved_on_the_account(app, client, auth, world):
    auth.login("resident@example.vn")
    client.post("/auth/language", data={"lang": "en", "next": "/me/account"})
    with app.app_context():
        assert db.session.get(User, world.ids["resident"]).locale == "en"
    # On a new device without the cookie, the account setting applies once logged in.
    fresh = app.test_client()
    fresh.post(
        "/auth/login",
        data={"email": "resident@example.vn", "password": __import__("conftest").PASSWORD},
    )
    assert '<html lang="en">' in fresh.get("/me/account").get_data(as_text=True)


def test_unknown_language_and_external_next_are_refused(client, world):
    assert client.post("/auth/language", data={"lang": "fr"}).status_code == 400
    response = client.post("/auth/language", data={"lang": "en", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"


def test_language_switch_needs_csrf(client, world):
    assert client.post("/auth/language", data={"lang": "en"}, csrf=False).status_code == 400
