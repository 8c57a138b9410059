"""The record laid out with python-docx in the form of Decree 30/2020/NĐ-CP.

A4, margins 20/20/30/15 mm, Times New Roman; the issuing body and the national motto in a
borderless two-column header, each with its short rule; the page number at the top centre from
page 2; the title and trích yếu centred with a rule below; the signature block with "Nơi nhận".
The rows of opinions are put in by ``fill`` (consultations/documents/stream.py streams them).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC
from html import escape
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import _Cell

from consultations.documents.columns import opinion_columns
from consultations.documents.votes import VOTE_HEADER, VOTE_WIDTHS

FONT = "Times New Roman"
#: Text of the tables, in points (Decree 30 allows a smaller size in tables).
TABLE_PT = 12
#: Word's default cell margins, left and right together (2 × 0.19 cm).
CELL_PADDING_MM = 3.8
CENTRE = WD_ALIGN_PARAGRAPH.CENTER
JUSTIFY = WD_ALIGN_PARAGRAPH.JUSTIFY


def _set_fonts(element) -> None:
    """Name Times New Roman for every script (Latin, East Asian, complex), dropping theme fonts."""
    rpr = element.get_or_add_rPr() if hasattr(element, "get_or_add_rPr") else element
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for attr in list(rfonts.attrib):
        if attr.endswith(("Theme", "theme")):
            del rfonts.attrib[attr]
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        rfonts.set(qn(attr), FONT)


def _setup(doc, *, landscape: bool) -> None:
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        rpr = defaults.find(qn("w:rPrDefault") + "/" + qn("w:rPr"))
        if rpr is not None:
            _set_fonts(rpr)
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(14)
    _set_fonts(normal.element)
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.line_spacing = 1.15
    section = doc.sections[0]
    # Decree 30: A4, margins top/bottom 20 mm, left 30 mm, right 15 mm.
    section.page_width, section.page_height = (
        (Mm(297), Mm(210)) if landscape else (Mm(210), Mm(297))
    )
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
    section.top_margin = section.bottom_margin = Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.header_distance = Mm(10)
    _page_numbers(section)


def _page_numbers(section) -> None:
    """Decree 30: the page number at the top centre, from the second page on (a PAGE field
    in the default header; the first page has a header of its own, left empty)."""
    section.different_first_page_header_footer = True
    p = section.header.paragraphs[0]
    p.alignment = CENTRE
    p.paragraph_format.space_after = Pt(0)
    for kind, instr in (
        ("begin", None),
        (None, " PAGE "),
        ("separate", None),
        (None, None),
        ("end", None),
    ):
        run = p.add_run()
        if kind:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)
        elif instr:
            text = OxmlElement("w:instrText")
            text.set(qn("xml:space"), "preserve")
            text.text = instr
            run._r.append(text)
        else:
            run.text = "2"  # shown until the field is updated


def _core_properties(doc, ctx: dict[str, Any]) -> None:
    """Title, author and dates of the document itself, never python-docx's template defaults."""
    cp = doc.core_properties
    when = ctx["created"].astimezone(UTC).replace(tzinfo=None)
    cp.title = f"{ctx['title'].capitalize()} {ctx['subtitle'][0].lower()}{ctx['subtitle'][1:]}"
    cp.subject = ctx["what"][0][1]
    cp.author = cp.last_modified_by = ctx["issuer"]
    cp.created = cp.modified = cp.last_printed = when
    cp.revision = 1
    cp.category = "Báo cáo" if not ctx["internal"] else "Bảng tổng hợp"
    cp.keywords = "lấy ý kiến Nhân dân; tiếp thu; giải trình; Cổng Góp ý"
    cp.comments = (
        f"Mã xác thực nội dung (SHA-256): {ctx['content_hash']}"
        if ctx["content_hash"]
        else "Bản dự thảo"
    )
    cp.content_status = "Đã công bố" if ctx["published"] else "Dự thảo"
    cp.language = "vi-VN"
    pkg = doc.part.package
    for rid, rel in list(pkg.rels.items()):
        if rel.reltype.endswith("/metadata/thumbnail"):  # the template's picture of an empty page
            del pkg.rels[rid]
    for part in pkg.iter_parts():
        if part.partname == "/docProps/app.xml":
            app = part.blob.decode("utf-8")
            app = re.sub(
                r"<Application>[^<]*</Application>", "<Application>Góp ý</Application>", app
            )
            app = app.replace("<Company/>", f"<Company>{escape(ctx['issuer'])}</Company>")
            part._blob = app.encode("utf-8")


def _para(
    container,
    text: str = "",
    *,
    align=None,
    bold=False,
    italic=False,
    size: float | None = None,
    indent: bool = False,
    first: bool = False,
):
    p = (
        container.paragraphs[0]
        if first and container.paragraphs and not container.paragraphs[0].text
        else container.add_paragraph()
    )
    if align is not None:
        p.alignment = align
    if indent:
        p.paragraph_format.first_line_indent = Mm(10)
    run = p.add_run(text)
    run.bold, run.italic = bold or None, italic or None
    if size:
        run.font.size = Pt(size)
    return p


def _rule(container, *, width_mm: float, length_mm: float, space_before: float = 0) -> None:
    """A short centred rule: an empty 2-pt paragraph whose top border spans ``length_mm``.
    Drawn below the text rather than underlining it, it never touches the diacritics."""
    p = container.add_paragraph()
    fmt = p.paragraph_format
    side = max((width_mm - length_mm) / 2, 0)
    fmt.left_indent = fmt.right_indent = Mm(side)
    fmt.space_before, fmt.space_after, fmt.line_spacing = Pt(space_before), Pt(0), 1.0
    p.add_run().font.size = Pt(2)
    borders = OxmlElement("w:pBdr")
    top = OxmlElement("w:top")
    for name, value in (("val", "single"), ("sz", "6"), ("space", "1"), ("color", "000000")):
        top.set(qn(f"w:{name}"), value)
    borders.append(top)
    ppr = p._p.get_or_add_pPr()
    ppr.insert_element_before(borders, "w:shd", "w:tabs", "w:spacing", "w:ind", "w:jc", "w:rPr")


def _no_borders(table) -> None:
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    table._tbl.tblPr.append(borders)


def _widths(table, widths_mm: list[float]) -> None:
    """Fixed column widths, in the grid (which LibreOffice reads) and in every cell (Word);
    a heading row spanning the table keeps its own width."""
    table.autofit = False
    for col, width in zip(table._tbl.tblGrid.gridCol_lst, widths_mm, strict=True):
        col.w = Mm(width)
    for tr in table._tbl.tr_lst:
        if len(tr.tc_lst) == len(widths_mm):
            for tc, width in zip(tr.tc_lst, widths_mm, strict=True):
                tc.width = Mm(width)


def _repeat_header(row) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)


def _cell(cell, text: str, *, bold=False, size: float = TABLE_PT, align=None) -> None:
    lines = (text or "").split("\n")
    for i, line in enumerate(lines):
        p = cell.paragraphs[0] if i == 0 else cell.add_paragraph()
        p.paragraph_format.space_after = Pt(0)
        if align is not None:
            p.alignment = align
        run = p.add_run(line)
        run.font.size = Pt(size)
        run.bold = bold or None


def _add_row(table) -> list:
    """Append a row and return its cells. ``Row.cells`` walks the whole table every time,
    which makes a 100,000-row table quadratic; the new row's own cells are enough."""
    row = table.add_row()
    return [_Cell(tc, table) for tc in row._tr.tc_lst]


def _heading_row(table, text: str, widths_mm: list[float]) -> None:
    """An article's heading across the table: never split, and kept with the row below it."""
    tr = table.add_row()._tr
    for tc in tr.tc_lst[1:]:
        tr.remove(tc)
    tc = tr.tc_lst[0]
    tc.width = Mm(sum(widths_mm))
    tc.get_or_add_tcPr().grid_span = len(widths_mm)
    tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    cell = _Cell(tc, table)
    _cell(cell, " ".join(text.split()) or "—", bold=True)
    cell.paragraphs[0].paragraph_format.keep_with_next = True


def _heading(doc, text: str) -> None:
    p = _para(doc, text, bold=True)
    p.paragraph_format.space_before = Pt(6)
    p.paragraph_format.keep_with_next = True


def _grid(doc, header: list[str], widths: list[float]):
    table = doc.add_table(rows=1, cols=len(header))
    table.style = doc.styles["Table Grid"]
    for cell, label in zip(table.rows[0].cells, header, strict=True):
        _cell(cell, label, bold=True, align=CENTRE)
    _repeat_header(table.rows[0])
    return table


def _masthead(doc, ctx: dict[str, Any], width: float) -> None:
    """Issuing body top left, national name and motto top right, each with its rule; then
    the number and the place and date."""
    left_w, right_w = 62.0, width - 62.0
    head = doc.add_table(rows=2, cols=2)
    _no_borders(head)
    left, right = head.rows[0].cells
    for i, line in enumerate(ctx["body_lines"]):
        _para(left, line, align=CENTRE, bold=True, size=13, first=i == 0)
    _rule(left, width_mm=left_w - CELL_PADDING_MM, length_mm=20, space_before=3)
    _para(right, ctx["nation"], align=CENTRE, bold=True, size=13, first=True)
    _para(right, ctx["motto"], align=CENTRE, bold=True, size=14)
    _rule(right, width_mm=right_w - CELL_PADDING_MM, length_mm=60.5, space_before=3)
    _para(head.rows[1].cells[0], ctx["number"], align=CENTRE, size=13, first=True)
    _para(head.rows[1].cells[1], ctx["date_line"], align=CENTRE, italic=True, size=14, first=True)
    _widths(head, [left_w, right_w])
    for row in head.rows:
        for cell in row.cells:
            for p in cell.paragraphs:
                p.paragraph_format.space_after = Pt(0)
    head.rows[1].cells[0].paragraphs[0].paragraph_format.space_before = Pt(6)
    head.rows[1].cells[1].paragraphs[0].paragraph_format.space_before = Pt(6)


def _signature(doc, ctx: dict[str, Any], width: float) -> None:
    """Recipients bottom left; the capacity, the space for signature and seal, the name right."""
    sign = doc.add_table(rows=1, cols=2)
    _no_borders(sign)
    left, right = sign.rows[0].cells
    _para(left, "Nơi nhận:", bold=True, italic=True, size=12, first=True)
    for line in ctx["recipients"]:
        _para(left, line, size=11).paragraph_format.space_after = Pt(0)
    for i, line in enumerate(ctx["signer_lines"]):
        p = _para(right, line, align=CENTRE, bold=True, first=i == 0)
        p.paragraph_format.space_after = Pt(0)
        p.paragraph_format.keep_with_next = True
    seal = _para(right, "(Ký tên, đóng dấu)", align=CENTRE, italic=True, size=13)
    seal.paragraph_format.space_after = Pt(72)  # room for the signature and the seal
    seal.paragraph_format.keep_with_next = True
    _para(right, ctx["signer_name"], align=CENTRE, bold=True)
    _widths(sign, [width * 0.45, width * 0.55])
    sign.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))


def _vote_results(doc, vote: dict[str, Any]) -> None:
    """A decide consultation's household vote, as published (decisions/results.py)."""
    _heading(doc, "3. Kết quả biểu quyết của hộ gia đình")
    for line in (vote["households"], vote["rule"]):
        _para(doc, line, indent=True, align=JUSTIFY)
    table = _grid(doc, VOTE_HEADER, VOTE_WIDTHS)
    for row in vote["rows"]:
        for i, (cell, text) in enumerate(zip(_add_row(table), row, strict=True)):
            _cell(cell, text, align=None if i == 0 else CENTRE, bold=i == len(row) - 1)
    _widths(table, VOTE_WIDTHS)
    _para(doc, f"Mã xác thực kết quả biểu quyết (SHA-256): {vote['content_hash']}", size=12)


def build_document(ctx: dict[str, Any], *, internal: bool, fill: Callable[[Any], None]):
    """Lay the record out; ``fill(table)`` puts the opinions' rows under the header of their
    table (the streamed writer leaves a marker there instead)."""
    doc = Document()
    _setup(doc, landscape=internal)
    _core_properties(doc, ctx)
    width = 252 if internal else 165
    _masthead(doc, ctx, width)

    _para(doc, "").paragraph_format.space_after = Pt(0)
    _para(doc, ctx["title"], align=CENTRE, bold=True).paragraph_format.space_after = Pt(0)
    _para(doc, ctx["subtitle"], align=CENTRE, bold=True).paragraph_format.space_after = Pt(0)
    _rule(doc, width_mm=width, length_mm=50, space_before=2)
    if not ctx["published"]:
        _para(doc, "(Dự thảo báo cáo, chưa công bố)", align=CENTRE, italic=True)
    _para(doc, "").paragraph_format.space_after = Pt(0)
    for line in ctx["legal_basis"]:
        _para(doc, line, indent=True, italic=True, align=JUSTIFY)
    _para(doc, ctx["intro"], indent=True, align=JUSTIFY)

    _heading(doc, "I. TÌNH HÌNH TỔ CHỨC LẤY Ý KIẾN")
    _heading(doc, "1. Nội dung lấy ý kiến")
    for label, value in ctx["what"]:
        _para(doc, f"{label}: {value}", indent=True, align=JUSTIFY)
    if ctx["summary"]:
        _para(doc, f"Tóm tắt: {ctx['summary']}", indent=True, align=JUSTIFY)
    _heading(doc, "2. Thời gian lấy ý kiến")
    _para(doc, ctx["period"], indent=True, align=JUSTIFY)
    _heading(doc, "3. Hình thức công khai dự thảo và hình thức lấy ý kiến")
    for line in ctx["publicity"]:
        _para(doc, f"- {line}", indent=True, align=JUSTIFY)

    _heading(doc, "II. KẾT QUẢ LẤY Ý KIẾN")
    _heading(doc, "1. Số lượng ý kiến, người tham gia")
    figure_widths = [width - 60, 30, 30]
    table = _grid(doc, ["Nội dung", "Số lượng", "Tỷ lệ (%)"], figure_widths)
    for label, count, share, bold in ctx["figures"]:
        cells = _add_row(table)
        _cell(cells[0], label, bold=bold)
        _cell(cells[1], "" if count is None else str(count), bold=bold, align=CENTRE)
        _cell(cells[2], share, bold=bold, align=CENTRE)
    _widths(table, figure_widths)

    _heading(doc, "2. Tổng hợp ý kiến và việc tiếp thu, giải trình")
    header, widths = opinion_columns(internal)
    table = _grid(doc, header, widths)
    _widths(table, widths)
    fill(table)
    if ctx.get("vote_results"):
        _vote_results(doc, ctx["vote_results"])

    _heading(doc, "III. Ý KIẾN PHẢN BIỆN CỦA ỦY BAN MẶT TRẬN TỔ QUỐC VIỆT NAM")
    if not ctx["reviews"]:
        _para(doc, "Không có ý kiến phản biện.", indent=True)
    for review in ctx["reviews"]:
        _para(doc, f"Văn bản phản biện ngày {review['date']}:", indent=True, italic=True)
        for line in review["body"].split("\n"):
            if line.strip():
                _para(doc, line, indent=True, align=JUSTIFY)
        if review["attachment"]:
            _para(doc, f"(Kèm theo tệp: {review['attachment']})", indent=True, italic=True)

    _heading(doc, "IV. KẾT LUẬN")
    if ctx["conclusion"]:
        for line in ctx["conclusion"].split("\n"):
            if line.strip():
                _para(doc, line, indent=True, align=JUSTIFY)
    else:
        _para(doc, "(Chưa có kết luận: báo cáo chưa được công bố.)", indent=True, italic=True)

    if ctx["content_hash"]:
        _para(doc, f"Mã xác thực nội dung (SHA-256): {ctx['content_hash']}", size=12)
    else:
        _para(doc, "Bản dự thảo, chưa có mã xác thực nội dung.", italic=True, size=12)
    _signature(doc, ctx, width)
    return doc
