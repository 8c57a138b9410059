"""The columns of the table of opinions, in the record and the staff export alike (DOCX and
PDF): what each row says and how wide each column is."""

from __future__ import annotations

from consultations.documents.context import DocRow


def opinion_columns(internal: bool) -> tuple[list[str], list[float]]:
    """The header and the widths (mm) of the table of opinions: the answer the widest column
    of the record; a tracking number ("YK-2026-000123") and a date on one line."""
    if internal:
        header = [
            "STT",
            "Mã số ý kiến",
            "Thời gian",
            "Nội dung ý kiến",
            "Quan điểm",
            "Hình thức",
            "Trạng thái",
            "Người góp ý",
            "Tiếp thu, giải trình",
        ]
        return header, [13, 34, 25, 46, 21, 25, 18, 24, 46]
    header = ["STT", "Mã số ý kiến", "Nội dung ý kiến", "Quan điểm", "Tiếp thu, giải trình"]
    return header, [13, 34, 46, 21, 51]


def row_values(r: DocRow, internal: bool) -> list[str]:
    values = [str(r.stt), r.tracking]
    if internal:
        return [
            *values,
            r.created,
            r.content,
            r.stance,
            r.channel,
            r.status,
            r.contributor,
            r.answer,
        ]
    return [*values, r.content, r.stance, r.answer]
