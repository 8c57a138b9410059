"""The largest draft the consultation form allows, posted to a real gunicorn.

Flask's test client hands the form to werkzeug in one piece; a real server streams it, and
werkzeug then applies ``MAX_FORM_MEMORY_SIZE`` to each multipart text field (500,000 bytes by
default in Flask 3.1): a 200,000-character Vietnamese draft is about 520 KB of UTF-8. Here both
encodings a browser uses go through gunicorn, and the draft must come back whole; bodies just
under and just over ``FORM_MAX_BYTES`` show which cap holds.
"""

from __future__ import annotations

import http.client
import secrets
import time
from urllib.parse import urlencode

import pytest
from test_concurrency import Browser, Server, seed, server_config

from app import create_app
from core.extensions import db
from core.http import FORM_MAX_BYTES

#: The consultation form's own maximum (consultations/forms.py).
DRAFT_MAX_CHARS = 200_000
#: Every request of this module must answer within this time.
TIMEOUT = 60

#: The letters of Vietnamese that carry a tone mark: 3 bytes each in UTF-8 (NFC).
TONED = "ẠẢẤẦẨẪẬẮẰẲẴẶẸẺẼẾỀỂỄỆỈỊỌỎỐỒỔỖỘỚỜỞỠỢỤỦỨỪỬỮỰỲỴỶỸạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ"
#: One article of the draft: a heading, a sentence, and lines dense in tone marks, so that at
#: the form's maximum the draft is over Flask's 500,000-byte default (typical Vietnamese prose
#: is about 1.35 bytes a character; this is about 2.6, the densest text the form would meet).
ARTICLE = (
    "Điều {n}. Quyền và nghĩa vụ của hộ gia đình\n"
    "Bổ sung quy định về bồi thường, hỗ trợ, tái định cư khi Nhà nước thu hồi đất.\n"
    + (TONED + "\n") * 5
    + "\n"
)


def vietnamese_draft(chars: int) -> str:
    """A draft of exactly ``chars`` characters: "Điều N." articles, diacritics throughout."""
    articles = (ARTICLE.format(n=n) for n in range(1, chars // len(ARTICLE) + 2))
    text = "".join(articles)[:chars]
    # No blank at the end: the stored sections are stripped, and the text must compare whole.
    return text[:-1] + "ế" if text[-1].isspace() else text


def _multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = "----gopy" + secrets.token_hex(8)
    body = (
        b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode()
            + v.encode()
            + b"\r\n"
            for k, v in fields.items()
        )
        + f"--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def post_form(browser: Browser, path: str, fields: dict[str, str], encoding: str):
    """POST ``fields`` as a browser would, url-encoded or multipart; (status, page, body size).
    A server that answers before reading the whole body may reset the connection: that is
    reported as status 0."""
    if encoding == "urlencoded":
        body, ctype = urlencode(fields).encode(), "application/x-www-form-urlencoded"
    else:
        body, ctype = _multipart(fields)
    conn = http.client.HTTPConnection("127.0.0.1", browser.port, timeout=TIMEOUT)
    headers = {
        "Content-Type": ctype,
        "Connection": "close",
        "Cookie": "; ".join(f"{k}={v}" for k, v in browser.cookies.items()),
    }
    try:
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace"), len(body)
    except (ConnectionResetError, BrokenPipeError):
        return 0, "", len(body)
    finally:
        conn.close()


def consultation_form(token: str, text: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "title": "Quy định về quản lý đất đai",
        "summary": "Lấy ý kiến Nhân dân.",
        "kind": "comment",
        "category": "land",
        "locality": "00004",
        "opens_at": "2026-08-14",
        "closes_at": "2026-09-17",
        "text": text,
    }


@pytest.fixture
def server(tmp_path):
    config = server_config(f"sqlite:///{tmp_path / 'form.sqlite'}", {}, tmp_path)
    config["BABEL_DEFAULT_LOCALE"] = "vi"
    seed(config, residents=0)
    srv = Server(config, tmp_path, workers=1)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def stored_drafts(server: Server) -> list[str]:
    from consultations.models import Consultation
    from consultations.services import draft_text

    app = create_app({**server.config, "TESTING": True, "QUEUE_IMMEDIATE": True})
    with app.app_context():
        try:
            return [
                draft_text(c)
                for c in db.session.scalars(db.select(Consultation).order_by(Consultation.id))
            ]
        finally:
            db.session.remove()
            db.engine.dispose()


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_the_longest_draft_the_form_allows_is_stored_whole(server, encoding):
    browser = Browser(server.port)
    browser.login("official@example.vn")
    token = browser.csrf("/consultations/new")
    text = vietnamese_draft(DRAFT_MAX_CHARS)
    assert len(text) == DRAFT_MAX_CHARS
    assert len(text.encode()) > 500_000

    started = time.monotonic()
    status, page, size = post_form(
        browser, "/consultations/new", consultation_form(token, text), encoding
    )
    print(
        f"\n[form size] {encoding}: {DRAFT_MAX_CHARS:,} characters, {len(text.encode()):,} bytes of UTF-8, "
        f"body {size:,} bytes -> HTTP {status} in {time.monotonic() - started:.2f} s"
    )
    assert status == 302, page[:500]
    drafts = stored_drafts(server)
    assert len(drafts) == 2  # the seeded one and this one
    assert drafts[-1] == text


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_a_draft_over_the_form_maximum_is_shown_again_with_the_text_kept(server, encoding):
    browser = Browser(server.port)
    browser.login("official@example.vn")
    token = browser.csrf("/consultations/new")
    text = vietnamese_draft(DRAFT_MAX_CHARS + 1)
    status, page, _ = post_form(
        browser, "/consultations/new", consultation_form(token, text), encoding
    )
    assert status == 400
    assert "Dự thảo dài tối đa 200000 ký tự." in page
    assert text in page  # the typed text, whole, back in the textarea
    assert len(stored_drafts(server)) == 1


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_the_configured_cap_holds_just_under_and_just_over(server, encoding):
    """A form up to FORM_MAX_BYTES reaches the view; one byte more is the site's own 413 page.
    The size of a url-encoded form is its body; of a multipart one, its text (names and values:
    the boundaries are the encoding's, and files have their own cap)."""
    browser = Browser(server.port)
    browser.login("official@example.vn")
    token = browser.csrf("/consultations/new")
    cap = FORM_MAX_BYTES

    def fields(filler: int) -> dict[str, str]:
        # A short draft and a field no view reads: the view answers 302 when it is reached.
        form = consultation_form(token, "Điều 1. Phạm vi điều chỉnh\nNội dung.")
        form["ghi_chu"] = "a" * filler
        return form

    filler = cap - form_size(fields(0), encoding)
    for size, expected in ((cap, 302), (cap + 1, 413)):
        form = fields(filler + size - cap)
        assert form_size(form, encoding) == size
        status, page, body = post_form(browser, "/consultations/new", form, encoding)
        print(f"\n[form size] {encoding}: form {size:,} bytes (body {body:,}) -> HTTP {status}")
        assert status == expected, page[:300]
    assert "<title>Lỗi 413" in page
    assert "Tệp hoặc nội dung ông/bà gửi quá lớn." in page
    assert len(stored_drafts(server)) == 2


def form_size(fields: dict[str, str], encoding: str) -> int:
    if encoding == "urlencoded":
        return len(urlencode(fields).encode())
    return sum(len(k.encode()) + len(v.encode()) for k, v in fields.items())
