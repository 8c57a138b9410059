"""The minutes of the count (Biên bản kiểm phiếu) as DOCX and PDF, Decree 30/2020/NĐ-CP layout.

``minutes_context`` gathers what both print (``context``); ``docx`` lays the DOCX out with the
record's helpers (consultations/documents/layout.py); the PDF is templates/decisions/
minutes_pdf.html through WeasyPrint. The minutes print counts, never a household: their size
does not grow with the households, so they are made within the request.
"""

from __future__ import annotations

from typing import Any

from flask import render_template

from consultations.pdf import render_pdf
from decisions.minutes.context import minutes_context

__all__ = ["minutes_context", "minutes_docx", "minutes_pdf"]


def minutes_docx(ctx: dict[str, Any]) -> bytes:
    from decisions.minutes.docx import build  # lazy: python-docx loads with the first document

    return build(ctx)


def minutes_pdf(ctx: dict[str, Any]) -> bytes:
    return render_pdf(render_template("decisions/minutes_pdf.html", **ctx))
