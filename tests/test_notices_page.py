"""The notice for the commune board: /consultations/<id>/notice and its PDF, a THÔNG BÁO in the
layout of Decree 30/2020/NĐ-CP."""

from __future__ import annotations

import io
import re
import subprocess
from datetime import UTC, date, datetime

import pytest
import segno
import sqlalchemy as sa
from pypdf import PdfReader

from consultations.models import Consultation, Opinion
from core.extensions import db
from core.timeutil import LOCAL_TZ, local_day_end, local_day_start
from localities.models import Locality

TITLE = "Quy định quản lý đất đai phường Ba Đình"
ADDRESS = "Số 1 phố Điện Biên Phủ, phường Ba Đình, thành phố Hà Nội"
PHONE = "024 3823 1234"
HOURS = "Sáng 7:30–11:30, chiều 13:30–17:00, từ thứ Hai đến thứ Sáu"
MEETINGS = "08:00 ngày 20/8/2026: hội nghị tại nhà văn hóa Tổ dân phố số 1\n\n14:00 ngày 22/8/2026: đối thoại tại hội trường Ủy ban nhân dân phường"


def _qr_path(url: str) -> str:
    svg = segno.make(url, error="m", micro=False).svg_inline(scale=1, border=4, omitsize=True)
    return re.search(r'<path[^>]*stroke[^>]*d="([^"]+)"', svg).group(1)


def _text(html: str) -> str:
    """The notice as a reader sees it: tags dropped, spaces collapsed."""
    article = html.split('<article class="notice', 1)[1].split("</article>", 1)[0]
    text = " ".join(re.sub(r"<[^>]+>", " ", article.split(">", 1)[1]).split())
    return re.sub(r" ([;,.:)])", r"\1", text)


@pytest.fixture
def contacts(app, world):
    with app.app_context():
        commune = db.session.get(Locality, world.commune_id)
        commune.address, commune.phone, commune.office_hours = ADDRESS, PHONE, HOURS
        db.session.commit()


def _set(app, cid: int, **values) -> None:
    with app.app_context():
        c = db.session.get(Consultation, cid)
        for name, value in values.items():
            setattr(c, name, value)
        db.session.commit()


def _notice(client, cid: int) -> str:
    response = client.get(f"/consultations/{cid}/notice")
    assert response.status_code == 200
    return _text(response.get_data(as_text=True))


@pytest.mark.parametrize("status", ["open", "closed", "concluded"])
def test_the_notice_has_the_decree_30_form(client, make, status):
    cid = make.consultation(status)
    text = _notice(client, cid)
    today = datetime.now(LOCAL_TZ).date()
    month = f"{today.month:02d}" if today.month < 3 else str(today.month)
    for expected in (
        "ỦY BAN NHÂN DÂN PHƯỜNG BA ĐÌNH",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM Độc lập - Tự do - Hạnh phúc",
        "Số: …/TB-UBND",
        f"Ba Đình, ngày {today.day:02d} tháng {month} năm {today.year}",
        f"THÔNG BÁO Về việc lấy ý kiến Nhân dân đối với dự thảo {TITLE}",
        "Nơi nhận: - Thường trực HĐND phường; - Ủy ban MTTQ Việt Nam phường; "
        "- Các thôn, tổ dân phố (niêm yết); - Lưu: VT.",
        "TM. ỦY BAN NHÂN DÂN CHỦ TỊCH",
    ):
        assert expected in text, expected
    assert text.index("THÔNG BÁO") < text.index("Nơi nhận") < text.index("TM. ỦY BAN")


def test_a_title_that_begins_with_draft_is_not_said_twice(client, make):
    cid = make.consultation("open", title="Dự thảo Kế hoạch chỉnh trang đô thị năm 2026")
    text = _notice(client, cid)
    assert "đối với dự thảo Kế hoạch chỉnh trang đô thị năm 2026" in text
    assert "dự thảo dự thảo" not in text.casefold()


@pytest.mark.postgres
def test_the_period_is_from_the_first_to_the_last_day_in_vietnam(app, client, make):
    cid = make.consultation("open")
    # Opened at 00:30 in Hanoi on 14/8 (still the 13th in UTC); closes at the end of 17/9 in Hanoi.
    opened = datetime(2026, 8, 13, 17, 30, tzinfo=UTC)
    _set(app, cid, opens_at=opened, opened_at=opened, closes_at=local_day_end(date(2026, 9, 17)))
    assert "Thời gian lấy ý kiến: từ ngày 14/8/2026 đến hết ngày 17/9/2026." in _notice(client, cid)

    _set(app, cid, closes_at=local_day_start(date(2026, 9, 17)))  # the 17th itself is excluded
    assert "đến hết ngày 16/9/2026." in _notice(client, cid)


def test_an_open_notice_says_where_to_read_the_draft_and_how_to_take_part(client, make, contacts):
    cid = make.consultation("open")
    text = _notice(client, cid)
    url = f"http://localhost/consultations/{cid}"
    assert f"Trên Cổng Góp ý tại địa chỉ {url} (quét mã QR" in text
    assert f"Tại trụ sở Ủy ban nhân dân phường, {ADDRESS}, trong giờ làm việc: {HOURS}." in text
    assert "Hình thức góp ý:" in text
    assert f"Gọi đường dây nóng: {PHONE};" in text
    assert "Phát biểu tại cuộc họp của thôn, tổ dân phố;" in text, "no meeting planned yet"
    assert "tham gia ý kiến./." in text


def test_the_meetings_planned_are_listed_one_per_line(app, client, make):
    cid = make.consultation("open")
    _set(app, cid, meetings=MEETINGS)
    html = client.get(f"/consultations/{cid}/notice").get_data(as_text=True)
    meetings = re.search(r'<ul class="notice-meetings">(.*?)</ul>', html, re.S).group(1)
    assert re.findall(r"<li>(.*?)</li>", meetings) == [
        "08:00 ngày 20/8/2026: hội nghị tại nhà văn hóa Tổ dân phố số 1",
        "14:00 ngày 22/8/2026: đối thoại tại hội trường Ủy ban nhân dân phường",
    ]


def test_a_notice_without_contacts_still_says_where_to_go(client, make):
    cid = make.consultation("open")
    text = _notice(client, cid)
    assert "Tại trụ sở Ủy ban nhân dân phường, trong giờ hành chính." in text
    assert "đường dây nóng" not in text, "no number to print"


def test_a_closed_notice_takes_no_more_opinions(app, client, make, contacts):
    cid = make.consultation("closed")
    _set(app, cid, meetings=MEETINGS)
    text = _notice(client, cid)
    assert "đã kết thúc" in text
    assert "không tiếp nhận thêm ý kiến đối với dự thảo này" in text
    assert f"{ADDRESS}, trong giờ làm việc: {HOURS}" in text, "the draft can still be read"
    for invitation in (
        "Hình thức góp ý",
        "đường dây nóng",
        PHONE,
        "tham gia ý kiến",
        "hội nghị tại",
    ):
        assert invitation not in text, invitation


@pytest.mark.postgres
def test_a_concluded_notice_announces_the_record_and_where_to_read_it(
    app, client, make, world, contacts
):
    from auth.models import User
    from consultations.models import Outcome
    from consultations.record import publish_record
    from moderation.services import respond

    cid = make.consultation("closed")
    make.opinion(cid)
    with app.test_request_context():
        moderator = db.session.get(User, world.ids["moderator"])
        ops = list(db.session.scalars(sa.select(Opinion).where(Opinion.consultation_id == cid)))
        respond(ops, by=moderator, outcome=Outcome.noted, explanation="Ghi nhận")
        publish_record(
            db.session.get(Consultation, cid),
            by=moderator,
            conclusion="Thống nhất.",
            signer_name="Nguyễn Văn A",
            signer_title="CHỦ TỊCH",
        )
        db.session.commit()
    html = client.get(f"/consultations/{cid}/notice").get_data(as_text=True)
    text = _text(html)
    record = f"http://localhost/consultations/{cid}/record"
    published = datetime.now(LOCAL_TZ).date()
    assert (
        f"ngày {published.day}/{published.month}/{published.year}, Ủy ban nhân dân phường đã công bố Báo cáo tổng hợp, tiếp thu, giải trình ý kiến của Nhân dân (1 ý kiến)"
        in text
    )
    assert f"Trên Cổng Góp ý tại địa chỉ {record} (quét mã QR" in text
    assert f'd="{_qr_path(record)}"' in html, "the code opens the record"
    assert "không tiếp nhận thêm ý kiến" in text
    for invitation in ("Hình thức góp ý", "đường dây nóng", PHONE, "tham gia ý kiến"):
        assert invitation not in text, invitation


def test_the_qr_code_is_the_address_of_the_consultation(app, client, make):
    cid = make.consultation("open")
    app.config["BASE_URL"] = "https://gopy.example.vn/"
    html = client.get(f"/consultations/{cid}/notice").get_data(as_text=True)
    url = f"https://gopy.example.vn/consultations/{cid}"
    assert f'aria-label="QR code of the address {url}"' in html
    assert f'<span class="notice-url">{url}</span>' in html
    assert f'd="{_qr_path(url)}"' in html, "inline SVG of exactly that address"
    assert "<img" not in html.split('<article class="notice')[1], "no image file to fetch"


def test_the_chrome_is_in_the_readers_language_and_the_notice_in_vietnamese(app, client, make):
    cid = make.consultation("open")
    app.config["BABEL_DEFAULT_LOCALE"] = "en"
    html = client.get(f"/consultations/{cid}/notice").get_data(as_text=True)
    assert f'href="/consultations/{cid}/notice.pdf" download>Download the notice (PDF)</a>' in html
    assert '<article class="notice" lang="vi"' in html
    assert "THÔNG BÁO" in html

    app.config["BABEL_DEFAULT_LOCALE"] = "vi"
    html = client.get(f"/consultations/{cid}/notice").get_data(as_text=True)
    assert '<html lang="vi">' in html
    assert "Tải thông báo (PDF)" in html
    assert "Download the notice" not in html


@pytest.mark.parametrize("path", ["notice", "notice.pdf"])
def test_a_draft_notice_is_for_the_officials_of_its_locality(client, auth, world, make, path):
    cid = make.consultation("draft")
    assert client.get(f"/consultations/{cid}/{path}").status_code == 404
    for who, expected in (
        ("resident", 404),
        ("official_other", 404),
        ("moderator", 404),
        ("official", 200),
    ):
        auth.login(world.email(who))
        response = client.get(f"/consultations/{cid}/{path}")
        assert response.status_code == expected, who
        if expected == 200 and path == "notice.pdf":
            assert response.headers["Cache-Control"] == "private, no-store"
        auth.logout()


def test_an_unknown_consultation_has_no_notice(client):
    for path in ("notice", "notice.pdf"):
        assert client.get(f"/consultations/999999/{path}").status_code == 404
        assert client.get(f"/consultations/0/{path}").status_code == 404


def _poppler(tool: str, pdf: bytes, tmp_path, *args: str) -> str:
    """Run a poppler tool (Debian's poppler-utils, installed by .ci/run) over ``pdf``."""
    path = tmp_path / f"{tool}.pdf"
    path.write_bytes(pdf)
    command = [tool, *args, str(path), "-"] if tool == "pdftotext" else [tool, str(path)]
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout


def _fonts(pdf: bytes, tmp_path) -> list[tuple[str, str]]:
    """(name, embedded) of every font ``pdffonts`` lists (after its header and rule)."""
    rows = []
    for line in _poppler("pdffonts", pdf, tmp_path).splitlines()[2:]:
        parts = line.split()
        rows.append((parts[0], next(p for p in parts if p in ("yes", "no"))))
    return rows


@pytest.mark.postgres
def test_the_notice_pdf_is_one_a4_page_in_the_shipped_typeface(
    app, client, make, contacts, tmp_path
):
    cid = make.consultation("open")
    _set(
        app,
        cid,
        meetings=MEETINGS,
        summary="Tóm tắt: " + "quy định về lộ giới, cấp phép xây dựng. " * 20,
    )
    response = client.get(f"/consultations/{cid}/notice.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "public, max-age=300"
    pdf = response.data

    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) == 1, "one sheet for the board, even with a long summary and two meetings"
    width, height = (round(float(v) * 25.4 / 72) for v in pages[0].mediabox[2:])
    assert (width, height) == (210, 297), "A4"
    fonts = _fonts(pdf, tmp_path)
    assert fonts
    for name, embedded in fonts:
        assert re.fullmatch(r"[A-Z]{6}\+Gopy-Serif(-Bold)?(-Italic)?", name), name
        assert embedded == "yes", name
    text = " ".join(_poppler("pdftotext", pdf, tmp_path, "-enc", "UTF-8").split())
    for expected in (
        "THÔNG BÁO",
        "lấy ý kiến Nhân dân",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        ADDRESS,
        PHONE,
        "TM. ỦY BAN NHÂN DÂN",
        "hội nghị tại nhà văn hóa Tổ dân phố số 1",
    ):
        assert expected in text, expected


def test_the_notice_page_links_its_pdf_and_the_consultation_its_notice(client, make):
    cid = make.consultation("open")
    html = client.get(f"/consultations/{cid}").get_data(as_text=True)
    assert f'href="/consultations/{cid}/notice"' in html
    assert '<meta property="og:type" content="article">' in html
    assert f'<meta property="og:url" content="http://localhost/consultations/{cid}">' in html
    assert f'<meta property="og:title" content="{TITLE}">' in html
