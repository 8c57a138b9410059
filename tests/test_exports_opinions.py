"""Exports of every opinion (CSV, XLSX, JSON) for reviewers, moderators and officials."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import openpyxl
import pytest

from consultations.exports import COLUMNS
from consultations.models import Consultation, Opinion, OpinionStatus, Response, Status
from core.extensions import db
from core.timeutil import utcnow

FORMATS = ["csv", "xlsx", "json", "docx", "pdf"]
#: The XLSX is read by people: its header row in the reader's language, COLUMNS's order.
HEADERS_EN = [
    "Tracking number",
    "Date received",
    "Position in the draft",
    "Article",
    "Stance",
    "Channel",
    "Status",
    "Text of the opinion",
    "Reason for hiding",
    "Contributor",
    "Locality code",
    "Outcome",
    "Explanation",
    "Last edited",
    "Withdrawn on",
    "Group of alike opinions",
]
HEADERS_VI = [
    "Mã theo dõi",
    "Ngày nhận",
    "Thứ tự trong dự thảo",
    "Điều",
    "Quan điểm",
    "Hình thức lấy ý kiến",
    "Trạng thái",
    "Nội dung ý kiến",
    "Lý do ẩn ý kiến",
    "Người góp ý",
    "Mã địa bàn",
    "Kết quả",
    "Giải trình",
    "Sửa lần cuối",
    "Ngày rút lại",
    "Nhóm ý kiến cùng nội dung",
]


@pytest.fixture
def consultation(app, make):
    """A closed consultation: an online opinion on an article, a hidden one, a withdrawn one,
    a paper ballot entered by an official, and one starting like a spreadsheet formula."""
    cid = make.consultation("open")
    ids = {
        "online": make.opinion(cid, body="Đồng ý mở rộng ngõ lên 4 mét.", section_position=3),
        "hidden": make.opinion(cid, body="Nội dung xúc phạm bị ẩn.", stance="disagree"),
        "withdrawn": make.opinion(cid, who="admin", body="Ý kiến đã rút.", stance="suggest"),
        "paper": make.opinion(
            cid,
            who="official",
            body="Phiếu giấy: đề nghị giữ nguyên.",
            channel="paper",
            section_position=1,
        ),
        "formula": make.opinion(cid, body='=HYPERLINK("http://evil")', stance="suggest"),
    }
    with app.app_context():
        hidden = db.session.get(Opinion, ids["hidden"])
        hidden.status, hidden.hidden_reason, hidden.hidden_at = (
            OpinionStatus.hidden,
            "Xúc phạm",
            utcnow(),
        )
        withdrawn = db.session.get(Opinion, ids["withdrawn"])
        withdrawn.status, withdrawn.withdrawn_at = OpinionStatus.withdrawn, utcnow()
        response = Response(
            consultation_id=cid, outcome="partly_accepted", explanation="Tiếp thu một phần."
        )
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


def _xlsx(response):
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    ws = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    rows = list(ws.iter_rows(values_only=True))
    return ws, rows[0], {r[0]: dict(zip(COLUMNS, r, strict=True)) for r in rows[1:]}


@pytest.mark.postgres
def test_xlsx_has_a_frozen_filtered_header_and_every_opinion(client, auth, world, consultation):
    cid, numbers = consultation
    auth.login("moderator@example.vn")  # reads English
    with fetch(client, cid, "xlsx") as response:  # closing it closes (and deletes) the temp file
        ws, header, by_number = _xlsx(response)
    assert list(header) == HEADERS_EN
    assert ws.title == "Opinions"
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:P{len(numbers) + 1}"
    assert set(by_number) == set(numbers.values())
    assert by_number[numbers["hidden"]]["status"] == "Hidden"
    assert by_number[numbers["hidden"]]["stance"] == "Disagree"
    assert by_number[numbers["online"]]["response_outcome"] == "Partly accepted"
    # stored as text, not as a formula
    assert by_number[numbers["formula"]]["body"] == '=HYPERLINK("http://evil")'
    assert ws.cell(row=1 + list(by_number).index(numbers["formula"]) + 1, column=8).data_type == "s"
    flat = " ".join(str(v) for r in by_number.values() for v in r.values() if v is not None)
    assert world.email("resident") not in flat


@pytest.mark.postgres
def test_xlsx_speaks_vietnamese_to_a_vietnamese_reader(client, auth, consultation):
    cid, numbers = consultation
    auth.login("reviewer@example.vn")
    client.set_cookie("lang", "vi")
    with fetch(client, cid, "xlsx") as response:
        ws, header, by_number = _xlsx(response)
    assert list(header) == HEADERS_VI
    assert ws.title == "Ý kiến"
    online, hidden, paper = (by_number[numbers[k]] for k in ("online", "hidden", "paper"))
    assert online["stance"] == "Tán thành"
    assert hidden["stance"] == "Không tán thành"
    assert by_number[numbers["withdrawn"]]["stance"] == "Góp ý, đề xuất"
    assert hidden["status"] == "Đã ẩn"
    assert online["channel"] == "Trực tuyến (Cổng Góp ý)"
    assert paper["channel"] == "Phiếu lấy ý kiến hộ gia đình"
    assert online["response_outcome"] == "Tiếp thu một phần"
    assert hidden["response_outcome"] == "Chưa trả lời"
    assert hidden["section_heading"] == "Toàn bộ dự thảo"
    assert online["section_heading"].startswith("Điều ")
    # a date a person reads, in Vietnam's time; long text wrapped, every row top-aligned
    row = 2 + list(by_number).index(numbers["online"])
    assert ws.cell(row=row, column=2).is_date
    assert ws.cell(row=row, column=2).number_format == "d/m/yyyy hh:mm"
    assert ws.cell(row=row, column=8).alignment.wrap_text
    assert ws.cell(row=row, column=13).alignment.wrap_text
    assert ws.cell(row=row, column=1).alignment.vertical == "top"
    assert ws["A1"].font.b
    assert ws.freeze_panes == "A2"
    assert ws.column_dimensions["H"].width == ws.column_dimensions["M"].width == 60
    assert ws.print_title_rows == "$1:$1"  # the header on every printed page


def test_export_command_writes_the_xlsx_in_vietnamese_by_default(
    app, runner, consultation, tmp_path
):
    cid, _numbers = consultation
    app.config["BABEL_DEFAULT_LOCALE"] = "vi"  # the product's default (the suite reads English)
    out = tmp_path / "y-kien.xlsx"
    result = runner.invoke(args=["export", str(cid), "--format", "xlsx", "--output", str(out)])
    assert result.exit_code == 0, result.output
    ws = openpyxl.load_workbook(out).active
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS_VI
    assert {r[4] for r in rows[1:]} == {"Tán thành", "Không tán thành", "Góp ý, đề xuất"}
    # CSV stays data: the stable codes, whatever the language
    out = tmp_path / "y-kien.csv"
    assert (
        runner.invoke(args=["export", str(cid), "--format", "csv", "--output", str(out)]).exit_code
        == 0
    )
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert {r["stance"] for r in rows} == {"agree", "disagree", "suggest"}


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
    result = runner.invoke(
        args=["export", "999", "--format", "csv", "--output", str(tmp_path / "x.csv")]
    )
    assert result.exit_code != 0
    assert "does not exist" in result.output


def test_an_empty_consultation_exports_an_xlsx_with_just_the_header(client, auth, make):
    cid = make.consultation("open")
    auth.login("reviewer@example.vn")
    with fetch(client, cid, "xlsx") as response:
        assert response.status_code == 200
        ws = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    assert [list(r) for r in ws.iter_rows(values_only=True)] == [HEADERS_EN]
    assert ws.auto_filter.ref == "A1:P1"
    assert ws.freeze_panes == "A2"
