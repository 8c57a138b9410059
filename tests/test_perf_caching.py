"""HTTP caching: fingerprinted static files, 304 answers to conditional GETs, and the short
page cache for anonymous visitors (caching.py)."""

from __future__ import annotations

import os
import re

import pytest
from flask import url_for
from support import PASSWORD

from infra import caching

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def cached_app(app):
    # create_app calls caching.init_app once app.py has its line; before that, add it here.
    if "gopy_page_cache" not in app.extensions:
        caching.init_app(app)
    return app


def _static_urls(html: str) -> list[str]:
    return re.findall(r'href="(/static/[^"]+)"', html)


def test_static_files_are_fingerprinted_and_kept_for_a_year(cached_app):
    client = cached_app.test_client()
    html = client.get("/auth/login").get_data(as_text=True)
    css = next(u for u in _static_urls(html) if "style.css" in u)
    assert re.search(r"style\.css\?v=[0-9a-f]{12}$", css)

    response = client.get(css)
    response.close()
    assert response.status_code == 200
    assert response.cache_control.max_age == 365 * 24 * 3600
    assert response.cache_control.immutable

    for stale in ("/static/style.css", "/static/style.css?v=000000000000"):
        response = client.get(stale)
        response.close()
        assert response.status_code == 200
        assert response.cache_control.no_cache
        assert not response.cache_control.max_age


def test_stylesheets_are_served_minified_and_conditional(cached_app):
    from pathlib import Path

    from infra.caching import minify_css

    client = cached_app.test_client()
    source = (Path(cached_app.static_folder) / "style.css").read_text(encoding="utf-8")
    response = client.get("/static/style.css")
    body = response.get_data(as_text=True)
    assert response.mimetype == "text/css"
    assert body == minify_css(source)
    assert len(body) < 0.85 * len(source.encode()), "comments and spacing are not sent"
    assert "/*" not in body
    assert "--brand:#a3161a" in body
    again = client.get("/static/style.css", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize(
    ("css", "expected"),
    [
        (".a :focus { color: red; }", ".a :focus{color:red}"),  # a descendant, not .a:focus
        ("p { width: calc(100% - 2rem) }", "p{width:calc(100% - 2rem)}"),
        ('x::before { content: "a: b ;  c" ; }', 'x::before{content:"a: b ;  c"}'),
        (
            "/* why */ @media (max-width: 600px) { a > b , c { margin: 0 } }",
            "@media (max-width:600px){a>b,c{margin:0}}",
        ),
    ],
)
def test_minified_css_means_the_same(css, expected):
    from infra.caching import minify_css

    assert minify_css(css) == expected


def test_static_fingerprint_follows_the_file(cached_app, tmp_path):
    (tmp_path / "site.css").write_text("body { color: black }")
    cached_app.static_folder = str(tmp_path)
    with cached_app.test_request_context():
        first = url_for("static", filename="site.css")
        (tmp_path / "site.css").write_text("body { color: navy }")
        os.utime(tmp_path / "site.css", (1, 1))  # a new mtime, whatever the clock resolution
        second = url_for("static", filename="site.css")
    assert first != second


def test_consultation_page_answers_304_until_it_changes(cached_app, make):
    cid = make.consultation("open")
    make.opinion(cid, body="Đề nghị mở rộng ngõ 4 mét.")
    client = cached_app.test_client()
    first = client.get(f"/consultations/{cid}")
    etag = first.headers["ETag"]
    assert first.status_code == 200
    assert "no-cache" in first.headers["Cache-Control"]

    again = client.get(f"/consultations/{cid}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""

    make.opinion(cid, who="official", body="Ý kiến tại hội nghị thôn.", channel="meeting")
    changed = client.get(f"/consultations/{cid}", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert "Ý kiến tại hội nghị thôn." in changed.get_data(as_text=True)
    assert changed.headers["ETag"] != etag


def test_page_validator_is_not_shared_between_visitors(cached_app, make):
    # The log-in page carries a CSRF token, tied to each visitor's session.
    first = cached_app.test_client().get("/auth/login")
    assert 'name="csrf_token"' in first.get_data(as_text=True)
    # Another browser holding the first one's tag must get its own page (its own CSRF token).
    other = cached_app.test_client().get(
        "/auth/login", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert other.status_code == 200
    assert 'name="csrf_token"' in other.get_data(as_text=True)


def test_public_page_validator_is_shared_by_anonymous_visitors(cached_app, make):
    # A public page holds nothing of the visitor's: one browser's tag is good for another's.
    cid = make.consultation("open")
    first = cached_app.test_client().get(f"/consultations/{cid}")
    other = cached_app.test_client().get(
        f"/consultations/{cid}", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert other.status_code == 304


def test_api_answers_304_until_the_opinions_change(cached_app, make):
    cid = make.consultation("open")
    make.opinion(cid)
    client = cached_app.test_client()
    first = client.get(f"/api/v1/consultations/{cid}/opinions")
    etag = first.headers["ETag"]
    assert not etag.startswith("W/")
    assert first.headers["Cache-Control"] == "public, no-cache"

    assert (
        client.get(
            f"/api/v1/consultations/{cid}/opinions", headers={"If-None-Match": etag}
        ).status_code
        == 304
    )
    # The same data answers the same tag to anyone.
    assert (
        cached_app.test_client()
        .get(f"/api/v1/consultations/{cid}/opinions", headers={"If-None-Match": etag})
        .status_code
        == 304
    )

    make.opinion(cid, who="official", body="Ý kiến qua đường dây nóng.", channel="hotline")
    changed = client.get(f"/api/v1/consultations/{cid}/opinions", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.get_json()["total"] == 2


def test_errors_and_downloads_get_no_validator(cached_app, make, client, auth, world):
    assert "ETag" not in cached_app.test_client().get("/consultations/999999").headers
    cid = make.consultation("open")
    auth.login(world.email("official"))
    response = client.get(f"/consultations/{cid}/export.csv")
    response.close()
    assert response.status_code == 200
    assert "ETag" not in response.headers


def test_page_cache_is_off_unless_configured(cached_app, make):
    cid = make.consultation("open")
    client = cached_app.test_client()
    client.get(f"/consultations/{cid}")
    make.opinion(cid, body="Ý kiến mới nhất của tôi.")
    assert "Ý kiến mới nhất của tôi." in client.get(f"/consultations/{cid}").get_data(as_text=True)


def test_page_cache_serves_anonymous_visitors_a_working_form(cached_app, make, client, auth, world):
    cached_app.config["PAGE_CACHE_SECONDS"] = 60
    cid = make.consultation("open")
    cached_app.test_client().get(f"/consultations/{cid}")  # someone else fills the cache
    make.opinion(cid, body="Ý kiến gửi sau khi trang được lưu.")

    visitor = cached_app.test_client()
    page = visitor.get(f"/consultations/{cid}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Ý kiến gửi sau khi trang được lưu." not in html  # the shared copy, up to 60 s old
    # The shared copy holds nothing of anyone's session: no cookie, no token; the language link works.
    assert "session=" not in page.headers.get("Set-Cookie", "")
    assert "csrf_token" not in html
    switched = visitor.get(f"/auth/language?lang=en&next=/consultations/{cid}")
    assert switched.status_code == 302
    assert 'lang="en"' in visitor.get(f"/consultations/{cid}").get_data(as_text=True)

    # Logged-in residents always get the page as it is now.
    auth.login(world.email("resident"))
    assert "Ý kiến gửi sau khi trang được lưu." in client.get(f"/consultations/{cid}").get_data(
        as_text=True
    )


def test_page_cache_keeps_languages_apart(cached_app, make):
    cached_app.config["PAGE_CACHE_SECONDS"] = 60
    cid = make.consultation("open")
    vietnamese = cached_app.test_client()
    vietnamese.set_cookie("lang", "vi")
    vi = vietnamese.get(f"/consultations/{cid}").get_data(as_text=True)
    assert cached_app.test_client().get(f"/consultations/{cid}").status_code == 200
    english = cached_app.test_client()
    english.set_cookie("lang", "en")
    en = english.get(f"/consultations/{cid}").get_data(as_text=True)
    assert 'lang="vi"' in vi
    assert 'lang="en"' in en


def test_first_visits_are_answered_in_front_of_flask(cached_app, make, monkeypatch):
    """A request without any session cookie gets the stored response, headers included, without
    the view running; a 304 when it already holds the copy."""
    from consultations import views

    cached_app.config["PAGE_CACHE_SECONDS"] = 60
    cid = make.consultation("open")
    first = cached_app.test_client().get(f"/consultations/{cid}")
    assert first.status_code == 200
    assert "X-Gopy-Page-Cache" not in first.headers  # the internal mark never leaves the server

    calls = []
    original = views._render_show
    monkeypatch.setattr(views, "_render_show", lambda *a, **k: calls.append(1) or original(*a, **k))
    make.opinion(cid, body="Ý kiến mới sau khi trang được lưu.")
    again = cached_app.test_client().get(f"/consultations/{cid}")
    assert again.status_code == 200
    assert again.data == first.data
    assert calls == []
    for header in ("Content-Security-Policy", "X-Content-Type-Options", "ETag", "Vary"):
        assert again.headers[header] == first.headers[header], header
    assert "Set-Cookie" not in again.headers
    not_modified = cached_app.test_client().get(
        f"/consultations/{cid}", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert not_modified.status_code == 304
    assert not_modified.data == b""

    # A logged-in resident's request carries the session cookie: it reaches the view, which
    # shows the page as it is now.
    resident = cached_app.test_client()
    assert (
        resident.post(
            "/auth/login", data={"email": make.world.email("resident"), "password": PASSWORD}
        ).status_code
        == 302
    )
    assert "Ý kiến mới sau khi trang được lưu." in resident.get(f"/consultations/{cid}").get_data(
        as_text=True
    )
    assert calls, "a request with a session cookie must reach Flask"


def test_front_cache_keeps_languages_and_errors_apart(cached_app, make):
    cached_app.config["PAGE_CACHE_SECONDS"] = 60
    cid = make.consultation("open")
    assert cached_app.test_client().get("/consultations/999999").status_code == 404
    assert cached_app.test_client().get("/consultations/999999").status_code == 404
    vietnamese = cached_app.test_client()
    vietnamese.set_cookie("lang", "vi")
    vi = vietnamese.get(f"/consultations/{cid}").get_data(as_text=True)
    english = cached_app.test_client()
    english.set_cookie("lang", "en")
    en = english.get(f"/consultations/{cid}").get_data(as_text=True)
    assert '<html lang="vi">' in vi
    assert '<html lang="en">' in en
    head = cached_app.test_client().head(f"/consultations/{cid}")
    assert head.status_code == 200
    assert head.data == b""
