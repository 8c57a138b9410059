"""The XLSX export as SpreadsheetML written by hand (consultations/xlsx.py): every kind of text
and value comes back from openpyxl as it went in, and the package is one Excel opens."""

from __future__ import annotations

import io
import zipfile

import openpyxl
from test_exports_opinions import HEADERS_EN

from consultations.exports import COLUMNS
from consultations.models import Opinion
from core.extensions import db
from core.timeutil import utcnow


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
    "formula": ('=HYPERLINK("http://evil")', '=HYPERLINK("http://evil")'),
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
    from core.timeutil import to_local

    cid = make.consultation("open")
    ids = {
        k: make.opinion(cid, body="tạm", section_position=3 if k == "lines" else None)
        for k in TRICKY_BODIES
    }
    with app.app_context():
        for key, oid in ids.items():
            db.session.get(Opinion, oid).body = TRICKY_BODIES[key][0]
        edited = db.session.get(Opinion, ids["lines"])
        edited.edited_at = utcnow()
        db.session.commit()
        created = {
            k: to_local(db.session.get(Opinion, v).created_at).replace(tzinfo=None)
            for k, v in ids.items()
        }
        edited_at = to_local(edited.edited_at).replace(tzinfo=None)
        numbers = {db.session.get(Opinion, v).tracking_number: k for k, v in ids.items()}
        out = _Unseekable()  # zipfile writes data descriptors then
        seen = []
        exports.write_xlsx(cid, out, progress=seen.append)
    assert seen == [len(ids)]

    wb = openpyxl.load_workbook(io.BytesIO(bytes(out.data)))
    ws = wb.active
    assert ws.title == "Opinions"
    assert [c.value for c in ws[1]] == HEADERS_EN
    assert all(c.font.b for c in ws[1])
    assert not ws["A2"].font.b
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:P{len(ids) + 1}"
    assert [
        ws.column_dimensions[chr(ord("A") + i)].width for i in range(len(COLUMNS))
    ] == exports.WIDTHS
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
        assert row["created_at"].number_format == "d/m/yyyy hh:mm"
        assert row["withdrawn_at"].value is None
        assert row["hidden_reason"].value is None
        assert row["status"].value == "Published"
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
    sample = datetime(2026, 2, 5, 23, 59, 58, 765432)  # noqa: DTZ001 - Excel cells have no time zone
    assert exports._excel_serial(sample) == to_excel(sample)
    with zipfile.ZipFile(io.BytesIO(bytes(out.data))) as z:
        assert z.testzip() is None
        assert all(i.extract_version < 45 for i in z.infolist())
        assert {
            "[Content_Types].xml",
            "_rels/.rels",
            "xl/workbook.xml",
            "xl/_rels/workbook.xml.rels",
            "xl/styles.xml",
            "xl/worksheets/sheet1.xml",
        } <= set(z.namelist())
        workbook = z.read("xl/workbook.xml").decode()
        assert f"'Opinions'!$A$1:$P${len(ids) + 1}</definedName>" in workbook
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        # schema order: sheetViews, cols, sheetData, autoFilter, pageMargins
        assert sheet.index("<sheetViews>") < sheet.index("<cols>") < sheet.index("<sheetData>")
        assert (
            sheet.index("</sheetData>") < sheet.index("<autoFilter") < sheet.index("<pageMargins")
        )
        assert "<f>" not in sheet
