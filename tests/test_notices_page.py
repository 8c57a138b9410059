"""The printable notice for the commune board: /consultations/<id>/notice."""

from __future__ import annotations

import re

import pytest
import segno


def _qr_path(url: str) -> str:
    svg = segno.make(url, error="m", micro=False).svg_inline(scale=1, border=4, omitsize=True)
    return re.search(r'<path[^>]*stroke[^>]*d="([^"]+)"', svg).group(1)


@pytest.mark.parametrize("status", ["open", "closed", "concluded"])
def test_the_notice_of_a_public_consultation_is_public(client, make, status):
    cid = make.consultation(status)
    r = client.get(f"/consultations/{cid}/notice")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Quy định quản lý đất đai phường Ba Đình" in html
    assert "Tóm tắt: lấy ý kiến người dân." in html
    assert html.count("<dd>") == 2, "the first and the last day"
    assert "Online" in html
    assert "Without the internet" in html
    if status != "open":
        assert "opinions are no longer accepted" in html


def test_the_qr_code_is_the_address_of_the_consultation(app, client, make):
    cid = make.consultation("open")
    app.config["BASE_URL"] = "https://gopy.example.vn/"
    html = client.get(f"/consultations/{cid}/notice").get_data(as_text=True)
    url = f"https://gopy.example.vn/consultations/{cid}"
    assert f'aria-label="QR code of the address {url}"' in html
    assert f'<span class="notice-url">{url}</span>' in html
    assert f'd="{_qr_path(url)}"' in html, "inline SVG of exactly that address"
    assert "<img" not in html.split('<article class="notice"')[1], "no image file to fetch"


def test_the_notice_is_in_vietnamese_by_default(app, client, make):
    app.config["BABEL_DEFAULT_LOCALE"] = "vi"
    cid = make.consultation("open")
    html = client.get(f"/consultations/{cid}/notice").get_data(as_text=True)
    assert '<html lang="vi">' in html
    assert "Without the internet" not in html


def test_a_draft_notice_is_for_the_officials_of_its_locality(client, auth, world, make):
    cid = make.consultation("draft")
    assert client.get(f"/consultations/{cid}/notice").status_code == 404
    for who, expected in (
        ("resident", 404),
        ("official_other", 404),
        ("moderator", 404),
        ("official", 200),
    ):
        auth.login(world.email(who))
        assert client.get(f"/consultations/{cid}/notice").status_code == expected, who
        auth.logout()


def test_an_unknown_consultation_has_no_notice(client):
    assert client.get("/consultations/999999/notice").status_code == 404
    assert client.get("/consultations/0/notice").status_code == 404


def test_the_consultation_page_links_to_its_notice_and_describes_itself(client, make):
    cid = make.consultation("open")
    html = client.get(f"/consultations/{cid}").get_data(as_text=True)
    assert f'href="/consultations/{cid}/notice"' in html
    assert '<meta property="og:type" content="article">' in html
    assert f'<meta property="og:url" content="http://localhost/consultations/{cid}">' in html
    assert '<meta property="og:title" content="Quy định quản lý đất đai phường Ba Đình">' in html
