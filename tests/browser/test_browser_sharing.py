"""Sharing and paper: Open Graph previews, the printable notice with its QR code, the print
layout of the draft and the record; and the pages with and without JavaScript."""

from __future__ import annotations

import io
import re

import pytest
import segno
import sqlalchemy as sa
from pypdf import PdfReader

from .support import (
    MATRIX,
    OFFICIAL,
    RESIDENT,
    SCREENSHOTS,
    check_page,
    flash_text,
    goto,
    login,
    submit,
)

pytestmark = pytest.mark.browser


def _og(page) -> dict[str, str]:
    return page.eval_on_selector_all(
        "meta[property^='og:']",
        "els => Object.fromEntries(els.map(e => [e.getAttribute('property'), e.content]))",
    )


def _pdf_pages(pdf: bytes) -> list[str]:
    return [p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages]


def test_open_graph_on_the_consultation_page(pages, live, ids):
    page = pages.open("1280", "vi")
    goto(page, live, f"/consultations/{ids['open']}")
    og = _og(page)
    assert og["og:title"] == page.locator("h1").inner_text()
    assert og["og:type"] == "article"
    assert og["og:url"] == f"{live.url}/consultations/{ids['open']}"
    assert og["og:site_name"]
    assert 20 < len(og["og:description"]) <= 200
    assert "mở rộng" in og["og:description"], "the summary of the draft, not a generic text"

    goto(page, live, "/")
    og = _og(page)
    assert og["og:type"] == "website"
    assert og["og:url"] == f"{live.url}/"


@MATRIX
def test_notice_for_the_commune_board(pages, live, ids, viewport, lang):
    """A THÔNG BÁO (Decree 30 layout) naming the draft, its period and where to read it, with a QR
    code of the page's address; the page's own buttons in the reader's language, gone on paper."""
    page = pages.open(viewport, lang)
    goto(page, live, f"/consultations/{ids['open']}")
    title = page.locator("h1").inner_text()
    page.click(f"main a[href='/consultations/{ids['open']}/notice']")
    check_page(page)
    notice = page.locator("article.notice")
    assert notice.get_attribute("lang") == "vi", "a legal form, in Vietnamese whatever the language"
    heading = " ".join(notice.locator("h1").inner_text().split())
    assert heading.startswith("THÔNG BÁO Về việc lấy ý kiến Nhân dân đối với dự thảo")
    assert title.casefold().removeprefix("dự thảo ") in heading.casefold(), "the draft's title"
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in notice.locator(".notice-nation").inner_text()
    period = notice.locator(".notice-period").inner_text()
    assert re.search(r"từ ngày \d{1,2}/\d{1,2}/\d{4} đến hết ngày \d{1,2}/\d{1,2}/\d{4}", period), (
        period
    )
    assert "Xã Cam Lộ" not in notice.locator(".notice-body").inner_text(), (
        "lower case in a sentence"
    )
    url = f"{live.url}/consultations/{ids['open']}"
    assert notice.locator(".notice-url").inner_text() == url
    # The code drawn on the page is the code of that address.
    expected = segno.make(url, error="m", micro=False).svg_inline(scale=1, border=4, omitsize=True)
    drawn = notice.locator("svg.qr path[stroke]").get_attribute("d")
    assert drawn == re.search(r'<path[^>]*stroke[^>]*d="([^"]+)"', expected).group(1)
    assert notice.locator("svg.qr").get_attribute("role") == "img"
    assert page.locator("button[data-print]").is_visible(), "app.js shows the Print button"
    download = page.locator(f"a[href='/consultations/{ids['open']}/notice.pdf']")
    assert download.inner_text() == (
        "Tải thông báo (PDF)" if lang == "vi" else "Download the notice (PDF)"
    )
    box = notice.locator("svg.qr").bounding_box()
    assert box["width"] >= 150, "large enough for a phone camera"
    pages.shot(page, "01-screen")

    page.emulate_media(media="print")
    assert not page.locator("header.site-header").is_visible()
    assert not page.locator("button[data-print]").is_visible()
    assert not download.is_visible()
    assert notice.locator("svg.qr").is_visible()
    pages.shot(page, "02-print")
    if viewport == "1280":
        text = _pdf_pages(page.pdf(format="A4", print_background=True))
        assert len(text) == 1, "the notice fits on one A4 sheet"
        assert url in text[0].replace("\n", "")
        assert "TM. ỦY BAN NHÂN DÂN" in text[0], "the signature block on the same sheet"


def test_notice_of_a_draft_is_not_public(pages, live):
    from consultations.models import Consultation, Status

    draft = live.scalar(
        sa.select(Consultation.id).where(Consultation.stored_status == Status.draft)
    )
    page = pages.open("360", "vi")
    goto(page, live, f"/consultations/{draft}/notice", status=404)
    login(page, live, OFFICIAL)
    goto(page, live, f"/consultations/{draft}/notice")
    assert page.locator(".no-print .flash-warning").count() == 1, "officials are told it is a draft"


@pytest.mark.parametrize(
    ("name", "path"),
    [("draft", "/consultations/{open}"), ("record", "/consultations/{concluded}/record")],
)
def test_print_layout(pages, live, ids, name, path):
    """On paper: the text without the site's menus, forms and buttons."""
    page = pages.open("1280", "vi")
    login(page, live, RESIDENT)  # the logged-in page has the most forms to hide
    goto(page, live, path.format(**ids))
    title = page.locator("h1").inner_text()
    page.emulate_media(media="print")
    for chrome in ("header.site-header", "footer.site-footer", "main form", "main .button"):
        assert not any(el.is_visible() for el in page.locator(chrome).all()), chrome
    if name == "draft":
        assert page.locator("main .article-text").first.is_visible()
        assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith(
            '"Gopy Serif"'
        ), "the shipped typeface, whatever fonts the machine has"

    else:
        assert page.locator("main code.hash").first.is_visible()
    page.screenshot(path=str(SCREENSHOTS / f"print-1280-vi-{name}.png"), full_page=True)
    pdf = page.pdf(format="A4")
    text = "".join(_pdf_pages(pdf))
    assert title.split()[0] in text
    # Every letter from the shipped typeface: words come back whole, not "D ự th ả o".
    fonts = {
        str(font.get_object()["/BaseFont"])
        for p in PdfReader(io.BytesIO(pdf)).pages
        for font in p["/Resources"]["/Font"].values()
    }
    serif = {f for f in fonts if "Serif" in f or "Liberation" in f or "Times" in f}
    assert serif, fonts
    assert all("LiberationSerif" in f for f in serif), fonts


def test_works_without_javascript(pages, live, ids):
    """A resident logs in and gives an opinion with JavaScript turned off."""
    page = pages.open("360", "vi", java_script_enabled=False)
    login(page, live, "levancuong@example.com")
    goto(page, live, f"/consultations/{ids['open']}")
    form = f"form[action='/consultations/{ids['open']}/opinions']"
    assert page.locator(f"{form} .counter").count() == 0, "no JavaScript, no counter"
    page.check(f"{form} input[name=stance][value=agree]")
    page.fill(f"{form} textarea[name=body]", "Không có JavaScript vẫn gửi được ý kiến.")
    submit(page, form)
    assert "YK-" in flash_text(page)
    goto(page, live, f"/consultations/{ids['open']}/notice")
    assert not page.locator("button[data-print]").is_visible(), "no Print button without JavaScript"


def test_enhancements(pages, live, ids):
    """With JavaScript: a counter under long text fields, a question before what cannot be undone."""
    page = pages.open("360", "en")
    login(page, live, "tranthibinh@example.com")
    goto(page, live, f"/consultations/{ids['open']}")
    form = f"form[action='/consultations/{ids['open']}/opinions']"
    page.fill(f"{form} textarea[name=body]", "x" * 4600)
    counter = page.locator(f"{form} .counter")
    assert counter.inner_text() == "4,600 of 5,000 characters"
    assert "near" in counter.get_attribute("class")
    described = page.get_attribute(f"{form} textarea[name=body]", "aria-describedby")
    assert counter.get_attribute("id") in described.split()

    goto(page, live, "/me/account")
    asked = []
    page.remove_listener("dialog", page.gopy["accept_dialogs"])
    page.on("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    page.fill(
        "form[action='/me/delete'] input[name=password]", live.passwords["tranthibinh@example.com"]
    )
    page.locator("form[action='/me/delete'] button").click()
    page.wait_for_timeout(300)
    assert asked, "the resident is asked before the account is deleted"
    assert page.url.endswith("/me/account"), "answering Cancel keeps the account"
