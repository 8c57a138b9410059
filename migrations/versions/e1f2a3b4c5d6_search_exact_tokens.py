"""Search ranks exact matches first: the indexed text gains exact and pair tokens

``consultation.search_folded`` now holds, after the folded text, each word with its diacritics
as a token ("0d9a61t" for "đất") and each pair of neighbouring words ("1dat0dai"), once each
(consultations/search.py ``index_text``). Rebuilt here for every consultation; the FTS5 triggers
and the GIN index follow the update. Downgrading writes the folded text back.

Frozen: ``_fold`` and ``_index_text`` below are copies of ``core.textutil.fold`` and
``consultations.search.index_text`` as they stood at this revision, so a later change to the
search code does not change what this migration writes; no application code is imported.

Revision ID: e1f2a3b4c5d6
Revises: d1a7a91c0f35
Create Date: 2026-12-01 21:00:00
"""

import itertools
import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "e1f2a3b4c5d6"
down_revision = "d1a7a91c0f35"
branch_labels = None
depends_on = None


_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
#: VNI digits of the Vietnamese marks (after NFD): circumflex 6, breve 8, horn 7, tones 1 to 5.
_MARKS = {
    "\u0302": "6",
    "\u0306": "8",
    "\u031b": "7",
    "\u0301": "1",
    "\u0300": "2",
    "\u0309": "3",
    "\u0303": "4",
    "\u0323": "5",
}


def _fold(text):
    """Lower-case, strip diacritics and map đ to d."""
    if not text:
        return ""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.casefold()).strip()


def _exact_token(word):
    """The token keeping the diacritics of ``word``, or None for a word that has none."""
    word = unicodedata.normalize("NFC", word).casefold()
    if _fold(word) == word:
        return None
    out = []
    for ch in unicodedata.normalize("NFD", word.replace("đ", "d9")):
        if ch in _MARKS:
            out.append(_MARKS[ch])
        elif ch.isascii():
            out.append(ch)
        elif not unicodedata.combining(ch):
            out.append(_fold(ch) if _fold(ch).isascii() and _fold(ch) else f"{ord(ch):x}")
    return "0" + "".join(out)


def _index_text(text):
    """The folded text, then the exact tokens and the pair tokens of its words, each once."""
    folded = _fold(text)
    words = _WORD.findall(folded)
    exact = dict.fromkeys(
        t
        for t in (_exact_token(w) for w in _WORD.findall(unicodedata.normalize("NFC", text or "")))
        if t
    )
    pairs = dict.fromkeys(f"1{a}0{b}" for a, b in itertools.pairwise(words))
    return "\n".join(part for part in (folded, " ".join(exact), " ".join(pairs)) if part)


def _rebuild(make) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, title, summary FROM consultation ORDER BY id")).all()
    for cid, title, summary in rows:
        sections = bind.execute(
            sa.text("SELECT heading, text FROM section WHERE consultation_id = :c ORDER BY position"),
            {"c": cid},
        ).all()
        parts = [title, summary or ""] + [f"{h or ''}\n{t or ''}" for h, t in sections]
        bind.execute(
            sa.text("UPDATE consultation SET search_folded = :s WHERE id = :c"),
            {"s": make("\n".join(parts)), "c": cid},
        )


def upgrade():
    _rebuild(_index_text)


def downgrade():
    _rebuild(_fold)
