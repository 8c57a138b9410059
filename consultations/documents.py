"""The record of consultation as documents: DOCX (python-docx) and PDF (WeasyPrint).

Both follow the administrative document form of Decree 30/2020/NĐ-CP: the issuing body and
the national motto in a two-column header, the title centred, Times New Roman, a signature
block. ``document_context`` prepares what both print; the PDF template is
templates/records/record_pdf.html.

The DOCX is written as a stream: python-docx lays out everything but the rows of opinions
(a small skeleton with a marker where they go), then the skeleton's zip is copied entry by entry
and word/document.xml is written in two halves with the rows in between, generated as XML text
from the database cursor. A record of 100,000 opinions is never held in memory, neither as
rows nor as an lxml tree.
"""

from __future__ import annotations

import io
import re
import secrets
import zipfile
from collections.abc import Callable, Iterator
from contextlib import closing, nullcontext
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.simpletypes import ST_TwipsMeasure
from docx.shared import Mm, Pt
from flask import render_template
from lxml import etree
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from consultations import record as rec
from timeutil import closing_date, to_local, utcnow

# The DOCX and the PDF follow the administrative document form of Decree 30/2020/NĐ-CP. Their
# wording is a fixed legal form in Vietnamese, whatever the reader's language, so it is written
# here as is and deliberately not passed through gettext.
VI_STANCE = {"agree": "Đồng ý", "disagree": "Không đồng ý", "suggest": "Góp ý, đề xuất"}
VI_CHANNEL = {
    "online": "Cổng thông tin điện tử",
    "meeting": "Hội nghị, cuộc họp",
    "dialogue": "Hội nghị đối thoại",
    "paper": "Phiếu lấy ý kiến hộ gia đình",
    "hotline": "Hòm thư góp ý, đường dây nóng",
    "front": "Qua Ban công tác Mặt trận",
    "social": "Mạng xã hội (Zalo)",
}
VI_STATUS = {"published": "Công khai", "hidden": "Đã ẩn", "withdrawn": "Đã rút"}
VI_OUTCOME = {
    "accepted": "Tiếp thu",
    "partly_accepted": "Tiếp thu một phần",
    "not_accepted": "Không tiếp thu, giải trình",
    "noted": "Ghi nhận",
}
VI_KIND = {
    "inform": "Công khai để Nhân dân biết",
    "comment": "Nhân dân tham gia ý kiến trước khi cơ quan có thẩm quyền quyết định",
    "decide": "Nhân dân bàn và quyết định",
}
VI_CATEGORY = {
    "land": "Đất đai", "construction": "Xây dựng", "budget": "Ngân sách", "tax": "Thuế, phí",
    "environment": "Môi trường", "transport": "Giao thông", "education": "Giáo dục",
    "health": "Y tế", "social": "Xã hội", "other": "Khác",
}
PLACE_PREFIXES = ("Phường ", "Xã ", "Thị trấn ", "Đặc khu ", "Thành phố ", "Tỉnh ")
SUMMARY_CHARS = 400


def vn_date(d: date) -> str:
    """"ngày 05 tháng 02 năm 2026": Decree 30 pads days below 10 and the months 1 and 2."""
    month = f"{d.month:02d}" if d.month < 3 else str(d.month)
    return f"ngày {d.day:02d} tháng {month} năm {d.year}"


def place_name(name: str) -> str:
    """The place in the date line: the unit's name without "Phường", "Xã"…"""
    for prefix in PLACE_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def _short(text: str, limit: int = SUMMARY_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass
class DocRow:
    stt: int
    tracking: str
    article: str
    content: str
    stance: str
    answer: str
    created: str = ""
    channel: str = ""
    status: str = ""
    contributor: str = ""


def _section_labels(data: rec.RecordData) -> Callable[[int | None], str]:
    """``data.section_label`` in Vietnamese, worked out once per article rather than per row."""
    known = {None: data.section_label(None, vietnamese=True)}
    known.update((s.position, data.section_label(s.position, vietnamese=True)) for s in data.sections)

    def label(key: int | None) -> str:
        return known[key] if key in known else data.section_label(key, vietnamese=True)

    return label


def _doc_rows(data: rec.RecordData, *, internal: bool, opinions: Iterator[rec.OpinionRow] | None = None,
              label: Callable[[int | None], str] | None = None) -> Iterator[DocRow]:
    """The opinions as printed, one at a time from the database cursor (``data.opinions``
    unless ``opinions`` is given: a streamed download reads with a session of its own)."""
    label = label or _section_labels(data)
    if opinions is None:
        opinions = data.opinions(by_section=True)
    for i, r in enumerate(opinions, start=1):
        status = rec._value(r.status)
        if internal:
            content = r.body
            if status == "hidden":
                content += f"\n[Lý do ẩn: {r.hidden_reason or ''}]"
        elif status == "hidden":
            content = f"Ý kiến đã bị ẩn bởi người kiểm duyệt: {r.hidden_reason or ''}"
        elif status == "withdrawn":
            content = "Ý kiến đã được người gửi rút lại."
        else:
            content = _short(r.body)
        if r.response_id is not None:
            answer = f"{VI_OUTCOME[rec._value(r.outcome)]}: {r.explanation}"
        else:
            answer = "—" if status == "withdrawn" else "Chưa trả lời"
        yield DocRow(
            stt=i,
            tracking=r.tracking_number,
            article=label(r.section_position),
            content=content,
            stance=VI_STANCE[rec._value(r.stance)],
            answer=answer,
            created=to_local(r.created_at).strftime("%d/%m/%Y %H:%M") if r.created_at else "",
            channel=VI_CHANNEL[rec._value(r.channel)],
            status=VI_STATUS[status],
            contributor=r.display_name or r.contributor_name or "",
        )


def document_context(data: rec.RecordData, *, internal: bool = False) -> dict[str, Any]:
    """Everything the DOCX and the PDF print, already in their fixed Vietnamese wording."""
    c, f = data.consultation, data.figures
    when = data.record.published_at if data.record else utcnow()
    place = place_name(c.locality.name)
    opened = to_local(c.opened_at or c.opens_at).strftime("%d/%m/%Y")
    last_day = closing_date(c.closes_at).strftime("%d/%m/%Y")
    period = f"Từ ngày {opened} đến hết ngày {last_day}."
    if c.closed_early_at:
        period += f" Kết thúc sớm, lý do: {c.close_reason or ''}"
    figures = [("Tổng số ý kiến nhận được", f.received, True)]
    if f.withdrawn:
        figures.append(("Trong đó: số ý kiến người gửi đã rút lại", f.withdrawn, False))
    if f.hidden:
        figures.append(("Trong đó: số ý kiến bị ẩn do vi phạm quy định", f.hidden, False))
    groups = [
        ("Theo quan điểm", [(VI_STANCE[k], n) for k, n in f.by_stance]),
        ("Theo hình thức lấy ý kiến", [(VI_CHANNEL[k], n) for k, n in f.by_channel]),
        ("Theo điều, khoản của dự thảo", [(data.section_label(k, vietnamese=True), n) for k, n in f.by_section]),
        ("Theo địa bàn", [(k or "Không xác định", n) for k, n in f.by_locality]),
    ]
    for heading, items in groups:
        if items:
            figures.append((heading, None, True))
            figures.extend((label, n, False) for label, n in items)
    if internal:
        title = "BẢNG TỔNG HỢP"
        subtitle = f"Toàn bộ ý kiến của Nhân dân đối với {c.title}"
    else:
        title = "BÁO CÁO"
        subtitle = f"Tổng hợp, tiếp thu, giải trình ý kiến đối với {c.title}"
    return {
        "internal": internal,
        "published": data.published,
        "body_lines": ["ỦY BAN NHÂN DÂN", c.locality.name.upper()],
        "number": "Số: …/BC-UBND",
        "nation": "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "motto": "Độc lập - Tự do - Hạnh phúc",
        "date_line": f"{place}, {vn_date(to_local(when).date())}",
        "title": title,
        "subtitle": subtitle,
        "what": [
            ("Tên dự thảo", c.title),
            ("Loại việc", VI_KIND[rec._value(c.kind)]),
            ("Lĩnh vực", VI_CATEGORY[rec._value(c.category)]),
            ("Địa bàn", c.locality.full_name),
        ],
        "summary": c.summary or "",
        "period": period,
        "channels": [f"{VI_CHANNEL[k]}: {n} ý kiến" for k, n in f.by_channel] or ["Không có ý kiến nào."],
        "figures": figures,
        "rows": _doc_rows(data, internal=internal),
        "reviews": [
            {
                "date": to_local(r.created_at).strftime("%d/%m/%Y"),
                "body": r.body,
                "attachment": r.attachment_name,
            }
            for r in data.reviews
        ],
        "conclusion": data.record.conclusion if data.record else None,
        "content_hash": data.record.content_hash if data.record else None,
    }


# -- DOCX (python-docx) --------------------------------------------------------------------------

FONT = "Times New Roman"


def _set_fonts(element) -> None:
    """Name Times New Roman for every script (Latin, East Asian, complex), dropping theme fonts."""
    rpr = element.get_or_add_rPr() if hasattr(element, "get_or_add_rPr") else element
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for attr in list(rfonts.attrib):
        if attr.endswith("Theme") or attr.endswith("theme"):
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
    section.page_width, section.page_height = (Mm(297), Mm(210)) if landscape else (Mm(210), Mm(297))
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
    section.top_margin = section.bottom_margin = Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)


def _para(container, text: str = "", *, align=None, bold=False, italic=False, underline=False,
          size: float | None = None, indent: bool = False, first: bool = False):
    p = container.paragraphs[0] if first and container.paragraphs and not container.paragraphs[0].text else container.add_paragraph()
    if align is not None:
        p.alignment = align
    if indent:
        p.paragraph_format.first_line_indent = Mm(10)
    run = p.add_run(text)
    run.bold, run.italic, run.underline = bold or None, italic or None, underline or None
    if size:
        run.font.size = Pt(size)
    return p


def _no_borders(table) -> None:
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    tbl_pr.append(borders)


def _widths(table, widths_mm: list[float]) -> None:
    table.autofit = False
    for row in table.rows:
        for cell, width in zip(row.cells, widths_mm, strict=True):
            cell.width = Mm(width)


def _repeat_header(row) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)


def _cell(cell, text: str, *, bold=False, size: float = 13, align=None) -> None:
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
    from docx.table import _Cell

    row = table.add_row()
    return [_Cell(tc, table) for tc in row._tr.tc_lst]


def _heading(doc, text: str) -> None:
    p = _para(doc, text, bold=True)
    p.paragraph_format.space_before = Pt(6)
    p.paragraph_format.keep_with_next = True


def _grid(doc, header: list[str], widths: list[float]):
    table = doc.add_table(rows=1, cols=len(header))
    table.style = doc.styles["Table Grid"]
    for cell, label in zip(table.rows[0].cells, header, strict=True):
        _cell(cell, label, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _repeat_header(table.rows[0])
    return table


def _opinion_columns(internal: bool) -> tuple[list[str], list[float]]:
    """The header and the widths (mm) of the table of opinions."""
    if internal:
        header = ["STT", "Mã số ý kiến", "Thời gian", "Điều, khoản", "Nội dung ý kiến", "Quan điểm",
                  "Hình thức", "Trạng thái", "Người góp ý", "Tiếp thu, giải trình"]
        return header, [14, 38, 24, 24, 48, 20, 22, 18, 22, 22]
    header = ["STT", "Mã số ý kiến", "Điều, khoản", "Tóm tắt nội dung ý kiến", "Quan điểm",
              "Tiếp thu, giải trình"]
    return header, [14, 38, 22, 41, 20, 30]


def _row_values(r: DocRow, internal: bool) -> list[str]:
    values = [str(r.stt), r.tracking]
    if internal:
        return values + [r.created, r.article, r.content, r.stance, r.channel, r.status, r.contributor, r.answer]
    return values + [r.article, r.content, r.stance, r.answer]


def _document(ctx: dict[str, Any], *, internal: bool, fill: Callable[[Any], None]):
    """Lay the record out with python-docx; ``fill(table)`` puts the opinions' rows under the
    header of their table (the streamed writer leaves a marker there instead)."""
    doc = Document()
    _setup(doc, landscape=internal)
    width = 252 if internal else 165
    centre = WD_ALIGN_PARAGRAPH.CENTER

    # Header: issuing body top left, national name and motto top right, then number and date.
    head = doc.add_table(rows=2, cols=2)
    _no_borders(head)
    left, right = head.rows[0].cells
    for i, line in enumerate(ctx["body_lines"]):
        _para(left, line, align=centre, bold=True, size=13, first=i == 0)
    _para(right, ctx["nation"], align=centre, bold=True, size=13, first=True)
    _para(right, ctx["motto"], align=centre, bold=True, underline=True, size=14)
    _para(head.rows[1].cells[0], ctx["number"], align=centre, size=13, first=True)
    _para(head.rows[1].cells[1], ctx["date_line"], align=centre, italic=True, size=14, first=True)
    _widths(head, [width * 0.4, width * 0.6])
    for row in head.rows:
        for cell in row.cells:
            for p in cell.paragraphs:
                p.paragraph_format.space_after = Pt(0)

    _para(doc, "")
    _para(doc, ctx["title"], align=centre, bold=True)
    _para(doc, ctx["subtitle"], align=centre, bold=True)
    if not ctx["published"]:
        _para(doc, "(Dự thảo báo cáo, chưa công bố)", align=centre, italic=True)

    justify = WD_ALIGN_PARAGRAPH.JUSTIFY
    _heading(doc, "1. Nội dung lấy ý kiến")
    for label, value in ctx["what"]:
        _para(doc, f"{label}: {value}", indent=True, align=justify)
    if ctx["summary"]:
        _para(doc, f"Tóm tắt: {ctx['summary']}", indent=True, align=justify)
    _heading(doc, "2. Thời gian lấy ý kiến")
    _para(doc, ctx["period"], indent=True, align=justify)
    _heading(doc, "3. Hình thức lấy ý kiến")
    for line in ctx["channels"]:
        _para(doc, f"- {line}", indent=True)

    _heading(doc, "4. Kết quả lấy ý kiến")
    table = _grid(doc, ["Nội dung", "Số ý kiến"], [width - 35, 35])
    for label, count, bold in ctx["figures"]:
        cells = _add_row(table)
        _cell(cells[0], label, bold=bold)
        _cell(cells[1], "" if count is None else str(count), bold=bold, align=centre)
    _widths(table, [width - 35, 35])

    _heading(doc, "5. Tổng hợp ý kiến và việc tiếp thu, giải trình")
    header, widths = _opinion_columns(internal)
    table = _grid(doc, header, widths)
    fill(table)
    _widths(table, widths)

    _heading(doc, "6. Ý kiến phản biện của Ủy ban Mặt trận Tổ quốc Việt Nam")
    if not ctx["reviews"]:
        _para(doc, "Không có ý kiến phản biện.", indent=True)
    for review in ctx["reviews"]:
        _para(doc, f"Văn bản phản biện ngày {review['date']}:", indent=True, italic=True)
        for line in review["body"].split("\n"):
            if line.strip():
                _para(doc, line, indent=True, align=justify)
        if review["attachment"]:
            _para(doc, f"(Kèm theo tệp: {review['attachment']})", indent=True, italic=True)

    _heading(doc, "7. Kết luận")
    if ctx["conclusion"]:
        for line in ctx["conclusion"].split("\n"):
            if line.strip():
                _para(doc, line, indent=True, align=justify)
    else:
        _para(doc, "(Chưa có kết luận: báo cáo chưa được công bố.)", indent=True, italic=True)

    if ctx["content_hash"]:
        _para(doc, f"Mã xác thực nội dung (SHA-256): {ctx['content_hash']}", size=13)
    else:
        _para(doc, "Bản dự thảo, chưa có mã xác thực nội dung.", italic=True, size=13)

    # Signature block: recipients bottom left, the signatory top right.
    sign = doc.add_table(rows=1, cols=2)
    _no_borders(sign)
    left, right = sign.rows[0].cells
    _para(left, "Nơi nhận:", bold=True, italic=True, size=12, first=True)
    for line in ("- Thường trực HĐND;", "- Ủy ban MTTQ Việt Nam;", "- Cổng thông tin điện tử;", "- Lưu: VT."):
        _para(left, line, size=11)
    _para(right, "TM. ỦY BAN NHÂN DÂN", align=centre, bold=True, first=True)
    _para(right, "CHỦ TỊCH", align=centre, bold=True)
    _para(right, "(Ký, ghi rõ họ tên, đóng dấu)", align=centre, italic=True, size=13)
    _widths(sign, [width * 0.45, width * 0.55])
    return doc


# -- the streamed DOCX --------------------------------------------------------------------------

DOCUMENT_XML = "word/document.xml"
#: Rows of opinions generated between two writes to the zip (and two chunks handed on).
ROWS_PER_BATCH = 500
#: Progress is reported every this many rows.
PROGRESS_EVERY = 10_000
#: A streamed download hands on chunks of at least this many bytes.
CHUNK_BYTES = 64 * 1024

#: What the text of a row cannot hold as is: & < > (escaped, as lxml does) and the characters
#: XML 1.0 does not allow (dropped; python-docx, through lxml, refused the whole document).
_NOT_TEXT = re.compile(r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_TAB_OR_CR = re.compile(r"([\t\r])")
# One line of a cell exactly as ``_cell(cell, text)`` writes it with its defaults (13 pt, not
# bold, no alignment); tests/test_exports_documents.py compares the two byte for byte.
_LINE_OPEN = '<w:p><w:pPr><w:spacing w:after="0"/></w:pPr><w:r><w:rPr><w:sz w:val="26"/></w:rPr>'
_LINE_CLOSE = "</w:r></w:p>"
_EMPTY_LINE = _LINE_OPEN + _LINE_CLOSE


def _t(text: str) -> str:
    """A <w:t> of escaped text, keeping its spaces when it starts or ends with one."""
    if text[0].isspace() or text[-1].isspace():
        return f'<w:t xml:space="preserve">{text}</w:t>'
    return f"<w:t>{text}</w:t>"


def _xml_text(match: re.Match) -> str:
    return _ENTITIES.get(match.group(), "")


def _lines_xml(text: str) -> str:
    """Escaped text with line breaks or tabs, as python-docx writes it: a paragraph per "\\n",
    then in each run a tab as <w:tab/>, a CR as <w:br/>, the rest in <w:t>."""
    out = []
    for line in text.split("\n"):
        out.append(_LINE_OPEN)
        for part in _TAB_OR_CR.split(line):
            if part == "\t":
                out.append("<w:tab/>")
            elif part == "\r":
                out.append("<w:br/>")
            elif part:
                out.append(_t(part))
        out.append(_LINE_CLOSE)
    return "".join(out)


def _row_xml(values: list[str], cell_opens: list[str]) -> str:
    """One <w:tr> of the table of opinions: what ``_add_row``, ``_cell`` and ``_widths`` make."""
    values = [v or "" for v in values]
    if _NOT_TEXT.search("\n".join(values)):  # rare: one look at the whole row first
        values = [_NOT_TEXT.sub(_xml_text, v) for v in values]
    out = ["<w:tr>"]
    for text, cell_open in zip(values, cell_opens, strict=True):
        out.append(cell_open)
        if "\n" in text or "\t" in text or "\r" in text:
            out.append(_lines_xml(text))
        elif not text:
            out.append(_EMPTY_LINE)
        elif text[0].isspace() or text[-1].isspace():
            out.append(f'{_LINE_OPEN}<w:t xml:space="preserve">{text}</w:t>{_LINE_CLOSE}')
        else:
            out.append(f"{_LINE_OPEN}<w:t>{text}</w:t>{_LINE_CLOSE}")
        out.append("</w:tc>")
    out.append("</w:tr>")
    return "".join(out)


@dataclass
class _Skeleton:
    """The laid-out document without its rows of opinions, and what writing them needs."""

    data: rec.RecordData
    internal: bool
    consultation_id: int
    label: Callable[[int | None], str]
    cell_opens: list[str]
    package: bytes  # the .docx written by python-docx
    head: bytes  # word/document.xml up to the first row of opinions
    tail: bytes  # and from the end of the table on


def _skeleton(data: rec.RecordData, *, internal: bool) -> _Skeleton:
    ctx = document_context(data, internal=internal)
    marker = f"gop-y-opinion-rows-{secrets.token_hex(8)}"
    doc = _document(ctx, internal=internal, fill=lambda table: table._tbl.append(etree.Comment(marker)))
    buffer = io.BytesIO()
    doc.save(buffer)
    package = buffer.getvalue()
    with zipfile.ZipFile(io.BytesIO(package)) as z:
        xml = z.read(DOCUMENT_XML)
    head, found, tail = xml.partition(f"<!--{marker}-->".encode())
    if not found or marker.encode() in tail:
        raise RuntimeError("the marker of the opinions' rows is not once in word/document.xml")
    widths = _opinion_columns(internal)[1]
    return _Skeleton(
        data=data,
        internal=internal,
        consultation_id=data.consultation.id,
        label=_section_labels(data),
        cell_opens=[
            f'<w:tc><w:tcPr><w:tcW w:type="dxa" w:w="{ST_TwipsMeasure.convert_to_xml(Mm(w))}"/></w:tcPr>'
            for w in widths
        ],
        package=package,
        head=head,
        tail=tail,
    )


def _write(sk: _Skeleton, fh: IO[bytes], *, opinions: Iterator[rec.OpinionRow] | None = None,
           progress: Callable[[int], None] | None = None) -> Iterator[int]:
    """Write the .docx to ``fh``: the skeleton's entries as they are, word/document.xml with
    the rows streamed into it. Yields after each batch of rows, so a caller can hand on what
    was written; ``fh`` needs no seek (zipfile then writes data descriptors)."""
    n = 0
    with zipfile.ZipFile(io.BytesIO(sk.package)) as src, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, info.date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            if info.filename != DOCUMENT_XML:
                out.writestr(entry, src.read(info))
                continue
            with out.open(entry, "w") as xml:
                xml.write(sk.head)
                batch: list[str] = []
                rows = _doc_rows(sk.data, internal=sk.internal, opinions=opinions, label=sk.label)
                for n, row in enumerate(rows, start=1):  # noqa: B007 - n is the count afterwards
                    batch.append(_row_xml(_row_values(row, sk.internal), sk.cell_opens))
                    if n % ROWS_PER_BATCH == 0:
                        xml.write("".join(batch).encode("utf-8"))
                        batch.clear()
                        if progress and n % PROGRESS_EVERY == 0:
                            progress(n)
                        yield n
                xml.write("".join(batch).encode("utf-8"))
                xml.write(sk.tail)
    if progress and (n == 0 or n % PROGRESS_EVERY):
        progress(n)
    yield n


def write_docx(data: rec.RecordData, fh: IO[bytes], *, internal: bool = False,
               progress: Callable[[int], None] | None = None) -> None:
    """Write the record (``internal``: every opinion in full) as a .docx to a binary file,
    the rows streamed from the database: memory stays bounded whatever their number."""
    for _ in _write(_skeleton(data, internal=internal), fh, progress=progress):
        pass


class _Chunks:
    """A write-only file whose contents are taken away in chunks."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.size = 0

    def write(self, b) -> int:
        self._parts.append(bytes(b))
        self.size += len(b)
        return len(b)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        self.size = 0
        return out


def docx_chunks(data: rec.RecordData, *, internal: bool = False, engine: Engine | None = None,
                progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """The .docx as chunks of bytes for a streamed response.

    The layout is done now, while ``data`` and the request are alive; the rows are read as the
    chunks are asked for. With ``engine`` they are read in a session of its own, opened at the
    first chunk and closed at the last (or when the response is closed early), so the iterator
    may run after the view has returned; without it, in ``db.session``."""
    sk = _skeleton(data, internal=internal)

    def generate() -> Iterator[bytes]:
        sink = _Chunks()
        with Session(engine) if engine is not None else nullcontext() as session:
            opinions = None
            if session is not None:
                opinions = rec.iter_opinions(sk.consultation_id, by_section=True, session=session)
            # closing(): a response closed early stops the writer and its cursor at once.
            with closing(_write(sk, sink, opinions=opinions, progress=progress)) as written:
                for _ in written:
                    if sink.size >= CHUNK_BYTES:
                        yield sink.take()
        yield sink.take()

    return generate()


def record_docx(data: rec.RecordData, *, internal: bool = False) -> bytes:
    """The .docx as bytes: for small records; large ones go through ``write_docx`` or
    ``docx_chunks``, which never hold the file in memory."""
    buffer = io.BytesIO()
    write_docx(data, buffer, internal=internal)
    return buffer.getvalue()


def build_docx(data: rec.RecordData, *, internal: bool = False):
    """The record as a python-docx ``Document`` (the whole tree in memory: small records only)."""
    return Document(io.BytesIO(record_docx(data, internal=internal)))


# -- PDF (WeasyPrint) ----------------------------------------------------------------------------

def record_pdf(data: rec.RecordData, *, internal: bool = False) -> bytes:
    """The record (or, ``internal``, the full list of opinions) as a PDF rendered by WeasyPrint."""
    from consultations.pdf import render_pdf

    html = render_template("records/record_pdf.html", **document_context(data, internal=internal))
    return render_pdf(html)
