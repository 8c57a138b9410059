"""The four journeys people make, in a real browser, on a phone and a desktop, in both languages."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from .support import (
    MATRIX,
    MODERATOR,
    OFFICIAL,
    PASSWORD,
    REVIEWER,
    check_page,
    flash_text,
    goto,
    login,
    submit,
)

pytestmark = pytest.mark.browser

OPEN_TITLE = "đường kiệt"


def _user(email: str):
    from auth.models import User
    from core.extensions import db

    return db.session.scalar(sa.select(User).where(User.email == email))


def _opinion_id(page) -> int:
    """The opinion a redirect pointed at (``…#opinion-<id>``)."""
    assert "#opinion-" in page.url, page.url
    return int(page.url.rsplit("#opinion-", 1)[1])


@MATRIX
def test_resident(pages, live, viewport, lang):
    """Register, confirm the address from the mail, comment on an article, edit, read the answer."""
    page = pages.open(viewport, lang)
    email = f"resident-{viewport}-{lang}@example.vn"
    goto(page, live, "/")
    pages.shot(page, "01-list")

    page.click("header a[href='/auth/register']")
    check_page(page)
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=full_name]", "Nguyễn Thị Mai")
    page.select_option("select[name=locality]", "19597-02")
    page.fill("input[name=display_name]", f"Cô Mai {viewport} {lang}")
    page.check("input[name=consent]")
    pages.shot(page, "02-register")
    submit(page, "main form[action='/auth/register']")
    assert page.url.endswith("/auth/registered")
    pages.shot(page, "03-check-email")

    link = live.link_in_mail(email, "/auth/verify/")
    goto(page, live, link.removeprefix(live.url))
    assert page.url.endswith("/me/account")
    assert page.locator(".flash-success").count() == 1
    pages.shot(page, "04-verified")

    cid = live.consultation_id(OPEN_TITLE)
    goto(page, live, "/")
    page.click(f"main a[href='/consultations/{cid}']")
    check_page(page)
    pages.shot(page, "05-consultation")

    form = f"form[action='/consultations/{cid}/opinions']"
    page.select_option(f"{form} select[name=section_id]", index=2)
    page.check(f"{form} input[name=stance][value=suggest]")
    body = f"Đề nghị làm rõ mức hỗ trợ tháo dỡ tường rào ({viewport}, {lang})."
    page.fill(f"{form} textarea[name=body]", body)
    assert page.locator(f"{form} .counter").inner_text().startswith(str(len(body)))
    submit(page, form)
    opinion_id = _opinion_id(page)
    mine = page.locator(f"#opinion-{opinion_id}")
    assert "YK-" in flash_text(page)
    assert body in mine.inner_text()
    pages.shot(page, "06-opinion-sent")

    mine.locator("a[href$='/edit']").click()
    check_page(page)
    pages.shot(page, "07-edit")
    edited = body + " Xin cảm ơn."
    page.fill("textarea[name=body]", edited)
    page.check("input[name=stance][value=disagree]")
    submit(page, "form:has(textarea[name=body])")
    assert _opinion_id(page) == opinion_id
    assert edited in page.locator(f"#opinion-{opinion_id}").inner_text()
    pages.shot(page, "08-edited")

    # A moderator answers (their own journey is tested below).
    from consultations.models import Opinion
    from core.extensions import db
    from moderation import services as moderation

    explanation = "Mức hỗ trợ tháo dỡ tường rào được bổ sung vào Điều 4."
    live.run(
        lambda: moderation.respond(
            [db.session.get(Opinion, opinion_id)],
            by=_user(MODERATOR),
            outcome="accepted",
            explanation=explanation,
        )
    )
    goto(page, live, "/me/opinions")
    assert explanation in page.locator("main .response").first.inner_text()
    pages.shot(page, "09-answer")
    assert any(explanation in m["text"] for m in live.mail_to(email)), "the author is told by mail"


@MATRIX
def test_official(pages, live, viewport, lang):
    """Create a draft, preview it, open it, enter an offline opinion, close early with a reason."""
    page = pages.open(viewport, lang)
    login(page, live, OFFICIAL)
    page.click("header a[href='/consultations/new']")
    check_page(page)
    title = f"Quy định giờ hoạt động chợ đêm ({viewport}, {lang})"
    form = "main form:has(textarea[name=text])"
    page.fill("input[name=title]", title)
    page.fill(
        "textarea[name=summary]",
        "UBND xã lấy ý kiến về giờ mở cửa và việc giữ vệ sinh của chợ đêm.",
    )
    page.select_option("select[name=kind]", "comment")
    page.select_option("select[name=category]", "social")
    page.select_option("select[name=locality]", "19597")
    page.fill(
        "textarea[name=text]",
        "Điều 1. Giờ hoạt động\nChợ đêm mở cửa từ 17 giờ đến 22 giờ hằng ngày.\n\n"
        "Điều 2. Vệ sinh\nHộ kinh doanh thu gom rác trước khi đóng cửa.",
    )
    pages.shot(page, "01-new")
    submit(page, form)
    assert "/consultations/" in page.url
    assert page.locator("h1").inner_text() == title
    assert page.locator("main article.article").count() == 2, "two articles in the preview"
    pages.shot(page, "02-preview")

    submit(page, "main form[action$='/open']")
    assert page.locator(".flash-success").count() == 1
    assert page.locator("main .status-open").count() >= 1
    pages.shot(page, "03-open")

    offline = "main form:has(select[name=channel])"
    page.click("main details:has(select[name=channel]) > summary")
    page.select_option(f"{offline} select[name=channel]", "meeting")
    page.fill(f"{offline} input[name=contributor_name]", "Ông Hồ Văn Lực")
    page.select_option(f"{offline} select[name=section_id]", index=1)
    page.check(f"{offline} input[name=stance][value=agree]")
    page.fill(f"{offline} textarea[name=body]", "Tại cuộc họp thôn, bà con đồng ý giờ mở cửa.")
    pages.shot(page, "04-offline")
    submit(page, offline)
    entered = page.locator(f"#opinion-{_opinion_id(page)}")
    # He did not agree to be named: the public sees the channel, never his name.
    assert "Ông Hồ Văn Lực" not in entered.inner_text()
    assert "Ông Hồ Văn Lực" not in page.locator("main").inner_text()
    pages.shot(page, "05-offline-entered")

    reason = "Dự thảo cần điều chỉnh theo văn bản mới của tỉnh."
    page.fill("main form[action$='/close'] textarea[name=reason]", reason)
    submit(page, "main form[action$='/close']")
    assert reason in page.locator("main").inner_text()
    assert page.locator("main .status-closed").count() >= 1
    pages.shot(page, "06-closed")


def _closed_consultation(live, title: str) -> tuple[int, int, int]:
    """A consultation closed early with two opinions, for the moderator."""
    from consultations import services
    from consultations.models import Category, Kind, Stance
    from core.timeutil import utcnow

    def make():
        official = _user(OFFICIAL)
        now = utcnow()
        c = services.create_consultation(
            by=official,
            locality=official.assignments[0].locality,
            title=title,
            summary="Lấy ý kiến về việc đặt tên đường.",
            kind=Kind.comment,
            category=Category.other,
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=40),
            text="Điều 1. Tên đường\nĐặt tên đường Lê Duẩn cho tuyến từ cầu Cam Lộ đến chợ.",
        )
        services.open_consultation(c, by=official)
        a = services.post_opinion(
            c,
            by=_user("nguyenvanan@example.com"),
            body="Quảng cáo: bán đất giá rẻ, gọi 0900…",
            stance=Stance.agree,
        )
        b = services.post_opinion(
            c,
            by=_user("tranthibinh@example.com"),
            body="Tôi đồng ý với tên đường.",
            stance=Stance.agree,
        )
        services.close_consultation(c, by=official, reason="Đã đủ ý kiến.")
        return c.id, a.id, b.id

    return live.run(make)


@MATRIX
def test_moderator(pages, live, viewport, lang):
    """Hide an opinion, answer every opinion, publish the record."""
    cid, spam, good = _closed_consultation(live, f"Đặt tên đường ({viewport}, {lang})")
    page = pages.open(viewport, lang)
    login(page, live, MODERATOR)
    page.click("header a[href='/moderation/']")
    check_page(page)
    pages.shot(page, "01-queue")

    goto(page, live, f"/moderation/consultations/{cid}")
    pages.shot(page, "02-consultation")
    page.click(f"#opinion-{spam} details:has(form[action$='/hide']) > summary")
    page.fill(f"#reason-{spam}", "Quảng cáo, không liên quan đến dự thảo.")
    submit(page, f"#opinion-{spam} form[action$='/hide']")
    assert page.locator(f"#opinion-{spam} .opinion-hidden").count() == 1
    pages.shot(page, "03-hidden")

    for op, outcome in ((spam, "noted"), (good, "accepted")):
        page.click(f"#opinion-{op} details:has(form[action$='/response']) > summary")
        page.check(f"#outcome-op{op}-{outcome}")
        page.fill(f"#explanation-op{op}", "UBND xã tiếp thu và sẽ trình HĐND xã.")
        submit(page, f"#opinion-{op} form[action$='/response']")
        assert page.locator(f"#opinion-{op} .response").count() == 1
    pages.shot(page, "04-answered")

    goto(page, live, f"/consultations/{cid}/record")
    pages.shot(page, "05-record-draft")
    page.fill("textarea[name=conclusion]", "Đa số ý kiến đồng ý; UBND xã trình HĐND xã thông qua.")
    page.fill("input[name=signer_name]", "Hoàng Văn Minh")
    page.fill("input[name=signer_title]", "Chủ tịch")
    submit(page, f"form[action='/consultations/{cid}/record/publish']")
    digest = page.locator("main code.hash").first.inner_text()
    assert re.fullmatch(r"[0-9a-f]{64}", digest), digest
    pages.shot(page, "06-published")


@MATRIX
def test_reviewer(pages, live, viewport, lang, tmp_path):
    """See the dashboard of the locality and download every opinion as a spreadsheet."""
    page = pages.open(viewport, lang)
    login(page, live, REVIEWER)
    page.click("header a[href='/moderation/dashboard']")
    check_page(page)
    pages.shot(page, "01-dashboard")
    cid = live.consultation_id(OPEN_TITLE)
    with page.expect_download() as info:
        page.click(f"main a[href='/consultations/{cid}/export.xlsx']")
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    target = Path(tmp_path) / download.suggested_filename
    download.save_as(target)
    book = openpyxl.load_workbook(target, read_only=True)
    try:
        rows = list(book.active.iter_rows(values_only=True))
    finally:
        book.close()
    assert len(rows) > 5, "a header and the opinions"
    assert any("YK-" in str(cell) for cell in rows[1])
    pages.shot(page, "02-downloaded")
