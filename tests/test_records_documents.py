"""The record's DOCX and PDF as a commune chairman signs them (Decree 30/2020/NĐ-CP): trích yếu,
"Căn cứ" lines, figures with zeros and percentages, opinions in full under their articles, the
outcome said once, page numbers from page 2, the signature block and "Nơi nhận"."""

from __future__ import annotations

import io
import re
import subprocess
import zipfile
from datetime import timedelta

import docx
import pytest
import sqlalchemy as sa
from docx.oxml.ns import qn
from pypdf import PdfReader

from consultations.models import Consultation, Opinion, Record, Response, Status
from core.extensions import db
from core.timeutil import utcnow

#: A 1,000-character opinion, its sentences numbered so a cut shows in any text extraction.
LONG = " ".join(
    f"[{i:02d}] Đề nghị làm rõ lộ giới ngõ, kinh phí và thời gian." for i in range(1, 22)
)[:1000]
LEGAL_BASIS = "Luật Thực hiện dân chủ ở cơ sở ngày 10 tháng 11 năm 2022\nCăn cứ Luật Đất đai ngày 18 tháng 01 năm 2024;"


def _answer(cid, ops, outcome, explanation, summary=None):
    response = Response(
        consultation_id=cid, outcome=outcome, explanation=explanation, summary=summary
    )
    db.session.add(response)
    db.session.flush()
    for oid in ops:
        db.session.get(Opinion, oid).response_id = response.id


def _closed(app, make, title=None):
    cid = make.consultation("open", **({"title": title} if title else {}))
    ids = {
        "long": make.opinion(cid, body=LONG, section_position=4),
        "summed": make.opinion(
            cid,
            body="Ý kiến dài về phạm vi điều chỉnh của quy định.",
            stance="suggest",
            section_position=2,
        ),
        "whole": make.opinion(cid, who="official", body="Đồng ý toàn bộ.", channel="paper"),
    }
    with app.app_context():
        _answer(cid, [ids["long"]], "accepted", "Bổ sung lộ giới 4 m.")
        _answer(
            cid,
            [ids["summed"]],
            "partly_accepted",
            "Tiếp thu một phần, sửa khoản 2.",
            summary="Đề nghị thu hẹp phạm vi điều chỉnh.",
        )
        _answer(cid, [ids["whole"]], "noted", "Ủy ban ghi nhận.")
        c = db.session.get(Consultation, cid)
        c.legal_basis, c.meetings = (
            LEGAL_BASIS,
            "Hội nghị cử tri tổ dân phố số 1\n- Cuộc họp tổ dân phố số 2.",
        )
        c.stored_status, c.closes_at = Status.closed, utcnow() - timedelta(seconds=1)
        db.session.commit()
        numbers = {k: db.session.get(Opinion, v).tracking_number for k, v in ids.items()}
    return cid, numbers


@pytest.fixture
def concluded(app, client, auth, make):
    cid, numbers = _closed(app, make)
    auth.login("moderator@example.vn")
    response = client.post(
        f"/consultations/{cid}/record/publish",
        data={
            "conclusion": "Thống nhất ban hành.",
            "signer_name": "Nguyễn Văn An",
            "signer_title": "Chủ tịch",
        },
    )
    assert response.status_code == 302
    auth.logout()
    return cid, numbers


def _tables(document):
    figures = next(t for t in document.tables if t.rows[0].cells[0].text == "Nội dung")
    opinions = next(t for t in document.tables if t.rows[0].cells[0].text == "STT")
    return figures, opinions


@pytest.mark.postgres
def test_record_docx_reads_as_the_commune_report(app, client, concluded):
    cid, numbers = concluded
    blob = client.get(f"/consultations/{cid}/record.docx").get_data()
    document = docx.Document(io.BytesIO(blob))
    texts = [p.text for p in document.paragraphs]
    assert (
        "Tổng hợp, tiếp thu, giải trình ý kiến của Nhân dân đối với dự thảo Quy định quản lý đất đai phường Ba Đình"
        in texts
    )
    basis = [p for p in document.paragraphs if p.text.startswith("Căn cứ")]
    assert [p.text for p in basis] == [
        "Căn cứ Luật Thực hiện dân chủ ở cơ sở ngày 10 tháng 11 năm 2022;",
        "Căn cứ Luật Đất đai ngày 18 tháng 01 năm 2024;",
    ]
    assert all(r.italic for p in basis for r in p.runs)
    for line in (
        "- Đăng tải toàn văn dự thảo trên Cổng Góp ý để Nhân dân đọc và góp ý trực tuyến;",
        "- Niêm yết công khai tại trụ sở Ủy ban nhân dân phường Ba Đình và tại nhà văn hóa các thôn, tổ dân phố;",
        "- Tổ chức hội nghị cử tri tổ dân phố số 1;",
        "- Tổ chức cuộc họp tổ dân phố số 2;",
    ):
        assert line in texts

    figures, opinions = _tables(document)
    counts = {r.cells[0].text: [c.text for c in r.cells[1:]] for r in figures.rows[1:]}
    assert counts["Số người tham gia góp ý"] == [
        "2",
        "",
    ]  # the resident twice, the paper contributor
    assert counts["Tán thành"] == ["2", "66,7"]
    assert counts["Không tán thành"] == ["0", "0,0"]  # a zero row, in the site's words
    assert counts["Góp ý, đề xuất"] == ["1", "33,3"]
    assert counts["Trực tuyến (Cổng Góp ý)"] == ["2", "66,7"]
    assert counts["Phiếu lấy ý kiến hộ gia đình"] == ["1", "33,3"]
    for channel in (
        "Hội nghị / cuộc họp",
        "Hội nghị đối thoại",
        "Hộp thư góp ý / đường dây nóng",
        "Ban công tác Mặt trận",
        "Mạng xã hội (Zalo)",
    ):
        assert counts[channel] == ["0", "0,0"]

    cells = [[c.text for c in r.cells] for r in opinions.rows[1:]]
    headings = [row[0] for row in cells if len(set(row)) == 1]
    assert headings == [
        "Toàn bộ dự thảo",
        "Điều 1. Phạm vi điều chỉnh",
        "Điều 3. Lộ giới đường ngõ",
    ]
    rows = {row[1]: row for row in cells if len(set(row)) > 1}
    assert rows[numbers["long"]][2] == LONG  # never cut
    assert rows[numbers["long"]][4] == "Tiếp thu. Bổ sung lộ giới 4 m."
    assert (
        rows[numbers["summed"]][2] == "Đề nghị thu hẹp phạm vi điều chỉnh."
    )  # the moderator's summary
    assert (
        rows[numbers["summed"]][4] == "Tiếp thu một phần, sửa khoản 2."
    )  # not "Tiếp thu một phần. Tiếp thu…"
    assert rows[numbers["whole"]][4] == "Ghi nhận. Ủy ban ghi nhận."
    widths = [col.w for col in opinions._tbl.tblGrid.gridCol_lst]
    assert widths[-1] == max(widths)  # the answer, the widest column

    left, right = document.tables[-1].rows[0].cells
    assert [p.text for p in left.paragraphs] == [
        "Nơi nhận:",
        "- Thường trực HĐND phường Ba Đình;",
        "- Ủy ban MTTQ Việt Nam phường Ba Đình;",
        "- Tổ dân phố số 1;",
        "- Tổ dân phố số 2;",
        "- Tổ dân phố số 3;",
        "- Cổng Góp ý;",
        "- Lưu: VT, VP.",
    ]
    assert [p.text for p in right.paragraphs if p.text] == [
        "TM. ỦY BAN NHÂN DÂN",
        "CHỦ TỊCH",
        "(Ký tên, đóng dấu)",
        "Nguyễn Văn An",
    ]


@pytest.mark.postgres
def test_record_docx_numbers_pages_rules_and_properties(app, client, concluded):
    cid, _ = concluded
    blob = client.get(f"/consultations/{cid}/record.docx").get_data()
    document = docx.Document(io.BytesIO(blob))
    section = document.sections[0]
    assert section._sectPr.find(qn("w:titlePg")) is not None  # the first page has no number
    assert not section.first_page_header.paragraphs[0].text
    header = section.header._element
    assert [t.text for t in header.iter(qn("w:instrText"))] == [" PAGE "]
    assert section.header.paragraphs[0].alignment == 1  # centred

    # The rules under the issuing body and the motto: borders of their own, no underlined text.
    masthead = document.tables[0]
    for cell in masthead.rows[0].cells:
        last = cell.paragraphs[-1]
        assert last._p.pPr.find(qn("w:pBdr") + "/" + qn("w:top")) is not None
        assert not any(r.underline for p in cell.paragraphs for r in p.runs)

    props = document.core_properties
    with app.app_context():
        published = db.session.scalar(
            sa.select(Record.published_at).where(Record.consultation_id == cid)
        )
    assert props.title.startswith(
        "Báo cáo tổng hợp, tiếp thu, giải trình ý kiến của Nhân dân đối với dự thảo"
    )
    assert props.author == props.last_modified_by == "Ủy ban nhân dân phường Ba Đình"
    assert props.created.replace(tzinfo=None) == published.replace(tzinfo=None)
    assert props.language == "vi-VN"
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        meta = z.read("docProps/core.xml").decode() + z.read("docProps/app.xml").decode()
        assert "docProps/thumbnail.jpeg" not in z.namelist()
    for default in ("python-docx", "2013", "Microsoft"):
        assert default not in meta


def _page_text(pdf: bytes, tmp_path, page: int) -> str:
    path = tmp_path / "record.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", "-f", str(page), "-l", str(page), str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


@pytest.mark.postgres
def test_record_pdf_numbers_pages_from_the_second_and_prints_everything(
    client, concluded, tmp_path
):
    cid, _numbers = concluded
    pdf = client.get(f"/consultations/{cid}/record.pdf").get_data()
    first, second = _page_text(pdf, tmp_path, 1), _page_text(pdf, tmp_path, 2)
    assert not re.fullmatch(r"\s*\d+", first.strip().splitlines()[0])  # no number on page 1
    assert second.strip().splitlines()[0].strip() == "2"  # at the top of page 2, centred
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    flat = " ".join(" ".join(_page_text(pdf, tmp_path, p) for p in range(1, pages + 1)).split())
    assert "đối với dự thảo Quy định quản lý đất đai phường Ba Đình" in flat
    assert "Căn cứ Luật Thực hiện dân chủ ở cơ sở ngày 10 tháng 11 năm 2022;" in flat
    assert all(f"[{i:02d}]" in flat for i in range(1, 19))  # every sentence of the long opinion
    assert "Đề nghị thu hẹp" in flat  # the summary (its cell wraps: the words come in lines)
    assert "Ý kiến dài về" not in flat
    assert "Tiếp thu. Bổ sung" in flat
    for line in ("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Nguyễn Văn An", "Lưu: VT, VP."):
        assert line in flat


def test_a_title_beginning_with_du_thao_is_not_said_twice(app, client, auth, make):
    cid, _ = _closed(app, make, title="Dự thảo Kế hoạch nạo vét kênh mương")
    auth.login("official@example.vn")
    document = docx.Document(io.BytesIO(client.get(f"/consultations/{cid}/record.docx").get_data()))
    texts = [p.text for p in document.paragraphs]
    assert (
        "Tổng hợp, tiếp thu, giải trình ý kiến của Nhân dân đối với dự thảo Kế hoạch nạo vét kênh mương"
        in texts
    )
    assert not any("dự thảo Dự thảo" in t for t in texts)
    pdf = client.get(f"/consultations/{cid}/record.pdf").get_data()
    flat = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "đối với dự thảo Kế hoạch nạo vét kênh mương" in flat
    assert "dự thảo Dự thảo" not in flat


def test_staff_export_has_the_record_widths_and_every_text(app, client, auth, make):
    cid, numbers = _closed(app, make)
    auth.login("reviewer@example.vn")
    document = docx.Document(io.BytesIO(client.get(f"/consultations/{cid}/export.docx").get_data()))
    _, opinions = _tables(document)
    rows = {
        r.cells[1].text: [c.text for c in r.cells]
        for r in opinions.rows[1:]
        if len(r._tr.tc_lst) > 1
    }
    assert (
        rows[numbers["summed"]][3] == "Ý kiến dài về phạm vi điều chỉnh của quy định."
    )  # in full, not the summary
    assert rows[numbers["long"]][3] == LONG
    assert re.fullmatch(
        r"\d{1,2}/\d{1,2}/\d{4}\n\d\d:\d\d", rows[numbers["long"]][2]
    )  # the date on a line of its own
    grid = [col.w for col in opinions._tbl.tblGrid.gridCol_lst]
    assert sum(grid) == pytest.approx(docx.shared.Mm(252), rel=0.01)  # the landscape page's width
    assert all(
        r._tr.trPr is None or r._tr.trPr.find(qn("w:cantSplit")) is None
        for r in opinions.rows[1:]
        if len(r._tr.tc_lst) > 1
    )  # long rows may split across pages
