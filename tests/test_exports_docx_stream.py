"""The streamed DOCX: byte for byte what python-docx builds, bounded in memory, row by row."""

from __future__ import annotations

import io
import zipfile

import docx
import pytest
import sqlalchemy as sa
from docx.oxml.ns import qn
from support import opinions_of_every_kind

from consultations.models import Consultation, Opinion, Response
from core.extensions import db
from core.timeutil import utcnow


@pytest.fixture
def closed(app, make):
    """Four opinions on the whole draft and two articles, one hidden and one withdrawn."""
    cid, ids = opinions_of_every_kind(app, make)
    with app.app_context():
        answer = Response(
            consultation_id=cid,
            outcome="accepted",
            explanation="Bổ sung lộ giới 4 m.",
            summary="Đề nghị mở rộng ngõ.",
        )
        db.session.add(answer)
        db.session.flush()
        db.session.get(Opinion, ids["online"]).response_id = answer.id
        db.session.commit()
        numbers = {k: db.session.get(Opinion, v).tracking_number for k, v in ids.items()}
    return cid, numbers


def opinion_rows(table) -> list:
    """The rows of opinions, without the header and the articles' heading rows (one cell)."""
    return [r for r in table.rows[1:] if len(r._tr.tc_lst) > 1]


# -- the streamed DOCX: the same document python-docx would build, written row by row ------------

TRICKY = (
    "  Lề trái\tcó tab & <thẻ> \"ngoặc\" 'đơn' 🌾\r\nDòng hai\n\nDòng bốn  \n   \n\t\tthụt lề\r"
)


def _python_docx_rows(data, internal):
    """The rows as the python-docx code built them before the DOCX was streamed."""
    from consultations import documents
    from consultations.documents import layout

    widths = documents.opinion_columns(internal)[1]

    def fill(table):
        for r in documents.doc_items(data, internal=internal):
            if isinstance(r, str):
                layout._heading_row(table, r, widths)
                continue
            for cell, value in zip(
                layout._add_row(table), documents.row_values(r, internal), strict=True
            ):
                layout._cell(cell, value)

    return fill


def _entries(blob: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        return {name: z.read(name) for name in z.namelist()}


@pytest.mark.parametrize("internal", [False, True])
def test_streamed_docx_is_byte_for_byte_what_python_docx_builds(app, closed, internal, monkeypatch):
    from consultations import documents
    from consultations import record as rec
    from consultations.documents import context

    now = utcnow().replace(microsecond=0)
    monkeypatch.setattr(context, "utcnow", lambda: now)  # a draft is dated when it is made
    cid, numbers = closed
    with app.test_request_context():
        op = db.session.scalar(
            sa.select(Opinion).where(Opinion.tracking_number == numbers["online"])
        )
        op.body = TRICKY
        db.session.commit()
        data = rec.load_record(db.session.get(Consultation, cid))
        streamed = documents.record_docx(data, internal=internal)
        reference = documents.build_document(
            documents.document_context(data, internal=internal),
            internal=internal,
            fill=_python_docx_rows(data, internal),
        )
        buffer = io.BytesIO()
        reference.save(buffer)
    got, want = _entries(streamed), _entries(buffer.getvalue())
    assert list(got) == list(want)
    assert got["word/document.xml"] == want["word/document.xml"]
    assert got == want
    if internal:
        document = docx.Document(io.BytesIO(streamed))
        table = next(t for t in document.tables if t.rows[0].cells[0].text == "STT")
        assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None  # repeated on each page
        row = next(r for r in table.rows if r.cells[1].text == numbers["online"])
        assert row.cells[3].text == TRICKY.replace("\r", "\n")
    table = next(
        t for t in docx.Document(io.BytesIO(streamed)).tables if t.rows[0].cells[0].text == "STT"
    )
    heading_rows = [r for r in table.rows[1:] if len(r._tr.tc_lst) == 1]
    headings = [r.cells[0].text for r in heading_rows]
    assert headings == [
        "Toàn bộ dự thảo",
        "Điều 1. Phạm vi điều chỉnh",
        "Điều 3. Lộ giới đường ngõ",
    ]
    for row in heading_rows:  # across the table, never split, kept with the first opinion below
        assert row._tr.tc_lst[0].tcPr.find(qn("w:gridSpan")).get(qn("w:val")) == str(
            len(table.columns)
        )
        assert row._tr.trPr.find(qn("w:cantSplit")) is not None
        assert row.cells[0].paragraphs[0].paragraph_format.keep_with_next
        assert all(r.bold for r in row.cells[0].paragraphs[0].runs)
    assert all(
        r._tr.trPr is None or r._tr.trPr.find(qn("w:cantSplit")) is None
        for r in opinion_rows(table)
    )


def test_characters_xml_cannot_hold_are_dropped(app, closed):
    from consultations import documents
    from consultations import record as rec

    cid, numbers = closed
    with app.test_request_context():
        op = db.session.scalar(
            sa.select(Opinion).where(Opinion.tracking_number == numbers["online"])
        )
        op.body = "Trước\x0bsau\x1f\ufffe."
        db.session.commit()
        blob = documents.record_docx(
            rec.load_record(db.session.get(Consultation, cid)), internal=True
        )
    table = next(
        t for t in docx.Document(io.BytesIO(blob)).tables if t.rows[0].cells[0].text == "STT"
    )
    assert any(r.cells[3].text == "Trướcsau." for r in table.rows)


def test_docx_chunks_are_read_after_the_request_with_their_own_session(app, closed):
    from consultations import documents
    from consultations import record as rec

    cid, numbers = closed
    counts = []
    with app.test_request_context():
        data = rec.load_record(db.session.get(Consultation, cid))
        chunks = documents.docx_chunks(
            data, internal=True, engine=db.engine, progress=counts.append
        )
        engine = db.engine
    # as a streamed response: the request and its session are gone when the rows are read
    blob = b"".join(chunks)
    engine.dispose()
    assert counts == [4]
    table = next(
        t for t in docx.Document(io.BytesIO(blob)).tables if t.rows[0].cells[0].text == "STT"
    )
    assert {r.cells[1].text for r in opinion_rows(table)} == set(numbers.values())


def test_write_docx_streams_many_rows_to_an_unseekable_file(app, make, tmp_path):
    from consultations import documents
    from consultations import record as rec

    class Pipe:  # no tell, no seek: what a socket or a pipe offers
        def __init__(self, fh):
            self.fh = fh

        def write(self, b):
            return self.fh.write(b)

        def flush(self):
            pass

    cid = make.consultation("open")
    template_id = make.opinion(cid, body="Một ý kiến\tlặp lại & <nhiều> lần.")
    with app.test_request_context():
        c = db.session.get(Consultation, cid)
        template = db.session.get(Opinion, template_id)
        db.session.add_all(
            Opinion(
                **{
                    col.key: getattr(template, col.key)
                    for col in Opinion.__table__.columns
                    if col.key not in ("id", "tracking_number")
                },
                tracking_number=f"YK-2099-{i:06d}",
            )
            for i in range(1, 1201)
        )
        db.session.commit()
        counts = []
        path = tmp_path / "big.docx"
        with path.open("wb") as fh:
            documents.write_docx(
                rec.load_record(c), Pipe(fh), internal=True, progress=counts.append
            )
    table = next(t for t in docx.Document(str(path)).tables if t.rows[0].cells[0].text == "STT")
    assert len(table.rows) == 1 + 1 + 1201  # the header, the heading "Toàn bộ dự thảo", the rows
    assert [r.cells[0].text for r in table.rows[2:5]] == ["1", "2", "3"]
    assert counts == [1201]
