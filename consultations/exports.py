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

import csv
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

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


def _local(dt):
    return to_local(dt) if dt else None


def iter_export_rows(consultation_id: int, progress: Progress = None, session: Session | None = None) -> Iterator[list[Any]]:
    """Each opinion as a list of values in ``COLUMNS`` order (datetimes aware, local)."""
    n = 0
    for r in rec.iter_opinions(consultation_id, session=session):
        yield [
            r.tracking_number,
            _local(r.created_at),
            r.section_position,
            r.section_heading or None,
            rec._value(r.stance),
            rec._value(r.channel),
            rec._value(r.status),
            r.body,
            r.hidden_reason,
            r.display_name or r.contributor_name,
            r.locality_code,
            rec._value(r.outcome),
            r.explanation,
            _local(r.edited_at),
            _local(r.withdrawn_at),
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


def _neutralise(value: Any) -> Any:
    # A cell starting with = + - @ would run as a formula in a spreadsheet (CSV injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_chunks(consultation_id: int, progress: Progress = None, session: Session | None = None) -> Iterator[str]:
    """The CSV export as text chunks: a BOM and the header, then ~500 rows per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(COLUMNS)
    for i, row in enumerate(iter_export_rows(consultation_id, progress, session), start=1):
        writer.writerow([_neutralise(_text(v)) for v in row])
        if i % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def json_chunks(consultation_id: int, progress: Progress = None, session: Session | None = None) -> Iterator[str]:
    """The JSON export as a streamed array of objects keyed by ``COLUMNS``."""
    yield "["
    first = True
    for row in iter_export_rows(consultation_id, progress, session):
        item = {k: (_text(v) if v is not None else None) for k, v in zip(COLUMNS, row, strict=True)}
        yield ("\n" if first else ",\n") + json.dumps(item, ensure_ascii=False)
        first = False
    yield "\n]\n"


def write_xlsx(consultation_id: int, fh: IO[bytes], progress: Progress = None) -> None:
    """Write the XLSX export with a write-only workbook (rows are not kept in memory)."""
    # Imported here: the CSV and JSON exports (and the web workers) need not load openpyxl.
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Opinions")
    # Column widths and the frozen header go before the first row in write-only mode.
    for i, width in enumerate(WIDTHS):
        ws.column_dimensions[chr(ord("A") + i)].width = width
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for name in COLUMNS:
        cell = WriteOnlyCell(ws, value=name)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    count = 0
    for row in iter_export_rows(consultation_id, progress):
        values = []
        for v in row:
            if hasattr(v, "tzinfo") and v.tzinfo is not None:
                v = v.replace(tzinfo=None)  # Excel has no time zones; the values are Vietnam time
            if isinstance(v, str) and v.startswith("="):
                cell = WriteOnlyCell(ws, value=v)
                cell.data_type = "s"  # text, never a formula
                v = cell
            values.append(v)
        ws.append(values)
        count += 1
    # The filter is written after the rows, so its range can be set now.
    ws.auto_filter.ref = f"A1:{chr(ord('A') + len(COLUMNS) - 1)}{count + 1}"
    wb.save(fh)


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
