"""Downloads of a consultation's opinions (CSV, XLSX, JSON) and of its record (DOCX, PDF).

The opinion exports are for reviewers, moderators and officials: every opinion, hidden and
withdrawn ones too, one row each, with these columns in this order:

======================== ==================================================================
tracking_number          YK-<year>-<6 digits>
created_at               when it was recorded, ISO 8601 in Asia/Ho_Chi_Minh (+07:00)
section_position         the article's position (1, 2, …); empty for the whole draft
section_heading          the article's heading ("Điều 1. …"); empty for the whole draft
stance                   agree | disagree | suggest
channel                  online | meeting | dialogue | paper | hotline | front | social
status                   published | hidden | withdrawn
body                     the full text (also of hidden and withdrawn opinions)
hidden_reason            the moderator's public reason, when hidden
contributor              the author's public display name, or the offline contributor's name
locality_code            code of the author's village or commune, when known
response_outcome         accepted | partly_accepted | not_accepted | noted; empty if unanswered
response_explanation     the answer's explanation
edited_at                last edit by the author (ISO, +07:00), if any
withdrawn_at             when it was withdrawn (ISO, +07:00), if it was
======================== ==================================================================

E-mail addresses, telephone numbers and legal names are never exported. CSV is UTF-8 with a
BOM (Excel opens it with Vietnamese intact); JSON is an array of objects with these keys;
XLSX has the same header row (dates are real date-times there, in Vietnam's time). Text that
a spreadsheet would run as a formula (starting with = + - @) is prefixed with an apostrophe
in CSV, and stored as plain text in XLSX. Rows are read in batches of 1,000 and written as
they come, so memory stays bounded whatever the number of opinions.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import zipfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func
from sqlalchemy.orm import Session

from consultations import record as rec
from timeutil import to_local

COLUMNS = [
    "tracking_number",
    "created_at",
    "section_position",
    "section_heading",
    "stance",
    "channel",
    "status",
    "body",
    "hidden_reason",
    "contributor",
    "locality_code",
    "response_outcome",
    "response_explanation",
    "edited_at",
    "withdrawn_at",
]
WIDTHS = [18, 26, 8, 40, 10, 10, 11, 80, 40, 28, 14, 16, 60, 26, 26]
FORMATS = ("csv", "xlsx", "json", "docx", "pdf")
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}
#: Progress is reported every this many rows.
PROGRESS_EVERY = 10_000

Progress = Callable[[int], None] | None


def _local(value):
    """A stored (naive UTC) datetime, or SQLite's text of one, as an aware Vietnam time."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return to_local(value.replace(tzinfo=UTC))


def iter_export_rows(consultation_id: int, progress: Progress = None, session: Session | None = None) -> Iterator[list[Any]]:
    """Each opinion as a list of values in ``COLUMNS`` order (datetimes aware, local)."""
    n = 0
    value = rec._value
    # Unpacked from the driver's tuples: every step per row shows over 100,000 rows (bench/).
    for (
        _id, number, created_at, position, heading, stance, channel, status, body, hidden_reason,
        display_name, contributor_name, locality_code, _response_id, outcome, explanation,
        edited_at, withdrawn_at,
    ) in rec.opinion_rows(consultation_id, session=session, raw=True):  # fmt: skip
        yield [
            number,
            _local(created_at),
            position,
            heading or None,
            value(stance),
            value(channel),
            value(status),
            body,
            hidden_reason,
            display_name or contributor_name,
            locality_code,
            value(outcome),
            explanation,
            _local(edited_at) if edited_at is not None else None,
            _local(withdrawn_at) if withdrawn_at is not None else None,
        ]
        n += 1
        if progress and n % PROGRESS_EVERY == 0:
            progress(n)
    if progress and (n == 0 or n % PROGRESS_EVERY):
        progress(n)


def _text(value: Any) -> Any:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat(timespec="seconds")
    return value


def csv_chunks(consultation_id: int, progress: Progress = None, session: Session | None = None) -> Iterator[str]:
    """The CSV export as text chunks: a BOM and the header, then 500 rows per chunk."""
    lines = ["\ufeff" + ",".join(COLUMNS) + "\r\n"]  # plain names: nothing to quote
    for row in iter_export_rows(consultation_id, progress, session):
        lines.append(_csv_line(row))
        if len(lines) == 500:
            yield "".join(lines)
            lines.clear()
    yield "".join(lines)


#: Columns that hold datetimes, and those holding text someone typed (the rest are our own values).
_DATETIME_COLUMNS = tuple(i for i, c in enumerate(COLUMNS) if c.endswith("_at"))
_TYPED_COLUMNS = tuple(
    COLUMNS.index(c)
    for c in ("section_heading", "body", "hidden_reason", "contributor", "response_explanation")
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_line(row: list[Any]) -> str:
    """One CSV record (RFC 4180, CRLF, every text quoted): datetimes in ISO form, and typed text
    that starts like a spreadsheet formula (= + - @) prefixed with ' so it cannot run (CSV
    injection). Written here rather than by the csv module, which took twice as long over
    100,000 opinions' long texts (bench/)."""
    for i in _DATETIME_COLUMNS:
        if row[i] is not None:
            row[i] = row[i].isoformat(timespec="seconds")
    for i in _TYPED_COLUMNS:
        value = row[i]
        if value and value.startswith(_FORMULA_STARTS):
            row[i] = "'" + value
    return ",".join([_csv_field(v) for v in row]) + "\r\n"


def _csv_field(value: Any) -> str:
    if value is None:
        return ""
    if type(value) is str:
        return '"' + value.replace('"', '""') + '"'
    return str(value)


def json_chunks(consultation_id: int, progress: Progress = None, session: Session | None = None) -> Iterator[str]:
    """The JSON export as a streamed array of objects keyed by ``COLUMNS``."""
    yield "["
    first = True
    for row in iter_export_rows(consultation_id, progress, session):
        item = {k: (_text(v) if v is not None else None) for k, v in zip(COLUMNS, row, strict=True)}
        yield ("\n" if first else ",\n") + json.dumps(item, ensure_ascii=False)
        first = False
    yield "\n]\n"


# -- XLSX ------------------------------------------------------------------------------------------
#
# The workbook is written as SpreadsheetML text straight into a zip, like the rows of the DOCX
# (consultations/documents.py): one sheet, its rows generated from the database cursor in batches
# and compressed as they come, so neither the rows nor an XML tree are ever held in memory.
# Strings are inline (t="inlineStr"), never formulas; datetimes are Excel serial numbers.

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_SHEET_NAME = "Opinions"
_SHEET_PART = "xl/worksheets/sheet1.xml"

_XLSX_STATIC_PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        f'<Override PartName="/{_SHEET_PART}" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        f'<Relationships xmlns="{_PKG_REL_NS}">'
        f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<Relationships xmlns="{_PKG_REL_NS}">'
        f'<Relationship Id="rId1" Type="{_REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL_NS}/styles" Target="styles.xml"/>'
        "</Relationships>"
    ),
    # cellXfs: 0 the default, 1 bold (the header), 2 a date and time (datetime cells).
    "xl/styles.xml": (
        f'<styleSheet xmlns="{_MAIN_NS}">'
        '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
        '<fonts count="2">'
        '<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
        "</fonts>"
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="3">'
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        "</cellXfs>"
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    ),
}
_STYLE_BOLD = 1
_STYLE_DATETIME = 2

#: Rows generated between two writes to the zip, and how many such writes may wait.
XLSX_ROWS_PER_BATCH = 500
_XLSX_PENDING = 4
#: What text cannot hold as is: & < > and CR (escaped; a literal CR would be read back as LF)
#: and the characters XML 1.0 does not allow (dropped, as in consultations/documents.py).
_NOT_XML = re.compile(r"[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_XML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}
#: The ordinal of 1899-12-30, day 0 of Excel's serial dates (1900 system; the day numbers are
#: right from 1900-03-01 on).
_EXCEL_EPOCH_ORDINAL = 693_594
#: A generous bound on the markup of one row of the sheet, and on the bytes one character of
#: text can take once escaped ("&" -> "&amp;"): used to tell whether the sheet may need ZIP64.
_ROW_MARKUP_BOUND = 2048
_CHAR_BYTES_BOUND = 5


def _column_letter(index: int) -> str:
    """"A" for 0, "Z" for 25, "AA" for 26…"""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


_LETTERS = [_column_letter(i) for i in range(len(COLUMNS))]
_LAST_LETTER = _LETTERS[-1]


def _xml_escape(match: re.Match) -> str:
    return _XML_ESCAPES.get(match.group(), "")


def _excel_serial(dt: datetime) -> float:
    """A datetime as Excel's serial number (days since 1899-12-30, the time as the fraction),
    the same float as openpyxl's. An aware one is taken in its own (here Vietnam's) wall time:
    Excel has no time zones."""
    seconds = dt.hour * 3600 + dt.minute * 60 + dt.second + dt.microsecond / 1_000_000
    return dt.toordinal() - _EXCEL_EPOCH_ORDINAL + seconds / 86_400


def _string_cell(ref: str, text: str, style: str = "") -> str:
    return f'<c r="{ref}"{style} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def _cell_xml(ref: str, value: Any) -> str:
    """One cell of any other value than a string (strings are handled in ``_row_xml``)."""
    # Floats with 16 significant digits, as openpyxl wrote them (the same times read back).
    if isinstance(value, datetime):
        return f'<c r="{ref}" s="{_STYLE_DATETIME}"><v>{_excel_serial(value):.16g}</v></c>'
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int):
        return f'<c r="{ref}"><v>{value}</v></c>'
    if isinstance(value, float) and math.isfinite(value):
        return f'<c r="{ref}"><v>{value:.16g}</v></c>'
    # A str subclass (an enum's value) as its text; anything else as str() would show it.
    text = _NOT_XML.sub(_xml_escape, str.__str__(value) if isinstance(value, str) else str(value))
    return _string_cell(ref, text) if text else ""


def _row_xml(number: int, row: list[Any]) -> str:
    """One <row> of the sheet; None and empty strings leave their cell out. (The hot loop of
    the export: strings, most cells, are written inline here.)"""
    n = str(number)
    out = ['<row r="', n, '">']
    for letter, value in zip(_LETTERS, row, strict=True):
        if type(value) is str:
            if not value:
                continue
            if _NOT_XML.search(value) is not None:
                value = _NOT_XML.sub(_xml_escape, value)
                if not value:
                    continue
            out += ('<c r="', letter, n, '" t="inlineStr"><is><t xml:space="preserve">', value, "</t></is></c>")
        elif value is not None:
            out.append(_cell_xml(letter + n, value))
    out.append("</row>")
    return "".join(out)


def _sheet_head() -> str:
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{width}" customWidth="1"/>'
        for i, width in enumerate(WIDTHS, start=1)
    )
    header = "".join(
        _string_cell(f"{letter}1", _NOT_XML.sub(_xml_escape, name), f' s="{_STYLE_BOLD}"')
        for letter, name in zip(_LETTERS, COLUMNS, strict=True)
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


def _sheet_tail(last_row: int) -> str:
    # Schema order: sheetData, …, autoFilter, …, pageMargins.
    return (
        f'</sheetData><autoFilter ref="A1:{_LAST_LETTER}{last_row}"/>'
        '<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>'
        "</worksheet>"
    )


def _workbook_xml(last_row: int) -> str:
    return (
        f'{_XML_DECLARATION}<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
        '<bookViews><workbookView activeTab="0"/></bookViews>'
        f'<sheets><sheet name="{_SHEET_NAME}" sheetId="1" r:id="rId1"/></sheets>'
        '<definedNames><definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'
        f"{_SHEET_NAME}!$A$1:${_LAST_LETTER}${last_row}</definedName></definedNames>"
        "</workbook>"
    )


def _sheet_size_bound(consultation_id: int) -> int:
    """More bytes than the sheet's XML can take, read from the data (one aggregate query): a
    sheet of 2 GiB or more needs ZIP64, which is only used then (Excel refuses some small
    entries written with ZIP64 headers)."""
    from extensions import db

    stmt = rec.opinion_rows_select(consultation_id)
    cols = stmt.selected_columns
    chars = [
        func.coalesce(func.length(getattr(cols, name)), 0)
        for name in ("tracking_number", "section_heading", "body", "hidden_reason", "display_name",
                     "contributor_name", "locality_code", "explanation")
    ]
    stmt = stmt.with_only_columns(func.count(), func.coalesce(func.sum(sum(chars[1:], chars[0])), 0))
    count, total = db.session.execute(stmt.order_by(None)).one()
    return (count + 1) * _ROW_MARKUP_BOUND + int(total) * _CHAR_BYTES_BOUND + 64 * 1024


def write_xlsx(consultation_id: int, fh: IO[bytes], progress: Progress = None) -> None:
    """Write the XLSX export: SpreadsheetML streamed into a zip, the rows in batches straight
    from the database cursor, so memory stays bounded whatever their number. ``fh`` needs no
    seek (zipfile then writes data descriptors).

    The batches are compressed and written by a second thread (zlib and the file let go of the
    GIL) while the next ones are read and generated; at most ``_XLSX_PENDING`` wait for it."""
    zip64 = _sheet_size_bound(consultation_id) * 1.05 > zipfile.ZIP64_LIMIT
    last_row = 1
    with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, xml in _XLSX_STATIC_PARTS.items():
            zf.writestr(name, _XML_DECLARATION + xml)
        with zf.open(_SHEET_PART, "w", force_zip64=zip64) as sheet, ThreadPoolExecutor(1) as writer:
            pending: deque[Future] = deque()

            def write(text: str) -> None:
                pending.append(writer.submit(sheet.write, text.encode("utf-8")))
                if len(pending) > _XLSX_PENDING:
                    pending.popleft().result()  # raises what the writer raised

            write(_sheet_head())
            batch: list[str] = []
            for row in iter_export_rows(consultation_id, progress):
                last_row += 1
                batch.append(_row_xml(last_row, row))
                if len(batch) == XLSX_ROWS_PER_BATCH:
                    write("".join(batch))
                    batch.clear()
            write("".join(batch) + _sheet_tail(last_row))
            while pending:
                pending.popleft().result()
        # The workbook names the filter's range, known once the rows are written.
        zf.writestr("xl/workbook.xml", _workbook_xml(last_row))


def xlsx_tempfile(consultation_id: int) -> Path:
    """The XLSX export written to a temporary file (closed); the caller sends and deletes it."""
    fd, name = tempfile.mkstemp(prefix="gopy-", suffix=".xlsx")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            write_xlsx(consultation_id, fh)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def file_chunks(path: Path, size: int = 64 * 1024) -> Iterator[bytes]:
    """Stream a temporary file, deleting it once sent. It is opened only when the first chunk
    is asked for, so a response that is never read leaves no open file behind."""
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(size):
                yield chunk
    finally:
        path.unlink(missing_ok=True)


def write_export(consultation_id: int, fmt: str, fh: IO[bytes], progress: Progress = None) -> None:
    """Write one export format to a binary file (the ``export`` command uses this)."""
    if fmt == "csv":
        for chunk in csv_chunks(consultation_id, progress):
            fh.write(chunk.encode("utf-8"))
    elif fmt == "json":
        for chunk in json_chunks(consultation_id, progress):
            fh.write(chunk.encode("utf-8"))
    elif fmt == "xlsx":
        write_xlsx(consultation_id, fh, progress)
    else:
        from consultations import documents  # python-docx and WeasyPrint only when needed
        from consultations.models import Consultation
        from extensions import db

        c = db.session.get(Consultation, consultation_id)
        data = rec.load_record(c)
        if fmt == "docx":
            # Streamed: 100,000 opinions take about 14 s and 110 MB (bench/run.py).
            documents.write_docx(data, fh, internal=True, progress=progress)
        else:
            fh.write(documents.record_pdf(data, internal=True))
