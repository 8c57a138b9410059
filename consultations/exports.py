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
similar_group            its group of alike opinions (alike/), the same for each member; empty
                         for an opinion alike to no other
======================== ==================================================================

E-mail addresses, telephone numbers and legal names are never exported. CSV and JSON are data,
with the stable codes above: CSV is UTF-8 with a BOM (Excel opens it with Vietnamese intact); JSON
is an array of objects with these keys. The XLSX is for people: the same columns in the same
order, headed in the reader's language (the request's; the ``export`` command's default,
Vietnamese), stances, channels, statuses and outcomes in the site's words ("Tán thành"), "The
whole draft" and "Not answered" where the data is empty, dates as dates in Vietnam's time. Text
that a spreadsheet would run as a formula (starting with = + - @) is prefixed with an apostrophe
in CSV, and stored as plain text in XLSX. Rows are read in batches of 1,000 and written as they
come, so memory stays bounded whatever the number of opinions.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy.orm import Session

from consultations import documents, labels, xlsx
from consultations.models import Consultation
from consultations.opinion_rows import _value, opinion_rows, opinion_rows_select
from consultations.record import load_record
from core.extensions import db
from core.timeutil import to_local

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
    "similar_group",
]
FORMATS = ("csv", "xlsx", "json", "docx", "pdf")
#: Media types of the downloads, without parameters (``send_file`` adds its own charset to a
#: text type); ``CONTENT_TYPES`` are the headers sent: one charset on text, none on binary.
MIMETYPES = {
    "csv": "text/csv",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}
CONTENT_TYPES = {
    fmt: f"{mimetype}; charset=utf-8" if fmt in ("csv", "json") else mimetype
    for fmt, mimetype in MIMETYPES.items()
}
#: Progress is reported every this many rows.
PROGRESS_EVERY = 10_000

Progress = Callable[[int], None] | None


def runs_as_job(c: Consultation, fmt: str) -> bool:
    """Whether this export is made by a background job (exportjobs/) rather than streamed
    in the request: the PDF (rendered whole by WeasyPrint), and any export of more than
    ``EXPORT_INLINE_MAX`` opinions."""
    return fmt == "pdf" or (c.opinion_count or 0) > int(current_app.config["EXPORT_INLINE_MAX"])


def _local(value):
    """A stored (naive UTC) datetime, or SQLite's text of one, as an aware Vietnam time."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return to_local(value.replace(tzinfo=UTC))


def iter_export_rows(
    consultation_id: int, progress: Progress = None, session: Session | None = None
) -> Iterator[list[Any]]:
    """Each opinion as a list of values in ``COLUMNS`` order (datetimes aware, local)."""
    n = 0
    value = _value
    # Unpacked from the driver's tuples: every step per row shows over 100,000 rows (bench/).
    for (
        _id, number, created_at, position, heading, stance, channel, status, body, hidden_reason,
        display_name, contributor_name, locality_code, _response_id, outcome, explanation,
        edited_at, withdrawn_at, similar_group,
    ) in opinion_rows(consultation_id, session=session, raw=True, similar=True):  # fmt: skip
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
            similar_group,
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


def csv_chunks(
    consultation_id: int, progress: Progress = None, session: Session | None = None
) -> Iterator[str]:
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


def json_chunks(
    consultation_id: int, progress: Progress = None, session: Session | None = None
) -> Iterator[str]:
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
# The XLSX is for people: headers in the reader's language, stances, channels, statuses and
# outcomes in the words of the site, dates shown as dates. The sheet itself is written by
# consultations/xlsx.py, streamed.

#: A generous bound on the markup of one row of the sheet, and on the bytes one character of
#: text can take once escaped ("&" -> "&amp;"): used to tell whether the sheet may need ZIP64.
_ROW_MARKUP_BOUND = 2048
_CHAR_BYTES_BOUND = 5
#: Columns whose stored codes the XLSX shows as the site's words.
_WORD_COLUMNS = {
    "stance": "STANCES",
    "channel": "CHANNELS",
    "status": "OPINION_STATUSES",
    "response_outcome": "OUTCOMES",
}
#: The width of each column in characters, in ``COLUMNS`` order; the long texts wrap within it.
WIDTHS = [15, 16, 10, 30, 16, 24, 12, 60, 30, 24, 14, 17, 60, 16, 16, 12]
_WRAPPED = {"section_heading", "body", "hidden_reason", "contributor", "response_explanation"}
_excel_serial = xlsx.excel_serial  # the tests compare it with openpyxl's


def xlsx_headers() -> list[str]:
    """The XLSX's header row in the current locale (the request's, or the default one)."""
    return [
        _("Tracking number"),
        _("Date received"),
        _("Position in the draft"),
        _("Article"),
        _("Stance"),
        _("Channel"),
        _("Status"),
        _("Text of the opinion"),
        _("Reason for hiding"),
        _("Contributor"),
        _("Locality code"),
        _("Outcome"),
        _("Explanation"),
        _("Last edited"),
        _("Withdrawn on"),
        _("Group of alike opinions"),
    ]


def _sheet_size_bound(consultation_id: int) -> int:
    """More bytes than the sheet's XML can take, read from the data (one aggregate query): a
    sheet of 2 GiB or more needs ZIP64, which is only used then (Excel refuses some small
    entries written with ZIP64 headers)."""
    stmt = opinion_rows_select(consultation_id)
    cols = stmt.selected_columns
    chars = [
        func.coalesce(func.length(getattr(cols, name)), 0)
        for name in (
            "tracking_number",
            "section_heading",
            "body",
            "hidden_reason",
            "display_name",
            "contributor_name",
            "locality_code",
            "explanation",
        )
    ]
    stmt = stmt.with_only_columns(
        func.count(), func.coalesce(func.sum(sum(chars[1:], chars[0])), 0)
    )
    count, total = db.session.execute(stmt.order_by(None)).one()
    return (count + 1) * _ROW_MARKUP_BOUND + int(total) * _CHAR_BYTES_BOUND + 64 * 1024


def _rows_in_words(rows: Iterator[list[Any]]) -> Iterator[list[Any]]:
    """The rows with their codes as the site's words, looked up once per export (gettext per
    cell would cost seconds over 100,000 opinions)."""
    words = [
        (
            COLUMNS.index(column),
            {key.value: str(text) for key, text in getattr(labels, table).items()},
        )
        for column, table in _WORD_COLUMNS.items()
    ]
    heading, whole = COLUMNS.index("section_heading"), _("The whole draft")
    outcome, unanswered = COLUMNS.index("response_outcome"), _("Not answered")
    for row in rows:
        for i, table in words:
            value = row[i]
            if value is not None:
                row[i] = table.get(value, value)
        if row[heading] is None:
            row[heading] = whole
        if row[outcome] is None:
            row[outcome] = unanswered
        yield row


def write_xlsx(consultation_id: int, fh: IO[bytes], progress: Progress = None) -> None:
    """Write the XLSX export: the rows straight from the database cursor, in batches, so memory
    stays bounded whatever their number. ``fh`` needs no seek."""
    c = db.session.get(Consultation, consultation_id)
    columns = [
        xlsx.Column(header, width, name in _WRAPPED)
        for name, header, width in zip(COLUMNS, xlsx_headers(), WIDTHS, strict=True)
    ]
    xlsx.write_workbook(
        fh,
        columns,
        _rows_in_words(iter_export_rows(consultation_id, progress)),
        sheet_name=_("Opinions"),
        title=c.title if c is not None else "",
        zip64=_sheet_size_bound(consultation_id) * 1.05 > zipfile.ZIP64_LIMIT,
    )


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
        # ``documents`` loads python-docx and WeasyPrint only now, on first use.
        data = load_record(db.session.get(Consultation, consultation_id))
        if fmt == "docx":
            # Streamed: 100,000 opinions take about 14 s and 110 MB (bench/run.py).
            documents.write_docx(data, fh, internal=True, progress=progress)
        else:
            fh.write(documents.record_pdf(data, internal=True))
