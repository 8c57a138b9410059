"""A one-sheet XLSX workbook written as SpreadsheetML text straight into a zip.

Like the rows of the DOCX (consultations/documents.py), the sheet's rows are generated from an
iterator (the database cursor) in batches and compressed as they come, so neither the rows nor
an XML tree are ever held in memory. Strings are inline (t="inlineStr"), never formulas;
datetimes are Excel serial numbers shown as "14/8/2026 09:30". The sheet is laid out for a
person: a bold header row, frozen and filtered, set column widths, long text wrapped and every
cell aligned to the top of its row, printed in landscape with the header on every page.

What goes in it (which columns, in which language) is the caller's: consultations/exports.py.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
SHEET_PART = "xl/worksheets/sheet1.xml"

_STATIC_PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        f'<Override PartName="/{SHEET_PART}" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        f'<Relationships xmlns="{_PKG_REL_NS}">'
        f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
        f'<Relationship Id="rId2" Type="{_PKG_REL_NS}/metadata/core-properties" Target="docProps/core.xml"/>'
        "</Relationships>"
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<Relationships xmlns="{_PKG_REL_NS}">'
        f'<Relationship Id="rId1" Type="{_REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL_NS}/styles" Target="styles.xml"/>'
        "</Relationships>"
    ),
    # cellXfs: 0 the default (top-aligned: a long opinion makes its row tall), 1 the header
    # (bold, shaded, ruled, wrapped), 2 a date and time, 3 wrapped text.
    "xl/styles.xml": (
        f'<styleSheet xmlns="{_MAIN_NS}">'
        '<numFmts count="1"><numFmt numFmtId="164" formatCode="d/m/yyyy hh:mm"/></numFmts>'
        '<fonts count="2">'
        '<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
        "</fonts>"
        '<fills count="3"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill>'
        '<fill><patternFill patternType="solid"><fgColor rgb="FFE7E6E6"/><bgColor indexed="64"/></patternFill></fill>'
        "</fills>"
        '<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>'
        '<border><left/><right/><top/><bottom style="thin"><color auto="1"/></bottom><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="4">'
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">'
        '<alignment vertical="top"/></xf>'
        '<xf numFmtId="0" fontId="1" fillId="2" borderId="1" xfId="0" applyFont="1" applyFill="1" '
        'applyBorder="1" applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" '
        'applyAlignment="1"><alignment horizontal="left" vertical="top"/></xf>'
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">'
        '<alignment vertical="top" wrapText="1"/></xf>'
        "</cellXfs>"
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    ),
}
_STYLE_HEADER = 1
_STYLE_DATETIME = 2
_STYLE_WRAP = 3

#: Rows generated between two writes to the zip, and how many such writes may wait.
ROWS_PER_BATCH = 500
_PENDING = 4
#: What text cannot hold as is: & < > and CR (escaped; a literal CR would be read back as LF)
#: and the characters XML 1.0 does not allow (dropped, as in consultations/documents.py).
_NOT_XML = re.compile(r"[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_XML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}
#: The ordinal of 1899-12-30, day 0 of Excel's serial dates (1900 system; the day numbers are
#: right from 1900-03-01 on).
_EXCEL_EPOCH_ORDINAL = 693_594


@dataclass(frozen=True)
class Column:
    header: str
    #: In characters of the default font, as Excel counts them.
    width: float
    #: Long text (an opinion, an answer): wrapped within the column's width.
    wrap: bool = False


def column_letter(index: int) -> str:
    """ "A" for 0, "Z" for 25, "AA" for 26…"""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _xml_escape(match: re.Match) -> str:
    return _XML_ESCAPES.get(match.group(), "")


def xml_text(value: str) -> str:
    return _NOT_XML.sub(_xml_escape, value)


def excel_serial(dt: datetime) -> float:
    """A datetime as Excel's serial number (days since 1899-12-30, the time as the fraction),
    the same float as openpyxl's. An aware one is taken in its own (here Vietnam's) wall time:
    Excel has no time zones."""
    seconds = dt.hour * 3600 + dt.minute * 60 + dt.second + dt.microsecond / 1_000_000
    return dt.toordinal() - _EXCEL_EPOCH_ORDINAL + seconds / 86_400


def _string_cell(ref: str, text: str, style: int = 0) -> str:
    s = f' s="{style}"' if style else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def _cell_xml(ref: str, value: Any, style: int) -> str:
    """One cell of any other value than a plain string (those are handled in ``Sheet.row``)."""
    # Floats with 16 significant digits, as openpyxl wrote them (the same times read back).
    if isinstance(value, datetime):
        return f'<c r="{ref}" s="{_STYLE_DATETIME}"><v>{excel_serial(value):.16g}</v></c>'
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int):
        return f'<c r="{ref}"><v>{value}</v></c>'
    if isinstance(value, float) and math.isfinite(value):
        return f'<c r="{ref}"><v>{value:.16g}</v></c>'
    # A str subclass (an enum's value, a lazy translation) as its text; anything else as str().
    text = xml_text(str.__str__(value) if isinstance(value, str) else str(value))
    return _string_cell(ref, text, style) if text else ""


class _Sheet:
    def __init__(self, columns: Sequence[Column]):
        self.columns = columns
        self.letters = [column_letter(i) for i in range(len(columns))]
        # What follows a string cell's reference, with the column's style: built once, as the
        # row loop below is the hot loop of a 100,000-opinion export.
        self.openings = [
            (f'" s="{_STYLE_WRAP}"' if c.wrap else '"')
            + ' t="inlineStr"><is><t xml:space="preserve">'
            for c in columns
        ]
        self.styles = [_STYLE_WRAP if c.wrap else 0 for c in columns]

    def row(self, number: int, row: Sequence[Any]) -> str:
        """One <row>; None and empty strings leave their cell out."""
        n = str(number)
        out = ['<row r="', n, '">']
        for letter, opening, style, value in zip(
            self.letters, self.openings, self.styles, row, strict=True
        ):
            if type(value) is str:
                if not value:
                    continue
                if _NOT_XML.search(value) is not None:
                    value = _NOT_XML.sub(_xml_escape, value)
                    if not value:
                        continue
                out += ('<c r="', letter, n, opening, value, "</t></is></c>")
            elif value is not None:
                out.append(_cell_xml(letter + n, value, style))
        out.append("</row>")
        return "".join(out)

    def head(self) -> str:
        cols = "".join(
            f'<col min="{i}" max="{i}" width="{c.width}" customWidth="1"/>'
            for i, c in enumerate(self.columns, start=1)
        )
        header = "".join(
            _string_cell(f"{letter}1", xml_text(c.header), _STYLE_HEADER)
            for letter, c in zip(self.letters, self.columns, strict=True)
        )
        return (
            f'{_XML_DECLARATION}<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
            '<sheetViews><sheetView workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
            "</sheetView></sheetViews>"
            '<sheetFormatPr defaultRowHeight="15"/>'
            f"<cols>{cols}</cols>"
            f'<sheetData><row r="1">{header}</row>'
        )

    def tail(self, last_row: int, title: str) -> str:
        # Schema order: sheetData, …, autoFilter, …, pageMargins, pageSetup, headerFooter.
        # In headers and footers "&" starts a code: a title's own is doubled.
        header = xml_text(title[:200].replace("&", "&&"))
        return (
            f'</sheetData><autoFilter ref="A1:{self.letters[-1]}{last_row}"/>'
            '<pageMargins left="0.5" right="0.5" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
            '<pageSetup paperSize="9" orientation="landscape"/>'
            f"<headerFooter><oddHeader>&amp;L{header}</oddHeader>"
            "<oddFooter>&amp;C&amp;P/&amp;N</oddFooter></headerFooter>"
            "</worksheet>"
        )


def _quoted_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _workbook_xml(sheet_name: str, last_letter: str, last_row: int) -> str:
    ref = _quoted_sheet(xml_text(sheet_name))
    return (
        f'{_XML_DECLARATION}<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
        '<bookViews><workbookView activeTab="0"/></bookViews>'
        f'<sheets><sheet name="{xml_text(sheet_name)}" sheetId="1" r:id="rId1"/></sheets>'
        "<definedNames>"
        '<definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'
        f"{ref}!$A$1:${last_letter}${last_row}</definedName>"
        f'<definedName name="_xlnm.Print_Titles" localSheetId="0">{ref}!$1:$1</definedName>'
        "</definedNames></workbook>"
    )


def _core_xml(title: str) -> str:
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f"{_XML_DECLARATION}"
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{xml_text(title)}</dc:title><dc:creator>Góp ý</dc:creator>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{created}</dcterms:created>'
        "</cp:coreProperties>"
    )


def write_workbook(
    fh: IO[bytes],
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    *,
    sheet_name: str,
    title: str = "",
    zip64: bool = False,
) -> int:
    """Write a workbook of one sheet: the header, then ``rows`` as they come; return the number
    of the last row. ``fh`` needs no seek (zipfile then writes data descriptors). ``zip64``
    only for a sheet that may reach 2 GiB (Excel refuses some small entries written with
    ZIP64 headers).

    The batches are compressed and written by a second thread (zlib and the file let go of the
    GIL) while the next ones are generated; at most ``_PENDING`` wait for it."""
    sheet = _Sheet(columns)
    last_row = 1
    with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, xml in _STATIC_PARTS.items():
            zf.writestr(name, _XML_DECLARATION + xml)
        zf.writestr("docProps/core.xml", _core_xml(title))
        with zf.open(SHEET_PART, "w", force_zip64=zip64) as part, ThreadPoolExecutor(1) as writer:
            pending: deque[Future] = deque()

            def write(text: str) -> None:
                pending.append(writer.submit(part.write, text.encode("utf-8")))
                if len(pending) > _PENDING:
                    pending.popleft().result()  # raises what the writer raised

            write(sheet.head())
            batch: list[str] = []
            for row in rows:
                last_row += 1
                batch.append(sheet.row(last_row, row))
                if len(batch) == ROWS_PER_BATCH:
                    write("".join(batch))
                    batch.clear()
            write("".join(batch) + sheet.tail(last_row, title))
            while pending:
                pending.popleft().result()
        # The workbook names the filter's range, known once the rows are written.
        zf.writestr("xl/workbook.xml", _workbook_xml(sheet_name, sheet.letters[-1], last_row))
    return last_row
