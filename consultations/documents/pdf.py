"""The record (and the staff's full list of opinions) as PDF, rendered by WeasyPrint from
templates/records/record_pdf.html in the typeface the project ships (consultations/pdf.py)."""

from __future__ import annotations

from flask import render_template

from consultations import record as rec
from consultations.documents.columns import opinion_columns
from consultations.documents.context import document_context
from consultations.pdf import render_pdf


def record_pdf(data: rec.RecordData, *, internal: bool = False) -> bytes:
    """The record (or, ``internal``, the full list of opinions) as a PDF rendered by WeasyPrint."""
    header, widths = opinion_columns(internal)
    total = sum(widths)
    columns = [(label, round(100 * w / total, 2)) for label, w in zip(header, widths, strict=True)]
    html = render_template(
        "records/record_pdf.html", columns=columns, **document_context(data, internal=internal)
    )
    return render_pdf(html)
