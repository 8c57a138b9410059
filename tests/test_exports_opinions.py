"""Exports of every opinion (CSV, XLSX, JSON) for reviewers, moderators and officials."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta

import openpyxl
import pytest

from consultations.exports import COLUMNS
from consultations.models import Consultation, Opinion, OpinionStatus, Response, Status
from extensions import db
from timeutil import utcnow

FORMATS = ["csv", "xlsx", "json", "docx", "pdf"]


@pytest.fixture
def consultation(app, make):
    """A closed consultation: an online opinion on an article, a hidden one, a withdrawn one,
    a paper ballot entered by an official, and one starting like a spreadsheet formula."""
    cid = make.consultation("open")
    ids = {
        "online": make.opinion(cid, body="Đồng ý mở rộng ngõ lên 4 mét.", section_position=3),
        "hidden": make.opinion(cid, body="Nội dung xúc phạm bị ẩn.", stance="disagree"),
        "withdrawn": make.opinion(cid, who="admin", body="Ý kiến đã rút.", stance="suggest"),
        "paper": make.opinion(cid, who="official", body="Phiếu giấy: đề nghị giữ nguyên.",
                              channel="paper", section_position=1),
        "formula": make.opinion(cid, body="=HYPERLINK(\"http://evil\")", stance="suggest"),
    }
    with app.app_context():
        hidden = db.session.get(Opinion, ids["hidden"])
        hidden.status, hidden.hidden_reason, hidden.hidden_at = OpinionStatus.hidden, "Xúc phạm", utcnow()
        withdrawn = db.session.get(Opinion, ids["withdrawn"])
        withdrawn.status, withdrawn.withdrawn_at = OpinionStatus.withdrawn, utcnow()
        response = Response(consultation_id=cid, outcome="partly_accepted", explanation="Tiếp thu một phần.")
        db.session.add(response)
        db.session.flush()
        db.session.get(Opinion, ids["online"]).response_id = response.id
        c = db.session.get(Consultation, cid)
        c.stored_status, c.closes_at = Status.closed, utcnow() - timedelta(seconds=1)
        db.session.commit()
        numbers = {k: db.session.get(Opinion, v).tracking_number for k, v in ids.items()}
    return cid, numbers


def fetch(client, cid, fmt):
    return client.get(f"/consultations/{cid}/export.{fmt}")


# --- who may export ------------------------------------------------------------------------------------

def test_anonymous_is_sent_to_login(client, consultation):
    cid, _ = consultation
    for fmt in FORMATS:
        response = fetch(client, cid, fmt)
        assert response.status_code == 302
        assert "/auth/login" in response.headers["Location"]


def test_others_are_refused(client, auth, consultation):
    cid, _ = consultation
    for who in ("resident", "official_other", "unverified"):
        auth.login(f"{who}@example.vn")
        for fmt in FORMATS:
            assert fetch(client, cid, fmt).status_code == 403, (who, fmt)
        auth.logout()


def test_staff_of_the_locality_may_export(client, auth, consultation):
    cid, _ = consultation
    for who in ("reviewer", "moderator", "official"):
        auth.login(f"{who}@example.vn")
        response = fetch(client, cid, "csv")
        assert response.status_code == 200, who
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.headers["Cache-Control"] == "private, no-store"
        auth.logout()


def test_unknown_consultation_is_404(client, auth, world):
    auth.login("reviewer@example.vn")
    assert client.get("/consultations/424242/export.csv").status_code == 404


# --- the files, parsed back ----------------------------------------------------------------------------

@pytest.mark.postgres
def test_csv_has_a_bom_every_opinion_and_no_email(client, auth, world, consultation):
    cid, numbers = consultation
    auth.login("reviewer@example.vn")
    response = fetch(client, cid, "csv")
    assert response.mimetype == "text/csv"
    assert response.is_streamed
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert list(rows[0].keys()) == COLUMNS
    by_number = {r["tracking_number"]: r for r in rows}
    assert set(by_number) == set(numbers.values())

    online = by_number[numbers["online"]]
    assert online["section_position"] == "3"  # position 1 is the preamble
    assert online["section_heading"] == "Điều 2. Đối tượng áp dụng"
    assert online["status"] == "published"
    assert online["channel"] == "online"
    assert online["contributor"] == "Người dân resident"
    assert online["locality_code"] == "00004-T1"
    assert online["response_outcome"] == "partly_accepted"
    assert online["response_explanation"] == "Tiếp thu một phần."
    assert online["created_at"].endswith("+07:00")

    hidden = by_number[numbers["hidden"]]
    assert hidden["status"] == "hidden"
    assert hidden["hidden_reason"] == "Xúc phạm"
    assert hidden["body"] == "Nội dung xúc phạm bị ẩn."
    withdrawn = by_number[numbers["withdrawn"]]
    assert withdrawn["status"] == "withdrawn"
    assert withdrawn["withdrawn_at"].endswith("+07:00")
    paper = by_number[numbers["paper"]]
    assert paper["channel"] == "paper"
    assert paper["contributor"] == "Trần Thị B"
    # a cell a spreadsheet would run as a formula is neutralised
    assert by_number[numbers["formula"]]["body"].startswith("'=")

    text = raw.decode("utf-8-sig")
    for who in ("resident", "admin", "official"):
        assert world.email(who) not in text
    assert "Nguyễn Văn" not in text  # legal names are private


@pytest.mark.postgres
def test_xlsx_has_a_frozen_filtered_header_and_every_opinion(client, auth, world, consultation):
    cid, numbers = consultation
    auth.login("moderator@example.vn")
    with fetch(client, cid, "xlsx") as response:  # closing it closes (and deletes) the temp file
        assert response.status_code == 200
        assert response.mimetype.endswith("spreadsheetml.sheet")
        wb = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    ws = wb.active
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == COLUMNS
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:O{len(numbers) + 1}"
    assert ws.column_dimensions["H"].width == 80
    by_number = {r[0]: dict(zip(COLUMNS, r, strict=True)) for r in rows[1:]}
    assert set(by_number) == set(numbers.values())
    assert by_number[numbers["hidden"]]["status"] == "hidden"
    # stored as text, not as a formula
    assert by_number[numbers["formula"]]["body"] == '=HYPERLINK("http://evil")'
    assert ws.cell(row=1 + list(by_number).index(numbers["formula"]) + 1, column=8).data_type == "s"
    flat = " ".join(str(v) for r in rows for v in r if v is not None)
    assert world.email("resident") not in flat


@pytest.mark.postgres
def test_json_is_an_array_of_every_opinion(client, auth, world, consultation):
    cid, numbers = consultation
    auth.login("official@example.vn")
    response = fetch(client, cid, "json")
    assert response.mimetype == "application/json"
    assert response.is_streamed
    items = json.loads(response.get_data(as_text=True))
    assert [set(i) for i in items] == [set(COLUMNS)] * len(numbers)
    assert {i["tracking_number"] for i in items} == set(numbers.values())
    withdrawn = next(i for i in items if i["tracking_number"] == numbers["withdrawn"])
    assert withdrawn["status"] == "withdrawn"
    assert withdrawn["body"] == "Ý kiến đã rút."
    assert world.email("resident") not in response.get_data(as_text=True)


def test_csv_keeps_quotes_commas_and_line_breaks(client, auth, make):
    """Each text comes back whole from a standard CSV reader, however it is punctuated."""
    cid = make.consultation("open")
    bodies = [
        'Đề nghị "mở rộng" ngõ, không "thu hẹp".',
        "Dòng một,\ndòng hai;\n\ndòng ba.",
        'Chỉ một dấu " lẻ',
        "Thêm, nhiều, dấu, phẩy,,,",
    ]
    for body in bodies:
        make.opinion(cid, body=body)
    auth.login("reviewer@example.vn")
    raw = fetch(client, cid, "csv").get_data().decode("utf-8-sig")
    assert raw.endswith("\r\n")
    rows = list(csv.DictReader(io.StringIO(raw, newline="")))
    assert sorted(r["body"] for r in rows) == sorted(bodies)
    assert all(len(r) == len(COLUMNS) and None not in r for r in rows)


def test_an_empty_consultation_exports_just_the_header(client, auth, make):
    cid = make.consultation("open")
    auth.login("reviewer@example.vn")
    assert json.loads(fetch(client, cid, "json").get_data(as_text=True)) == []
    rows = list(csv.reader(io.StringIO(fetch(client, cid, "csv").get_data().decode("utf-8-sig"))))
    assert rows == [COLUMNS]


# --- the command line ----------------------------------------------------------------------------------

@pytest.mark.postgres
def test_export_command_writes_the_same_files(runner, consultation, tmp_path):
    cid, numbers = consultation
    for fmt in ("csv", "xlsx", "json"):
        out = tmp_path / f"out.{fmt}"
        result = runner.invoke(args=["export", str(cid), "--format", fmt, "--output", str(out)])
        assert result.exit_code == 0, result.output
        assert "5 opinions written" in result.stderr
        if fmt == "csv":
            rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
            found = {r["tracking_number"] for r in rows}
        elif fmt == "json":
            found = {i["tracking_number"] for i in json.loads(out.read_text(encoding="utf-8"))}
        else:
            ws = openpyxl.load_workbook(out).active
            found = {r[0] for r in ws.iter_rows(min_row=2, values_only=True)}
        assert found == set(numbers.values()), fmt


def test_export_command_refuses_an_unknown_consultation(runner, world, tmp_path):
    result = runner.invoke(args=["export", "999", "--format", "csv", "--output", str(tmp_path / "x.csv")])
    assert result.exit_code != 0
    assert "does not exist" in result.output


# --- the XLSX, written as SpreadsheetML by hand ------------------------------------------------------

class _Unseekable:
    """A file that can only be written to, like a pipe or a streamed response."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, b) -> int:
        self.data += b
        return len(b)

    def flush(self) -> None:
        pass


TRICKY_BODIES = {
    "formula": ("=HYPERLINK(\"http://evil\")", "=HYPERLINK(\"http://evil\")"),
    "plus": ("+84 912 345 678", "+84 912 345 678"),
    "control": ("Ký tự\x01 điều khiển\x0b và \ufffe ở đây\x1f", "Ký tự điều khiển và  ở đây"),
    "lines": ("Dòng 1\nDòng 2\r\nDòng 3\tcột", "Dòng 1\nDòng 2\r\nDòng 3\tcột"),
    "markup": ("  a < b && c > d </t></is> ]]> ", "  a < b && c > d </t></is> ]]> "),
    "emoji": ("Đồng ý 👍🏽 𝕏", "Đồng ý 👍🏽 𝕏"),
}


def test_xlsx_cells_come_back_with_their_types(app, make):
    from datetime import datetime

    from openpyxl.utils.datetime import to_excel

    from consultations import exports
    from timeutil import to_local

    cid = make.consultation("open")
    ids = {k: make.opinion(cid, body="tạm", section_position=3 if k == "lines" else None)
           for k in TRICKY_BODIES}
    with app.app_context():
        for key, oid in ids.items():
            db.session.get(Opinion, oid).body = TRICKY_BODIES[key][0]
        edited = db.session.get(Opinion, ids["lines"])
        edited.edited_at = utcnow()
        db.session.commit()
        created = {k: to_local(db.session.get(Opinion, v).created_at).replace(tzinfo=None) for k, v in ids.items()}
        edited_at = to_local(edited.edited_at).replace(tzinfo=None)
        numbers = {db.session.get(Opinion, v).tracking_number: k for k, v in ids.items()}
        out = _Unseekable()  # zipfile writes data descriptors then
        seen = []
        exports.write_xlsx(cid, out, progress=seen.append)
    assert seen == [len(ids)]

    wb = openpyxl.load_workbook(io.BytesIO(bytes(out.data)))
    ws = wb.active
    assert ws.title == "Opinions"
    assert [c.value for c in ws[1]] == COLUMNS
    assert all(c.font.b for c in ws[1])
    assert not ws["A2"].font.b
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:O{len(ids) + 1}"
    assert [ws.column_dimensions[chr(ord("A") + i)].width for i in range(len(COLUMNS))] == exports.WIDTHS
    assert ws.max_row == len(ids) + 1

    for r in range(2, ws.max_row + 1):
        row = {name: ws.cell(row=r, column=i + 1) for i, name in enumerate(COLUMNS)}
        key = numbers[row["tracking_number"].value]
        body = row["body"]
        assert body.value == TRICKY_BODIES[key][1], key
        assert body.data_type == "s", key  # text, never a formula
        when = row["created_at"].value
        assert isinstance(when, datetime)
        assert when.tzinfo is None
        assert abs(when - created[key]).total_seconds() < 0.001  # Vietnam's wall time
        assert row["created_at"].number_format == "yyyy-mm-dd hh:mm:ss"
        assert row["withdrawn_at"].value is None
        assert row["hidden_reason"].value is None
        assert row["status"].value == "published"
        if key == "lines":
            assert row["section_position"].value == 3
            assert row["section_position"].data_type == "n"
            assert row["section_heading"].value == "Điều 2. Đối tượng áp dụng"
            assert abs(row["edited_at"].value - edited_at).total_seconds() < 0.001
        else:
            assert row["section_position"].value is None
            assert row["edited_at"].value is None

    # read-only mode streams the same rows
    ro = openpyxl.load_workbook(io.BytesIO(bytes(out.data)), read_only=True).active
    rows = list(ro.iter_rows(values_only=True))
    assert len(rows) == len(ids) + 1
    assert {r[7] for r in rows[1:]} == {v[1] for v in TRICKY_BODIES.values()}

    # the serial numbers are openpyxl's own (and small entries never use ZIP64 headers)
    sample = datetime(2026, 2, 5, 23, 59, 58, 765432)
    assert exports._excel_serial(sample) == to_excel(sample)
    with zipfile.ZipFile(io.BytesIO(bytes(out.data))) as z:
        assert z.testzip() is None
        assert all(i.extract_version < 45 for i in z.infolist())
        assert {"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                "xl/styles.xml", "xl/worksheets/sheet1.xml"} <= set(z.namelist())
        workbook = z.read("xl/workbook.xml").decode()
        assert f"Opinions!$A$1:$O${len(ids) + 1}</definedName>" in workbook
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        # schema order: sheetViews, cols, sheetData, autoFilter, pageMargins
        assert sheet.index("<sheetViews>") < sheet.index("<cols>") < sheet.index("<sheetData>")
        assert sheet.index("</sheetData>") < sheet.index("<autoFilter") < sheet.index("<pageMargins")
        assert "<f>" not in sheet


def test_an_empty_consultation_exports_an_xlsx_with_just_the_header(client, auth, make):
    cid = make.consultation("open")
    auth.login("reviewer@example.vn")
    with fetch(client, cid, "xlsx") as response:
        assert response.status_code == 200
        ws = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    assert [list(r) for r in ws.iter_rows(values_only=True)] == [COLUMNS]
    assert ws.auto_filter.ref == "A1:O1"
    assert ws.freeze_panes == "A2"
