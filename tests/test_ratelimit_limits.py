"""Rate limits per client address and per account, the 429 page, and the login lockout.

The shared fixtures turn limits off; this module overrides ``app`` with limits on (in-memory
storage, small budgets so each test sends only a few dozen requests). Each test prints how many
requests each limit refused (``pytest -s`` shows it).
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from support import PASSWORD, Client, dispose, new_app, outbox

from app import create_app
from audit.models import AuditEvent
from consultations.models import Flag, Opinion
from core.extensions import db
from core.http import FORM_MAX_BYTES
from infra import ratelimits

#: Small budgets for the tests; the defaults are in ratelimits.DEFAULTS.
BUDGETS = {
    "login_ip": "8 per minute",
    "login_account": "4 per hour",
    "register_ip": "5 per hour",
    "register_account": "2 per hour",
    "reset_ip": "4 per hour",
    "reset_account": "2 per hour",
    "opinion_ip": "12 per minute",
    "opinion_account": "5 per minute",
    "flag_ip": "4 per hour",
    "flag_account": "2 per hour",
}


@pytest.fixture
def app(database_url, tmp_path):
    app = new_app(
        database_url,
        tmp_path,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMITS=BUDGETS,
        BABEL_DEFAULT_LOCALE=None,  # the product default, as the limits' pages are seen
    )
    yield app
    dispose(app)


def ip(n: int) -> dict:
    return {"REMOTE_ADDR": f"203.0.113.{n}"}


def report(name: str, statuses: list[int]) -> int:
    refused = statuses.count(429)
    print(f"\n[rate limit] {name}: {len(statuses)} requests, {refused} refused (429)")
    return refused


def login_as(app, email: str, addr: int = 200) -> Client:
    client = app.test_client()
    response = client.post(
        "/auth/login", data={"email": email, "password": PASSWORD}, environ_base=ip(addr)
    )
    assert response.status_code == 302, response.status_code
    return client


def test_every_limited_route_exists(app):
    """A renamed URL would silently lose its limits."""
    assert ratelimits.missing_rules(app) == []
    endpoints = ratelimits.limited_endpoints(app)
    for endpoint in (
        "auth.login",
        "auth.register",
        "auth.reset_request",
        "consultations.post_opinion",
        "consultations.flag_opinion",
    ):
        assert endpoint in endpoints


def test_login_limited_per_address(app, client, world):
    statuses = [
        client.post(
            "/auth/login",
            data={"email": f"nobody{i}@example.vn", "password": "x"},
            environ_base=ip(1),
        ).status_code
        for i in range(12)
    ]
    assert statuses[:8] == [400] * 8
    assert report("login per address (8/minute)", statuses) == 4
    # Another address is not affected.
    assert (
        client.post(
            "/auth/login", data={"email": "other@example.vn", "password": "x"}, environ_base=ip(2)
        ).status_code
        == 400
    )
    # GET (reading the form) is never limited.
    assert client.get("/auth/login", environ_base=ip(1)).status_code == 200


def test_login_limited_per_account_across_addresses(app, client, world):
    email = world.email("resident")
    statuses = [
        client.post(
            "/auth/login", data={"email": email, "password": "wrong"}, environ_base=ip(10 + i)
        ).status_code
        for i in range(6)
    ]
    assert report("login per account (4/hour)", statuses) == 2
    assert statuses[-1] == 429
    # The same address may still log in to another account.
    other = client.post(
        "/auth/login",
        data={"email": world.email("official"), "password": PASSWORD},
        environ_base=ip(15),
    )
    assert other.status_code == 302


def test_429_page_is_a_translated_page_with_retry_after(app, client, world):
    client.set_cookie("lang", "en")
    for i in range(9):
        response = client.post(
            "/auth/login", data={"email": f"a{i}@example.vn", "password": "x"}, environ_base=ip(3)
        )
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "Error 429" in page
    assert "too many times" in page
    # The wait is rounded up to whole minutes; a window that just rolled over can read 2.
    assert re.search(r"Please wait [12] minutes?", page)
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["Content-Security-Policy"]
    client.set_cookie("lang", "vi")
    response = client.post(
        "/auth/login", data={"email": "b@example.vn", "password": "x"}, environ_base=ip(3)
    )
    assert response.status_code == 429
    assert '<html lang="vi"' in response.get_data(as_text=True)


def test_registration_limited_per_address_and_per_email(app, client, world):
    def register(email: str, addr: int) -> int:
        data = {
            "email": email,
            "password": "Một-mật-khẩu-dài-2026",
            "full_name": "Lê Văn C",
            "locality": "00004-T1",
            "consent": "y",
        }
        # A fresh browser each time: registering logs the new account in.
        return (
            app.test_client().post("/auth/register", data=data, environ_base=ip(addr)).status_code
        )

    per_email = [register("same@example.vn", 20 + i) for i in range(4)]
    assert report("registration per e-mail (2/hour)", per_email) == 2
    per_address = [register(f"new{i}@example.vn", 30) for i in range(7)]
    assert report("registration per address (5/hour)", per_address) == 2
    assert 429 not in per_address[:5]


def test_reset_limited_per_email_so_nobody_is_mail_bombed(app, client, world):
    email = world.email("resident")
    statuses = [
        client.post("/auth/reset", data={"email": email}, environ_base=ip(40 + i)).status_code
        for i in range(5)
    ]
    assert report("password reset per e-mail (2/hour)", statuses) == 3
    sent = [m for m in outbox(app) if m["to"] == email]
    assert len(sent) == 2
    per_address = [
        client.post(
            "/auth/reset", data={"email": f"x{i}@example.vn"}, environ_base=ip(50)
        ).status_code
        for i in range(8)
    ]
    assert report("password reset per address (4/hour)", per_address) == 4


def _opinion(client: Client, cid: int, addr: int, n: int) -> int:
    data = {"body": f"Ý kiến số {n}", "stance": "suggest", "section_id": ""}
    return client.post(
        f"/consultations/{cid}/opinions", data=data, environ_base=ip(addr)
    ).status_code


def _opinion_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Opinion))


def test_opinions_limited_per_account_and_per_address(app, world, make):
    cid = make.consultation("open")
    resident, moderator, reviewer = (
        login_as(app, world.email(w)) for w in ("resident", "moderator", "reviewer")
    )

    own = [_opinion(resident, cid, 60, i) for i in range(5)] + [
        _opinion(resident, cid, 62, i) for i in range(2)
    ]
    assert own[:5] == [302] * 5
    assert report("opinions per account (5/minute)", own) == 2  # refused from another address too
    # Three accounts behind one address: the address budget (12) runs out before their own.
    shared = [_opinion(moderator, cid, 60, i) for i in range(5)] + [
        _opinion(reviewer, cid, 60, i) for i in range(4)
    ]
    assert shared[:7] == [302] * 7
    assert report("opinions per address (12/minute)", shared) == 2
    # From another address the reviewer's own budget still has room.
    assert _opinion(reviewer, cid, 61, 99) == 302
    assert _opinion_count(app) == 5 + 5 + 2 + 1  # nothing stored for a refused request


def test_flags_limited_per_account_and_per_address(app, world, make):
    cid = make.consultation("open")
    opinion_ids = [make.opinion(cid, who="resident", body=f"Ý kiến {i}") for i in range(4)]
    moderator, reviewer, admin = (
        login_as(app, world.email(w)) for w in ("moderator", "reviewer", "admin")
    )

    def flag(client, oid, addr):
        return client.post(
            f"/opinions/{oid}/flag", data={"reason": "Lạc đề"}, environ_base=ip(addr)
        ).status_code

    own = [
        flag(moderator, opinion_ids[0], 70),
        flag(moderator, opinion_ids[1], 70),
        flag(moderator, opinion_ids[2], 71),
    ]
    assert report("flags per account (2/hour)", own) == 1
    shared = [
        flag(reviewer, opinion_ids[0], 70),
        flag(reviewer, opinion_ids[1], 70),
        flag(admin, opinion_ids[0], 70),
        flag(admin, opinion_ids[1], 70),
    ]
    assert report("flags per address (4/hour)", shared) == 2
    assert flag(admin, opinion_ids[2], 72) == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Flag)) == 2 + 2 + 1


def test_limits_off_when_disabled(app, client, world, database_url, tmp_path):
    """RATELIMIT_ENABLED=0 (the concurrency test, a load test) really lets everything through."""
    url, engine_options = database_url
    off = create_app(
        {
            "TESTING": True,
            "QUEUE_IMMEDIATE": True,  # jobs run where enqueued; no queue file in instance/
            "SECRET_KEY": "t",
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
            "RATELIMIT_ENABLED": False,
            "RATELIMITS": BUDGETS,
            "OUTBOX_DIR": str(tmp_path / "o2"),
        }
    )
    off.test_client_class = Client
    c = off.test_client()
    statuses = [
        c.post("/auth/login", data={"email": f"n{i}@example.vn", "password": "x"}).status_code
        for i in range(15)
    ]
    assert report("login with limits disabled", statuses) == 0


# --- login lockout ---------------------------------------------------------------------------


def _user(app, who_id: int):
    from auth.models import User

    return db.session.get(User, who_id)


def test_lockout_after_five_failures(app, world):
    with app.test_request_context():
        user = _user(app, world.ids["resident"])
        assert not ratelimits.login_blocked(user)
        locked = [ratelimits.register_failure(user) for _ in range(5)]
        assert locked == [False, False, False, False, True]
        db.session.commit()
        assert ratelimits.login_blocked(user)
        other = _user(app, world.ids["official"])
        assert not ratelimits.login_blocked(other)
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "user.login_locked")
        )
        assert event.object_id == user.id
        assert event.actor_id is None


def test_success_clears_earlier_failures(app, world):
    with app.test_request_context():
        user = _user(app, world.ids["resident"])
        for _ in range(4):
            ratelimits.register_failure(user)
        ratelimits.clear_failures(user)
        assert [ratelimits.register_failure(user) for _ in range(4)] == [False] * 4
        assert not ratelimits.login_blocked(user)


def test_lock_expires(app, world):
    import time

    app.config["LOGIN_LOCK_SECONDS"] = 1
    with app.test_request_context():
        user = _user(app, world.ids["resident"])
        for _ in range(5):
            ratelimits.register_failure(user)
        assert ratelimits.login_blocked(user)
        time.sleep(1.2)
        assert not ratelimits.login_blocked(user)


def test_lockout_through_the_login_page(app, client, world):
    """Five wrong passwords, then even the right one is refused with the usual message."""
    app.config["RATELIMITS"] = {
        **BUDGETS,
        "login_account": "50 per hour",
        "login_ip": "50 per minute",
    }
    client.set_cookie("lang", "en")
    email = world.email("resident")
    wrong = [
        client.post("/auth/login", data={"email": email, "password": "wrong"}).status_code
        for _ in range(5)
    ]
    assert wrong == [400] * 5
    right = client.post("/auth/login", data={"email": email, "password": PASSWORD})
    assert right.status_code == 400
    assert "E-mail or password is incorrect." in right.get_data(as_text=True)
    assert client.get("/me/account").status_code == 302  # still not logged in
    # Other accounts are not affected.
    assert (
        client.post(
            "/auth/login", data={"email": world.email("official"), "password": PASSWORD}
        ).status_code
        == 302
    )


# --- request budgets checked before any view ------------------------------------------------


def test_behind_a_proxy_each_client_has_its_own_budget(app, client, world):
    proxied = create_app({**app.config, "TRUSTED_PROXIES": 1})
    proxied.test_client_class = Client
    c = proxied.test_client()

    def login(forwarded_for: str) -> int:
        return c.post(
            "/auth/login",
            data={"email": f"p{secrets.token_hex(3)}@example.vn", "password": "x"},
            headers={"X-Forwarded-For": forwarded_for},
            environ_base=ip(99),
        ).status_code

    first = [login("192.0.2.1") for _ in range(10)]
    assert report("login per address behind a proxy (8/minute)", first) == 2
    assert login("192.0.2.2") == 400  # another client behind the same proxy


def _multipart(parts: list[tuple[str, str]], file: bytes | None = None) -> tuple[bytes, str]:
    boundary = "gopy-boundary"
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode()
        + v.encode()
        + b"\r\n"
        for k, v in parts
    )
    if file is not None:
        body += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
                "Content-Type: application/pdf\r\n\r\n"
            ).encode()
            + file
            + b"\r\n"
        )
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_forms_are_capped_at_form_max_bytes_in_either_encoding(app, world, make, encoding):
    """Up to FORM_MAX_BYTES a form reaches the view (which refuses an opinion that long: 400);
    one byte more is the site's 413 page. (tests/test_form_size_server.py does it through gunicorn.)"""
    cid = make.consultation("open")
    resident = login_as(app, world.email("resident"))
    resident.set_cookie("lang", "en")
    cap = FORM_MAX_BYTES
    fixed = [("csrf_token", resident.csrf_token()), ("stance", "agree"), ("body", "")]

    def post(size: int):
        if encoding == "urlencoded":
            filler = size - len(urlencode(fixed).encode())  # "ý" is 6 bytes url-encoded
            parts = [*fixed[:2], ("body", "ý" * (filler // 6) + "a" * (filler % 6))]
            body, ctype = urlencode(parts).encode(), "application/x-www-form-urlencoded"
        else:
            filler = size - sum(
                len(k.encode()) + len(v.encode()) for k, v in fixed
            )  # "ý" is 2 bytes
            parts = [*fixed[:2], ("body", "ý" * (filler // 2) + "a" * (filler % 2))]
            body, ctype = _multipart(parts)
        return resident.post(
            f"/consultations/{cid}/opinions", data=body, csrf=False, content_type=ctype
        )

    response = post(cap)
    assert response.status_code == 400
    assert "An opinion can be at most" in response.get_data(as_text=True)
    response = post(cap + 1)
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)
    assert _opinion_count(app) == 0


def test_uploads_keep_their_own_cap(app, world, make):
    """A multipart post with a 3 MB file is over FORM_MAX_BYTES but not over MAX_CONTENT_LENGTH."""
    cid = make.consultation("open")
    resident = login_as(app, world.email("resident"))
    body, ctype = _multipart(
        [("csrf_token", resident.csrf_token()), ("body", "Ý kiến"), ("stance", "agree")],
        file=b"0" * 3_000_000,
    )
    response = resident.post(
        f"/consultations/{cid}/opinions", data=body, csrf=False, content_type=ctype
    )
    assert response.status_code == 302
    assert _opinion_count(app) == 1


def test_nul_is_dropped_before_any_query(app, client, world):
    """PostgreSQL cannot store NUL; it never reaches a view (test_hostile_input runs this on both DBs)."""
    client.set_cookie("lang", "en")
    response = client.post(
        "/auth/login", data={"email": "resident@example.vn\x00", "password": PASSWORD}
    )
    assert response.status_code == 302  # what is left is a valid login
    response = client.post("/auth/language", data={"lang": "e\x00n"})
    assert response.status_code == 302
    assert client.get("/?q=%00").status_code == 200
    assert client.get("/localities/%00").status_code == 404
    assert client.get("/api/v1/consultations?q=%00&page=%001").status_code == 200
