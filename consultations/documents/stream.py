"""The DOCX written as a stream, bounded in memory whatever the number of opinions.

python-docx lays out everything but the rows of opinions (a small skeleton with a marker where
they go), then the skeleton's zip is copied entry by entry and word/document.xml is written in
two halves with the rows in between: each article's heading row and its opinions, generated as
XML text from the database cursor. A record of 100,000 opinions is never held in memory,
neither as rows nor as an lxml tree. tests/test_exports_documents.py checks that the rows are
byte for byte what python-docx writes.
"""

from __future__ import annotations

import io
import re
import secrets
import zipfile
from collections.abc import Callable, Iterator
from contextlib import closing, nullcontext
from dataclasses import dataclass
from typing import IO

from docx import Document
from docx.oxml.simpletypes import ST_TwipsMeasure
from docx.shared import Mm
from lxml import etree
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from consultations import record as rec
from consultations.documents.columns import opinion_columns, row_values
from consultations.documents.context import (
    DocOpinion,
    doc_items,
    doc_opinions,
    document_context,
    section_labels,
)
from consultations.documents.layout import TABLE_PT, build_document

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
_SZ = 2 * TABLE_PT
# One line of a cell exactly as ``layout._cell(cell, text)`` writes it with its defaults (not
# bold, no alignment), and an article's heading as ``layout._heading_row`` writes it.
_LINE_OPEN = (
    f'<w:p><w:pPr><w:spacing w:after="0"/></w:pPr><w:r><w:rPr><w:sz w:val="{_SZ}"/></w:rPr>'
)
_LINE_CLOSE = "</w:r></w:p>"
_EMPTY_LINE = _LINE_OPEN + _LINE_CLOSE
_HEADING_OPEN = (
    '<w:tr><w:trPr><w:cantSplit/></w:trPr><w:tc><w:tcPr><w:tcW w:type="dxa" w:w="{width}"/>'
    '<w:gridSpan w:val="{span}"/></w:tcPr><w:p><w:pPr><w:keepNext/><w:spacing w:after="0"/></w:pPr>'
    f'<w:r><w:rPr><w:b/><w:sz w:val="{_SZ}"/></w:rPr>'
)
_HEADING_CLOSE = "</w:r></w:p></w:tc></w:tr>"


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
    """One <w:tr> of the table of opinions: what ``_add_row`` and ``_cell`` make."""
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


def _heading_xml(text: str, heading_open: str) -> str:
    """An article's heading row (one line, as section headings are)."""
    text = _NOT_TEXT.sub(_xml_text, " ".join(text.split())) or "—"
    return f"{heading_open}{_t(text)}{_HEADING_CLOSE}"


def _twips(mm: float) -> int:
    return ST_TwipsMeasure.convert_to_xml(Mm(mm))


@dataclass
class _Skeleton:
    """The laid-out document without its rows of opinions, and what writing them needs."""

    data: rec.RecordData
    internal: bool
    consultation_id: int
    label: Callable[[int | None], str]
    cell_opens: list[str]
    heading_open: str
    package: bytes  # the .docx written by python-docx
    head: bytes  # word/document.xml up to the first row of opinions
    tail: bytes  # and from the end of the table on


def _skeleton(data: rec.RecordData, *, internal: bool) -> _Skeleton:
    ctx = document_context(data, internal=internal)
    marker = f"gop-y-opinion-rows-{secrets.token_hex(8)}"
    doc = build_document(
        ctx, internal=internal, fill=lambda table: table._tbl.append(etree.Comment(marker))
    )
    buffer = io.BytesIO()
    doc.save(buffer)
    package = buffer.getvalue()
    with zipfile.ZipFile(io.BytesIO(package)) as z:
        xml = z.read(DOCUMENT_XML)
    head, found, tail = xml.partition(f"<!--{marker}-->".encode())
    if not found or marker.encode() in tail:
        raise RuntimeError("the marker of the opinions' rows is not once in word/document.xml")
    widths = opinion_columns(internal)[1]
    return _Skeleton(
        data=data,
        internal=internal,
        consultation_id=data.consultation.id,
        label=section_labels(data),
        cell_opens=[
            f'<w:tc><w:tcPr><w:tcW w:type="dxa" w:w="{_twips(w)}"/></w:tcPr>' for w in widths
        ],
        heading_open=_HEADING_OPEN.format(width=_twips(sum(widths)), span=len(widths)),
        package=package,
        head=head,
        tail=tail,
    )


def _write(
    sk: _Skeleton,
    fh: IO[bytes],
    *,
    opinions: Iterator[DocOpinion] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[int]:
    """Write the .docx to ``fh``: the skeleton's entries as they are, word/document.xml with
    the rows streamed into it. Yields after each batch of rows, so a caller can hand on what
    was written; ``fh`` needs no seek (zipfile then writes data descriptors)."""
    n = 0
    with (
        zipfile.ZipFile(io.BytesIO(sk.package)) as src,
        zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as out,
    ):
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
                for item in doc_items(
                    sk.data, internal=sk.internal, opinions=opinions, label=sk.label
                ):
                    if isinstance(item, str):
                        batch.append(_heading_xml(item, sk.heading_open))
                        continue
                    n += 1
                    batch.append(_row_xml(row_values(item, sk.internal), sk.cell_opens))
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


def write_docx(
    data: rec.RecordData,
    fh: IO[bytes],
    *,
    internal: bool = False,
    progress: Callable[[int], None] | None = None,
) -> None:
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


def docx_chunks(
    data: rec.RecordData,
    *,
    internal: bool = False,
    engine: Engine | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
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
                opinions = doc_opinions(sk.consultation_id, session=session)
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
