"""Sessions, redirects, security headers and CSRF, as a browser would meet them."""

from __future__ import annotations

import re
import secrets
import time

import pytest
import sqlalchemy as sa
from support import PASSWORD, Client, find_link, outbox

from app import create_app
from core.extensions import db

NEW_PASSWORD = "Mật-khẩu-mới-rất-dài-2027"


def session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, "no session cookie set"
    return cookies[-1]


def test_session_cookie_flags_over_http(client, world):
    response = client.post(
        "/auth/login", data={"email": world.email("resident"), "password": PASSWORD}
    )
    assert response.status_code == 302
    cookie = session_cookie(response)
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http (development): a Secure cookie would never come back


def test_session_cookie_secure_and_hsts_over_https(database_url, tmp_path):
    url, engine_options = database_url
    app = create_app(
        {
            "TESTING": True,
            "QUEUE_IMMEDIATE": True,  # jobs run where enqueued; no queue file in instance/
            "SECRET_KEY": secrets.token_hex(16),
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
            "BASE_URL": "https://gopy.example.vn",
            "RATELIMIT_ENABLED": False,
            "OUTBOX_DIR": str(tmp_path / "o"),
        }
    )
    app.test_client_class = Client
    with app.app_context():
        db.create_all()
    client = app.test_client()
    response = client.post("/auth/login", data={"email": "nobody@example.vn", "password": "x"})
    assert response.status_code == 400
    cookie = session_cookie(response)
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def _logged_in(app, email: str) -> Client:
    client = app.test_client()
    response = client.post("/auth/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/me/account").status_code == 200
    return client


def test_password_change_ends_other_sessions(app, world):
    email = world.email("resident")
    phone, laptop = _logged_in(app, email), _logged_in(app, email)
    response = laptop.post(
        "/me/account/password",
        data={
            "pw-current_password": PASSWORD,
            "pw-password": NEW_PASSWORD,
            "pw-confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert laptop.get("/me/account").status_code == 200  # this device stays logged in
    assert phone.get("/me/account").status_code == 302  # the other is logged out
    assert "/auth/login" in phone.get("/me/account").headers["Location"]


def test_password_reset_ends_other_sessions(app, world):
    email = world.email("resident")
    stolen = _logged_in(app, email)
    owner = app.test_client()
    assert owner.post("/auth/reset", data={"email": email}).status_code == 200
    link = find_link(outbox(app)[-1]["text"], r"http://localhost/auth/reset/\S+")
    path = link.removeprefix("http://localhost")
    response = owner.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert stolen.get("/me/account").status_code == 302
    # The link works once.
    assert (
        owner.post(
            path, data={"password": NEW_PASSWORD + "x", "confirm": NEW_PASSWORD + "x"}
        ).status_code
        == 400
    )


def test_old_cookie_is_useless_after_password_change(app, world):
    """A copied session cookie (stolen earlier) stops working once the password changes."""
    email = world.email("resident")
    client = _logged_in(app, email)
    copied = client.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/me/account").status_code == 200
    client.post(
        "/me/account/password",
        data={
            "pw-current_password": PASSWORD,
            "pw-password": NEW_PASSWORD,
            "pw-confirm": NEW_PASSWORD,
        },
    )
    assert thief.get("/me/account").status_code == 302


def test_copied_cookie_is_useless_after_logout(app, world):
    """Logging out ends the session on the server, not only in this browser."""
    from auth.models import LoginSession

    email = world.email("resident")
    client = _logged_in(app, email)
    other_device = _logged_in(app, email)
    copied = client.get_cookie("session").value
    assert client.post("/auth/logout").status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", copied)
    response = thief.get("/me/account")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]
    # Only that browser's session ended: the person's other device is still logged in.
    assert other_device.get("/me/account").status_code == 200
    with app.app_context():
        user_id = world.ids["resident"]
        stored = db.session.scalars(
            sa.select(LoginSession.key_hash).where(LoginSession.user_id == user_id)
        ).all()
    assert len(stored) == 1
    # The database holds hashes, never the key the cookie carries.
    assert all(len(h) == 64 and h not in copied for h in stored)


def test_session_expires_after_its_lifetime(app, world):
    from datetime import timedelta

    from auth.models import LoginSession
    from core.timeutil import utcnow

    client = _logged_in(app, world.email("resident"))
    with app.app_context():
        db.session.execute(sa.update(LoginSession).values(created_at=utcnow() - timedelta(days=31)))
        db.session.commit()
    assert client.get("/me/account").status_code == 302
    # Logging in again clears the expired rows of that person.
    _logged_in(app, world.email("resident"))
    with app.app_context():
        count = db.session.scalar(
            sa.select(sa.func.count(LoginSession.id)).where(
                LoginSession.user_id == world.ids["resident"]
            )
        )
    assert count == 1


def test_deleting_the_account_ends_every_session(app, world):
    from auth.models import LoginSession

    email = world.email("resident")
    phone, laptop = _logged_in(app, email), _logged_in(app, email)
    assert laptop.post("/me/delete", data={"password": PASSWORD}).status_code == 302
    assert phone.get("/me/account").status_code == 302
    with app.app_context():
        left = db.session.scalar(
            sa.select(sa.func.count(LoginSession.id)).where(
                LoginSession.user_id == world.ids["resident"]
            )
        )
    assert left == 0


EVIL_NEXT = [
    "//evil.example",
    "//evil.example/me",
    "https://evil.example",
    "http://evil.example/auth/login",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "  //evil.example",
    "/%2F%2Fevil.example",
    "https:evil.example",
    "///evil.example",
    "\t//evil.example",
]


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_next_never_leaves_the_site(client, world, target):
    response = client.post(
        "/auth/login?" + _q({"next": target}),
        data={"email": world.email("resident"), "password": PASSWORD},
    )
    assert response.status_code == 302
    _assert_local(response.headers["Location"])
    response = client.post("/auth/language", data={"lang": "en", "next": target})
    assert response.status_code == 302
    _assert_local(response.headers["Location"])


def test_next_inside_the_site_is_kept(client, world):
    response = client.post(
        "/auth/login?next=/me/opinions",
        data={"email": world.email("resident"), "password": PASSWORD},
    )
    assert response.headers["Location"].endswith("/me/opinions")


def _q(params: dict) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


def _assert_local(location: str) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(location)
    assert parts.netloc in ("", "localhost"), location
    assert "evil" not in parts.netloc
    assert not location.lstrip().startswith(("//", "\\", "javascript:")), location
    assert parts.scheme in ("", "http", "https"), location


def _get_paths(world, cid: int, oid: int) -> list[tuple[str | None, str]]:
    return [
        (None, "/"),
        (None, "/?q=đất"),
        (None, f"/consultations/{cid}"),
        (None, "/auth/login"),
        (None, "/auth/register"),
        (None, "/auth/reset"),
        (None, "/me/privacy"),
        (None, "/healthz"),
        (None, "/api/v1/consultations"),
        (None, f"/api/v1/consultations/{cid}/opinions"),
        (None, "/static/style.css"),
        (None, "/no/such/page"),
        (None, "/consultations/999999"),
        (None, f"/consultations/{cid}/record"),
        (None, "/me/account"),
        ("resident", "/me/account"),
        ("resident", "/me/opinions"),
        ("resident", "/me/data"),
        ("resident", f"/opinions/{oid}/edit"),
        ("resident", "/moderation/"),
        ("official", "/consultations/new"),
        ("official", f"/consultations/{cid}/export.csv"),
        ("moderator", "/moderation/"),
        ("reviewer", "/audit/"),
    ]


def test_security_headers_on_every_page(app, world, make):
    cid = make.consultation("open")
    oid = make.opinion(cid)
    clients: dict[str | None, Client] = {None: app.test_client()}
    for who, path in _get_paths(world, cid, oid):
        if who not in clients:
            clients[who] = _logged_in(app, world.email(who))
        response = clients[who].get(path)
        response.close()  # static files are streamed
        headers = response.headers
        assert response.status_code < 500, path
        assert "frame-ancestors 'none'" in headers.get("Content-Security-Policy", ""), path
        assert "script-src 'self'" in headers["Content-Security-Policy"], path
        assert (
            "unsafe-inline"
            not in headers["Content-Security-Policy"].split("script-src")[1].split(";")[0]
        ), path
        assert headers.get("X-Content-Type-Options") == "nosniff", path
        assert headers.get("X-Frame-Options") == "DENY", path
        assert headers.get("Referrer-Policy"), path
        assert "Strict-Transport-Security" not in headers, path  # only over https
        if response.mimetype == "text/html":
            page = response.get_data(as_text=True)
            # No inline script the CSP would block (and that an attacker could hide among).
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), path
            assert not re.search(r"\son[a-z]+\s*=", page), f"inline event handler on {path}"


#: Posted by mail clients, not by our pages (RFC 8058 one-click unsubscribe): no CSRF token can
#: exist, so the signed token in the URL is what authorises the post.
CSRF_EXEMPT = {"/unsubscribe/<token>"}


def _post_routes(app) -> list[str]:
    rules = {r.rule for r in app.url_map.iter_rules() if "POST" in r.methods}
    assert rules >= CSRF_EXEMPT
    return sorted(rules - CSRF_EXEMPT)


def test_the_one_click_unsubscribe_needs_its_signed_token(client):
    """The only post without a CSRF token: a token that is not ours changes nothing (404)."""
    assert client.post("/unsubscribe/x", csrf=False).status_code == 404
    assert (
        client.post("/unsubscribe/WzEsImNsb3Npbmdfc29vbiJd.forged", csrf=False).status_code == 404
    )


def _fill(rule: str, ids: dict[str, int]) -> str:
    """The rule with its arguments filled: ids, or the first choice of an ``any(…)``."""

    def value(m: re.Match) -> str:
        if m.group(1):
            return m.group(1).split(",")[0].strip()
        return str(ids.get(m.group(2), 1))

    return re.sub(r"<(?:any\(([^)]*)\):|\w+:)?(\w+)>", value, rule)


def test_every_form_route_refuses_a_post_without_csrf_token(app, world, make):
    cid = make.consultation("open")
    draft = make.consultation("draft")
    oid = make.opinion(cid)
    with app.app_context():
        from consultations.models import Section

        section = db.session.scalar(
            sa.select(Section.id).where(Section.consultation_id == draft).limit(1)
        )
    ids = {
        "consultation_id": cid,
        "opinion_id": oid,
        "section_id": section,
        "token": "x",
        "review_id": 1,
    }
    routes = _post_routes(app)
    assert "/consultations/<int:consultation_id>/opinions" in routes
    assert "/auth/login" in routes
    for who in (None, "resident", "official", "moderator", "admin"):
        client = _logged_in(app, world.email(who)) if who else app.test_client()
        with app.app_context():
            before = {
                t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t))
                for t in db.metadata.sorted_tables
            }
        for rule in routes:
            path = _fill(rule, ids)
            if rule.endswith("<int:consultation_id>/edit") or "sections" in rule:
                path = _fill(rule, {**ids, "consultation_id": draft})
            data = {
                "body": "x",
                "reason": "x",
                "email": world.email("resident"),
                "password": PASSWORD,
                "lang": "en",
                "title": "x",
                "conclusion": "x",
                "outcome": "noted",
                "explanation": "x",
            }
            response = client.post(path, data=data, csrf=False)
            assert response.status_code == 400, (
                f"{who or 'anonymous'} POST {path} without CSRF token: {response.status_code}"
            )
            # A forged token is refused too.
            response = client.post(path, data={**data, "csrf_token": "forged"}, csrf=False)
            assert response.status_code == 400, (
                f"{who or 'anonymous'} POST {path} with a forged token"
            )
        with app.app_context():
            after = {
                t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t))
                for t in db.metadata.sorted_tables
            }
        assert after == before
        if who:  # still logged in: the refusals did not log anyone out or in
            assert client.get("/me/account").status_code == 200


def test_csrf_token_of_another_session_is_refused(app, world, make):
    cid = make.consultation("open")
    attacker = app.test_client()
    token = attacker.csrf_token()
    victim = _logged_in(app, world.email("resident"))
    response = victim.post(
        f"/consultations/{cid}/opinions",
        data={"body": "Giả mạo", "stance": "agree", "csrf_token": token},
        csrf=False,
    )
    assert response.status_code == 400


def _page_token(client, cid: int) -> str:
    html = client.get(f"/consultations/{cid}").get_data(as_text=True)
    tokens = set(re.findall(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', html))
    assert len(tokens) == 1, tokens  # every form of a page carries the same token
    return tokens.pop()


def test_a_session_signs_its_csrf_token_once_and_each_page_s_token_is_accepted(app, world, make):
    """core/web.csrf_token: a session's pages carry the token it signed first, which a post
    accepts; another session has its own, which this one refuses, and so does the same person
    in another browser."""
    cid = make.consultation("open")
    resident = _logged_in(app, world.email("resident"))
    first = _page_token(resident, cid)
    time.sleep(1.1)  # a token signed again would carry the next second's timestamp
    assert _page_token(resident, cid) == first
    other = _logged_in(app, world.email("official"))
    theirs = _page_token(other, cid)
    assert theirs != first
    refused = resident.post(
        f"/consultations/{cid}/opinions",
        data={"body": "Ý kiến với mã của người khác", "stance": "agree", "csrf_token": theirs},
        csrf=False,
    )
    assert refused.status_code == 400
    sent = resident.post(
        f"/consultations/{cid}/opinions",
        data={"body": "Ý kiến với mã của trang", "stance": "agree", "csrf_token": first},
        csrf=False,
    )
    assert sent.status_code == 302
    with app.app_context():
        from consultations.models import Opinion

        assert db.session.scalar(sa.select(Opinion.body).where(Opinion.consultation_id == cid)) == (
            "Ý kiến với mã của trang"
        )
    elsewhere = _logged_in(app, world.email("resident"))
    assert _page_token(elsewhere, cid) != first


def test_login_form_does_not_reveal_whether_an_account_exists(client, world):
    known = client.post("/auth/login", data={"email": world.email("resident"), "password": "wrong"})
    unknown = client.post("/auth/login", data={"email": "nobody@example.vn", "password": "wrong"})
    assert known.status_code == unknown.status_code == 400
    strip = re.compile(r'name="csrf_token"[^>]*>|value="[^"]*@example.vn"')
    assert strip.sub("", known.get_data(as_text=True)) == strip.sub(
        "", unknown.get_data(as_text=True)
    )


def _account_status(app, cookie: str) -> int:
    """/me/account's status for a browser that sends only this session cookie."""
    browser = app.test_client()
    browser.set_cookie("session", cookie)
    return browser.get("/me/account").status_code


def test_a_remembered_session_cookie_is_still_checked_for_forgery_and_age(app, world, monkeypatch):
    """core/cookiesession: a cookie verified once is a lookup afterwards, but a forged one is
    refused, and one past the session lifetime is refused even though it was remembered."""
    from core import cookiesession

    resident = _logged_in(app, world.email("resident"))
    cookie = resident.get_cookie("session").value
    assert _account_status(app, cookie) == 200
    assert _account_status(app, cookie) == 200  # the remembered one
    payload, signature = cookie.rsplit(".", 1)
    forged = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    assert _account_status(app, forged) == 302  # sent to log in
    later = time.time() + app.permanent_session_lifetime.total_seconds() + 60
    monkeypatch.setattr(cookiesession.time, "time", lambda: later)
    assert _account_status(app, cookie) == 302


def test_a_session_with_a_message_flashed_is_not_shared_between_requests(app, world, make):
    """A session holding a list (the messages flashed) is decoded afresh on each request: one
    request's change to it cannot reach another that sends the same cookie."""
    cid = make.consultation("open")
    resident = _logged_in(app, world.email("resident"))
    sent = resident.post(
        f"/consultations/{cid}/opinions",
        data={"body": "Ý kiến để thấy thông báo", "stance": "agree"},
    )
    assert sent.status_code == 302
    cookie = resident.get_cookie("session").value
    with resident.session_transaction() as sess:
        assert sess.get("_flashes")
    for _ in range(2):  # each browser sending this cookie sees the message once
        browser = app.test_client()
        browser.set_cookie("session", cookie)
        browser.set_cookie("lang", "en")
        html = browser.get(f"/consultations/{cid}").get_data(as_text=True)
        assert "Your opinion was received. Tracking number" in html
