"""The record of consultation as documents: DOCX (python-docx) and PDF (WeasyPrint).

Both follow the administrative document form of Decree 30/2020/NĐ-CP and print the same
things, prepared once by ``document_context``:

- ``wording``: the fixed Vietnamese words (stances, channels, dates, trích yếu, signature);
- ``context``: what the documents print, and the table of opinions read from the cursor;
- ``layout``: the DOCX laid out with python-docx;
- ``stream``: the DOCX written as a stream, its rows generated as XML text;
- ``pdf``: the PDF, from templates/records/record_pdf.html.

The wording is imported at once (the notice's date line uses it); python-docx, lxml and
WeasyPrint weigh tens of MB and are loaded by the first document asked for.
"""

from __future__ import annotations

import importlib

from consultations.documents.wording import (
    VI_CHANNEL,
    VI_OUTCOME,
    VI_STANCE,
    answer_text,
    place_name,
    short_date,
    trich_yeu,
    vn_date,
)

#: The public names of the heavy modules, loaded on first use.
_LAZY = {
    "DocRow": "context",
    "doc_items": "context",
    "doc_opinions": "context",
    "document_context": "context",
    "build_document": "layout",
    "opinion_columns": "columns",
    "row_values": "columns",
    "record_pdf": "pdf",
    "build_docx": "stream",
    "docx_chunks": "stream",
    "record_docx": "stream",
    "write_docx": "stream",
}

__all__ = [
    "VI_CHANNEL",
    "VI_OUTCOME",
    "VI_STANCE",
    "answer_text",
    "place_name",
    "short_date",
    "trich_yeu",
    "vn_date",
    *_LAZY,
]


def __getattr__(name: str):
    if name in _LAZY:
        # lazy: python-docx, lxml and WeasyPrint load with the first document asked for.
        value = getattr(importlib.import_module(f"consultations.documents.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
