"""The minutes of the count laid out with python-docx, with the record's Decree 30 helpers:
the header of the issuing body and the national motto, the title, the tables, and a
signature line for every member of the counting committee."""

from __future__ import annotations

import io
from typing import Any

from docx import Document
from docx.shared import Pt

from consultations.documents.layout import (
    CENTRE,
    JUSTIFY,
    _add_row,
    _cell,
    _grid,
    _heading,
    _masthead,
    _no_borders,
    _para,
    _rule,
    _setup,
    _widths,
)
from consultations.documents.votes import VOTE_HEADER, VOTE_WIDTHS

WIDTH = 165.0


def _properties(doc, ctx: dict[str, Any]) -> None:
    cp = doc.core_properties
    cp.title = f"Biên bản {ctx['subtitle'][0].lower()}{ctx['subtitle'][1:]}"
    cp.author = cp.last_modified_by = ctx["issuer"]
    cp.category = "Biên bản"
    cp.language = "vi-VN"
    cp.content_status = "Đã công bố" if ctx["published"] else "Dự thảo"
    cp.comments = (
        f"Mã xác thực nội dung (SHA-256): {ctx['content_hash']}"
        if ctx["content_hash"]
        else "Bản dự thảo"
    )


def _signatures(doc, committee: list[dict[str, str]]) -> None:
    """A signature line per member, two to a row."""
    _heading(doc, "CÁC THÀNH VIÊN TỔ KIỂM PHIẾU")
    rows = max((len(committee) + 1) // 2, 1)
    table = doc.add_table(rows=rows, cols=2)
    _no_borders(table)
    for i, member in enumerate(committee):
        cell = table.rows[i // 2].cells[i % 2]
        _para(
            cell, (member.get("title") or "Thành viên").upper(), align=CENTRE, bold=True, first=True
        )
        seal = _para(cell, "(Ký, ghi rõ họ tên)", align=CENTRE, italic=True, size=13)
        seal.paragraph_format.space_after = Pt(48)
        _para(cell, member["name"], align=CENTRE, bold=True)
    _widths(table, [WIDTH / 2, WIDTH / 2])


def build(ctx: dict[str, Any]) -> bytes:
    doc = Document()
    _setup(doc, landscape=False)
    _properties(doc, ctx)
    _masthead(doc, ctx, WIDTH)
    _para(doc, "").paragraph_format.space_after = Pt(0)
    _para(doc, ctx["title"], align=CENTRE, bold=True).paragraph_format.space_after = Pt(0)
    _para(doc, ctx["subtitle"], align=CENTRE, bold=True).paragraph_format.space_after = Pt(0)
    _rule(doc, width_mm=WIDTH, length_mm=50, space_before=2)
    if not ctx["published"]:
        _para(doc, "(Dự thảo biên bản, kết quả chưa công bố)", align=CENTRE, italic=True)
    _para(doc, ctx["time_place"], indent=True, align=JUSTIFY)

    _heading(doc, "I. THÀNH PHẦN TỔ KIỂM PHIẾU")
    if not ctx["committee"]:
        _para(doc, "(Chưa có danh sách Tổ kiểm phiếu.)", indent=True, italic=True)
    for i, m in enumerate(ctx["committee"], start=1):
        title = f" – {m['title']}" if m.get("title") else ""
        _para(doc, f"{i}. Ông/bà {m['name']}{title}", indent=True)

    _heading(doc, "II. KẾT QUẢ KIỂM PHIẾU")
    _heading(doc, "1. Số hộ gia đình và số phiếu")
    widths = [WIDTH - 35, 35]
    table = _grid(doc, ["Nội dung", "Số lượng"], widths)
    for label, n in ctx["figures"]:
        cells = _add_row(table)
        _cell(cells[0], label)
        _cell(cells[1], str(n), align=CENTRE)
    _widths(table, widths)
    _para(
        doc,
        "Đối chiếu số liệu: khớp."
        if ctx["checks_ok"]
        else "Đối chiếu số liệu: có chênh lệch (xem trang kiểm phiếu).",
        indent=True,
        italic=True,
    )

    _heading(doc, "2. Kết quả biểu quyết từng nội dung")
    _para(doc, ctx["rule"], indent=True, italic=True, align=JUSTIFY)
    table = _grid(doc, VOTE_HEADER, VOTE_WIDTHS)
    for row in ctx["vote_rows"]:
        cells = _add_row(table)
        for i, (cell, text) in enumerate(zip(cells, row, strict=True)):
            _cell(cell, text, align=None if i == 0 else CENTRE, bold=i == len(row) - 1)
    _widths(table, VOTE_WIDTHS)

    _heading(doc, "3. Phiếu được Tổ kiểm phiếu điều chỉnh")
    if not ctx["corrections"]:
        _para(doc, "Không có phiếu nào được điều chỉnh.", indent=True)
    for i, row in enumerate(ctx["corrections"], start=1):
        _para(
            doc,
            f"{i}. {row['matter']} ({row['channel']}): từ “{row['before']}” thành “{row['after']}”. "
            f"Lý do: {row['reason']}",
            indent=True,
            align=JUSTIFY,
        )
    _heading(doc, "4. Biểu quyết trùng")
    _para(
        doc,
        f"Số lượt biểu quyết bị từ chối do hộ gia đình đã biểu quyết trước đó: {ctx['conflicts']}. "
        "Lượt biểu quyết được ghi nhận đầu tiên có giá trị.",
        indent=True,
        align=JUSTIFY,
    )
    _heading(doc, "III. XÁC NHẬN CỦA ỦY BAN MẶT TRẬN TỔ QUỐC VIỆT NAM")
    _para(doc, ctx["sign_off"], indent=True, align=JUSTIFY)
    if ctx["sign_note"]:
        _para(doc, f"Ý kiến: {ctx['sign_note']}", indent=True, align=JUSTIFY)
    if ctx["content_hash"]:
        _para(doc, f"Mã xác thực nội dung (SHA-256): {ctx['content_hash']}", size=12)
    else:
        _para(doc, "Bản dự thảo, chưa có mã xác thực nội dung.", italic=True, size=12)
    _signatures(doc, ctx["committee"])
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
