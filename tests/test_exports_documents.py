"""The record as DOCX and PDF (Decree 30/2020 layout), and the staff's full DOCX/PDF export."""

from __future__ import annotations

import io
import re
import subprocess
from datetime import timedelta

import docx
import pytest
import sqlalchemy as sa
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from pypdf import PdfReader
from support import opinions_of_every_kind

from consultations.models import (
    Consultation,
    Opinion,
    Record,
    Response,
    Review,
    Status,
)
from core.extensions import db
from core.timeutil import utcnow

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"


@pytest.fixture
def closed(app, make):
    """A closed consultation whose opinions are all answered (one hidden, one withdrawn)."""
    cid, ids = opinions_of_every_kind(app, make)
    with app.app_context():
        hidden = db.session.get(Opinion, ids["hidden"])
        accepted = Response(
            consultation_id=cid, outcome="accepted", explanation="Tiếp thu, sửa Điều 3."
        )
        refused = Response(
            consultation_id=cid,
            outcome="not_accepted",
            explanation="Giữ như dự thảo vì an toàn giao thông.",
        )
        db.session.add_all([accepted, refused])
        db.session.flush()
        db.session.get(Opinion, ids["online"]).response_id = accepted.id
        db.session.get(Opinion, ids["paper"]).response_id = refused.id
        hidden.response_id = refused.id
        db.session.add(
            Review(consultation_id=cid, body="Ủy ban MTTQ phường đồng thuận với dự thảo.")
        )
        c = db.session.get(Consultation, cid)
        c.stored_status, c.closes_at = Status.closed, utcnow() - timedelta(seconds=1)
        db.session.commit()
        numbers = {k: db.session.get(Opinion, v).tracking_number for k, v in ids.items()}
    return cid, numbers


@pytest.fixture
def concluded(app, client, auth, closed):
    cid, numbers = closed
    auth.login("moderator@example.vn")
    response = client.post(
        f"/consultations/{cid}/record/publish",
        data={
            "conclusion": "Thống nhất ban hành quy định.",
            "signer_name": "Nguyễn Văn An",
            "signer_title": "Chủ tịch",
        },
    )
    assert response.status_code == 302
    auth.logout()
    with app.app_context():
        content_hash = db.session.scalar(
            sa.select(Record.content_hash).where(Record.consultation_id == cid)
        )
    return cid, numbers, content_hash


def paragraphs(document) -> list:
    return list(document.paragraphs)


def find(document, text):
    return next(p for p in document.paragraphs if p.text == text)


def opinion_rows(table) -> list:
    """The rows of opinions, without the header and the articles' heading rows (one cell)."""
    return [r for r in table.rows[1:] if len(r._tr.tc_lst) > 1]


def cell_paragraph(table, text):
    for row in table.rows:
        for cell in row.cells:
            for p in cell.paragraphs:
                if p.text == text:
                    return p
    raise AssertionError(f"{text!r} not in the table")


@pytest.mark.postgres
def test_record_docx_is_an_administrative_report(client, concluded):
    cid, numbers, content_hash = concluded
    response = client.get(f"/consultations/{cid}/record.docx")  # public once concluded
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Content-Disposition"].endswith(".docx")
    document = docx.Document(io.BytesIO(response.get_data()))

    # Normal style: Times New Roman for every script, 13-14 pt
    normal = document.styles["Normal"]
    assert normal.font.name == "Times New Roman"
    assert 13 <= normal.font.size.pt <= 14
    rfonts = normal.element.rPr.find(qn("w:rFonts"))
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        assert rfonts.get(qn(attr)) == "Times New Roman"

    # the two-column header: issuing body left, national name and motto right
    header = document.tables[0]
    assert len(header.columns) == 2
    left = header.rows[0].cells[0].text
    assert "ỦY BAN NHÂN DÂN" in left
    assert "PHƯỜNG BA ĐÌNH" in left
    assert all(r.bold for r in cell_paragraph(header, "PHƯỜNG BA ĐÌNH").runs)
    assert cell_paragraph(header, "Số: …/BC-UBND")
    nation = cell_paragraph(header, NATION)
    assert all(r.bold for r in nation.runs)
    motto = cell_paragraph(header, MOTTO)
    assert all(r.bold and not r.underline for r in motto.runs)  # a rule below it, clear of "ạ"
    date_line = header.rows[1].cells[1].paragraphs[0]
    assert re.fullmatch(r"Ba Đình, ngày \d\d tháng \d{1,2} năm \d{4}", date_line.text)
    assert all(r.italic for r in date_line.runs)
    assert header._tbl.tblPr.find(qn("w:tblBorders")) is not None  # borderless

    title = find(document, "BÁO CÁO")
    assert title.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert all(r.bold for r in title.runs)
    subtitle = find(
        document,
        "Tổng hợp, tiếp thu, giải trình ý kiến của Nhân dân đối với dự thảo "
        "Quy định quản lý đất đai phường Ba Đình",
    )
    assert subtitle.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert all(r.bold for r in subtitle.runs)

    text = "\n".join(p.text for p in document.paragraphs)
    for heading in (
        "Thời gian lấy ý kiến",
        "hình thức lấy ý kiến",
        "KẾT QUẢ LẤY Ý KIẾN",
        "KẾT LUẬN",
    ):
        assert heading in text
    assert "Thống nhất ban hành quy định." in text
    assert "Ủy ban MTTQ phường đồng thuận với dự thảo." in text
    assert content_hash in text

    # the table of opinions and answers: one row per opinion under its article's heading
    table = next(
        t for t in document.tables if t.rows[0].cells[0].text == "STT" and len(t.columns) == 5
    )
    assert [c.text for c in table.rows[0].cells] == [
        "STT",
        "Mã số ý kiến",
        "Nội dung ý kiến",
        "Quan điểm",
        "Tiếp thu, giải trình",
    ]
    rows = {r.cells[1].text: [c.text for c in r.cells] for r in opinion_rows(table)}
    assert set(rows) == set(numbers.values())
    assert rows[numbers["online"]][4] == "Tiếp thu, sửa Điều 3."  # the outcome said once
    assert (
        rows[numbers["paper"]][4]
        == "Không tiếp thu, giải trình. Giữ như dự thảo vì an toàn giao thông."
    )
    assert "Ngôn từ thô tục" in rows[numbers["hidden"]][2]
    assert "Lời lẽ thô tục" not in " ".join(" ".join(r) for r in rows.values())
    assert "rút lại" in rows[numbers["withdrawn"]][2]

    figures = next(t for t in document.tables if t.rows[0].cells[0].text == "Nội dung")
    assert [c.text for c in figures.rows[1].cells] == ["Tổng số ý kiến nhận được", "4", ""]

    signature = document.tables[-1]
    assert [p.text for p in signature.rows[0].cells[1].paragraphs if p.text] == [
        "TM. ỦY BAN NHÂN DÂN",
        "CHỦ TỊCH",
        "(Ký tên, đóng dấu)",
        "Nguyễn Văn An",
    ]
    assert all(r.bold for r in signature.rows[0].cells[1].paragraphs[-1].runs)


@pytest.mark.postgres
def test_record_pdf_has_the_vietnamese_text_and_the_hash(client, concluded):
    cid, numbers, content_hash = concluded
    response = client.get(f"/consultations/{cid}/record.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.get_data()))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert NATION in text
    assert MOTTO in text
    assert "ỦY BAN NHÂN DÂN" in text
    assert "BÁO CÁO" in text
    assert "Tổng hợp, tiếp thu, giải trình ý kiến" in text
    assert "Nguyễn Văn An" in text
    assert content_hash in re.sub(r"\s+", "", text)
    for number in numbers.values():
        assert number in text
    assert "Lời lẽ thô tục" not in text
    fonts = {
        str(font.get_object()["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert fonts
    # The shipped Liberation Serif 2 under the family name of consultations/pdf.py, nothing else.
    assert all(re.fullmatch(r"/[A-Z]{6}\+Gopy-Serif(-Bold)?(-Italic)?", f) for f in fonts), fonts


def test_draft_record_documents_say_they_are_drafts(client, auth, closed):
    cid, _ = closed
    auth.login("official@example.vn")
    document = docx.Document(io.BytesIO(client.get(f"/consultations/{cid}/record.docx").get_data()))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Dự thảo báo cáo, chưa công bố" in text
    assert "SHA-256" not in text
    pdf = PdfReader(io.BytesIO(client.get(f"/consultations/{cid}/record.pdf").get_data()))
    assert "chưa công bố" in pdf.pages[0].extract_text()


@pytest.mark.postgres
def test_staff_docx_and_pdf_exports_hold_every_opinion_in_full(client, auth, world, closed):
    cid, numbers = closed
    auth.login("reviewer@example.vn")
    response = client.get(f"/consultations/{cid}/export.docx")
    assert response.status_code == 200
    document = docx.Document(io.BytesIO(response.get_data()))
    section = document.sections[0]
    assert section.page_width > section.page_height  # landscape for the wide table
    table = next(t for t in document.tables if t.rows[0].cells[0].text == "STT")
    rows = {r.cells[1].text: [c.text for c in r.cells] for r in opinion_rows(table)}
    assert set(rows) == set(numbers.values())
    assert "Lời lẽ thô tục không được đăng." in rows[numbers["hidden"]][3]
    assert rows[numbers["hidden"]][6] == "Đã ẩn"
    assert rows[numbers["withdrawn"]][6] == "Đã rút lại"
    assert rows[numbers["paper"]][7] == "Trần Thị B"
    all_text = " ".join(" ".join(r) for r in rows.values())
    assert world.email("resident") not in all_text

    pdf = client.get(f"/consultations/{cid}/export.pdf")
    assert pdf.status_code == 200
    text = " ".join(
        " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.get_data())).pages).split()
    )
    assert NATION in text
    assert "BẢNG TỔNG HỢP" in text
    assert "Lời lẽ thô tục không được đăng." in text
    assert world.email("resident") not in text


@pytest.mark.parametrize("fmt", ["docx", "pdf"])
def test_export_command_writes_documents(runner, closed, tmp_path, fmt):
    cid, numbers = closed
    out = tmp_path / f"out.{fmt}"
    result = runner.invoke(args=["export", str(cid), "--format", fmt, "--output", str(out)])
    assert result.exit_code == 0, result.output
    if fmt == "docx":
        text = " ".join(
            c.text for t in docx.Document(str(out)).tables for r in t.rows for c in r.cells
        )
    else:
        text = " ".join(p.extract_text() for p in PdfReader(str(out)).pages)
    assert all(n in text for n in numbers.values())


def _poppler(tool: str, pdf: bytes, tmp_path, *args: str) -> str:
    """Run a poppler tool (Debian's poppler-utils, installed by .ci/run) over ``pdf``."""
    path = tmp_path / f"{tool}.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(
        [tool, *args, str(path), "-"] if tool == "pdftotext" else [tool, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def _fonts(pdf: bytes, tmp_path) -> list[tuple[str, str, str]]:
    """(name, embedded, subset) of every font ``pdffonts`` lists."""
    lines = _poppler("pdffonts", pdf, tmp_path).splitlines()[2:]  # a header and a rule first
    rows = []
    for line in lines:
        # name type encoding emb sub uni object ID: the name has no spaces, the flags are yes/no.
        parts = line.split()
        flags = [p for p in parts if p in ("yes", "no")]
        rows.append((parts[0], flags[0], flags[1]))
    return rows


@pytest.mark.postgres
def test_record_and_export_pdfs_embed_one_vietnamese_typeface(client, auth, concluded, tmp_path):
    """The shipped Liberation Serif 2 sets every letter: no fallback font, every font embedded,
    and the words come back whole from the text layer."""
    cid, _numbers, _ = concluded
    record = client.get(f"/consultations/{cid}/record.pdf").get_data()
    auth.login("reviewer@example.vn")
    export = client.get(f"/consultations/{cid}/export.pdf").get_data()
    for pdf in (record, export):
        fonts = _fonts(pdf, tmp_path)
        assert fonts
        for name, embedded, _subset in fonts:
            assert re.fullmatch(r"[A-Z]{6}\+Gopy-Serif(-Bold)?(-Italic)?", name), name
            assert embedded == "yes", name
        text = _poppler("pdftotext", pdf, tmp_path, "-enc", "UTF-8")
        words = set(re.findall(r"\w+", text))
        for word in ("Tổng", "hợp", "Ủy", "HÒA", "Độc", "Hạnh", "phúc", "ý", "kiến"):
            assert word in words, word
        assert "Tổng hợp" in text
        # The trích yếu names the draft: "… ý kiến của Nhân dân đối với dự thảo Quy định …".
        assert "dự thảo" in text.casefold()
