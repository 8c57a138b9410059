"""Choosing the language: a cookie for everyone, the account setting for the logged in."""

from __future__ import annotations

from support import PASSWORD

from auth.models import User
from core.extensions import db


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
    # The link now offers Vietnamese, and comes back to this page.
    assert 'href="/auth/language?lang=vi&amp;next=/auth/login"' in html
    response = client.get("/auth/language?lang=vi&next=/auth/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login"
    assert '<html lang="vi">' in client.get("/auth/login").get_data(as_text=True)


def test_public_pages_need_no_session_to_switch_language(app, client, world, make):
    """A visitor who is not logged in gets a link, not a form: the public pages set no session
    cookie and carry no CSRF token, so they can be shared from the page cache."""
    cid = make.consultation("open")
    for path in ("/", f"/consultations/{cid}", "/me/privacy"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert not [
            c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")
        ], path
        assert "csrf_token" not in response.get_data(as_text=True), path
    # A link keeps the query string of the page it was on.
    html = client.get("/?q=dat+dai").get_data(as_text=True)
    assert "next=/?q%3Ddat%2Bdai" in html or "next=/?q=dat%2Bdai" in html
    response = client.get("/auth/language?lang=xx")
    assert response.status_code == 400
    assert client.get("/auth/language?lang=en&next=//evil.example").headers["Location"] == "/"


def test_logged_in_people_get_a_form_that_saves_their_choice(client, auth, world):
    auth.login("resident@example.vn")
    html = client.get("/me/account").get_data(as_text=True)
    assert 'action="/auth/language"' in html
    assert 'name="lang" value="vi"' in html or 'name="lang" value="en"' in html


def test_language_is_saved_on_the_account(app, client, auth, world):
    auth.login("resident@example.vn")
    client.post("/auth/language", data={"lang": "en", "next": "/me/account"})
    with app.app_context():
        assert db.session.get(User, world.ids["resident"]).locale == "en"
    # On a new device without the cookie, the account setting applies once logged in.
    fresh = app.test_client()
    fresh.post(
        "/auth/login",
        data={"email": "resident@example.vn", "password": PASSWORD},
    )
    assert '<html lang="en">' in fresh.get("/me/account").get_data(as_text=True)


def test_unknown_language_and_external_next_are_refused(client, world):
    assert client.post("/auth/language", data={"lang": "fr"}).status_code == 400
    response = client.post("/auth/language", data={"lang": "en", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"


def test_language_switch_needs_csrf(client, world):
    assert client.post("/auth/language", data={"lang": "en"}, csrf=False).status_code == 400
