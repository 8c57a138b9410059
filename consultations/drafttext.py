"""The draft as text: split into articles at "Điều N." lines, and joined again for editing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.textutil import clean_text

if TYPE_CHECKING:
    from consultations.models import Consultation

#: A line that starts an article: "Điều 1.", "Điều 12a:", "Article 3." (case-insensitive).
ARTICLE_LINE = re.compile(r"^\s*(Điều|Dieu|Article)\s+\d+[a-zA-Z]?\s*[.:]", re.IGNORECASE)


@dataclass(frozen=True)
class DraftSection:
    heading: str
    text: str


def split_sections(text: str) -> list[DraftSection]:
    """Split a draft into articles at lines that begin "Điều N." or "Article N.".

    Text before the first article becomes a preamble with an empty heading. A draft without
    any article line is one section holding the whole text.
    """
    text = clean_text(text)
    sections: list[DraftSection] = []
    heading: str | None = None
    lines: list[str] = []

    def close() -> None:
        body = "\n".join(lines).strip()
        if heading is not None or body:
            sections.append(DraftSection(heading=heading or "", text=body))

    for line in text.split("\n"):
        if ARTICLE_LINE.match(line):
            close()
            heading, lines = line.strip()[:500], []
        else:
            lines.append(line)
    close()
    return sections


def draft_text(c: Consultation) -> str:
    """The draft as one text again, for the edit form."""
    parts = []
    for s in c.sections:
        parts.append(f"{s.heading}\n{s.text}".strip() if s.heading else s.text)
    return "\n\n".join(parts)
