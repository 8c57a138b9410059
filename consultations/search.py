"""Diacritic-free search over ``Consultation.search_folded``.

Both sides are folded with ``textutil.fold`` ("Quy hoạch đất đai" is stored as "quy hoach dat dai",
the query "đất đai" or "dat dai" becomes "dat dai"), so the index only ever sees plain ASCII-ish
words. SQLite uses an FTS5 table kept in sync by triggers; PostgreSQL a GIN index over
``to_tsvector('simple', search_folded)``. Both match every word of the query as a word prefix.
(PostgreSQL first had a trigram index for ``ILIKE '%term%'``: short syllables such as "dat" made it
recheck most rows, 984 ms p95 over 5,000 consultations in bench/.) The listeners below make
``db.create_all()`` (the tests) build the current DDL; each migration holds its own copy of the
statements it ran, so nothing here is kept for history.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import DDL, event, text
from sqlalchemy.sql import ColumnElement

from core.extensions import db
from core.textutil import fold, search_terms

# --- the indexed text: folded words, then the exact words and the pairs of words -------------
#
# Folded, "đất đai" and "đạt … đại học" are the same words. So the text indexed for a
# consultation also holds, once each, (1) every word with diacritics as a token of its own that
# keeps them, "0" and the word in VNI ("đất" -> "0d9a61t"), and (2) every pair of neighbouring
# folded words, "1dat0dai". A query then ranks by what it matches exactly: the words with the
# diacritics typed, the words side by side, whole words rather than prefixes. The extra tokens
# start with a digit, so a prefix query on a folded word never reaches them.

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


def exact_token(word: str) -> str | None:
    """The token keeping the diacritics of ``word``, or None for a word that has none."""
    word = unicodedata.normalize("NFC", word).casefold()
    if fold(word) == word:
        return None
    out = []
    for ch in unicodedata.normalize("NFD", word.replace("đ", "d9")):
        if ch in _MARKS:
            out.append(_MARKS[ch])
        elif ch.isascii():
            out.append(ch)
        elif not unicodedata.combining(ch):
            out.append(fold(ch) if fold(ch).isascii() and fold(ch) else f"{ord(ch):x}")
    return "0" + "".join(out)


def _pair_token(first: str, second: str) -> str:
    return f"1{first}0{second}"


def index_text(text: str | None) -> str:
    """What ``Consultation.search_folded`` holds: the folded text, then the exact tokens and the
    pair tokens of its words, each once."""
    folded = fold(text)
    words = _WORD.findall(folded)
    exact = dict.fromkeys(
        t
        for t in (exact_token(w) for w in _WORD.findall(unicodedata.normalize("NFC", text or "")))
        if t
    )
    pairs = dict.fromkeys(_pair_token(a, b) for a, b in itertools.pairwise(words))
    return "\n".join(part for part in (folded, " ".join(exact), " ".join(pairs)) if part)


# --- SQLite: FTS5, external content over consultation.search_folded ---------------------------

SQLITE_FTS_TABLE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS consultation_fts USING fts5("
    "search_folded, content='consultation', content_rowid='id')"
)
SQLITE_FTS_INSERT_TRIGGER = (
    "CREATE TRIGGER IF NOT EXISTS consultation_fts_ai AFTER INSERT ON consultation BEGIN "
    "INSERT INTO consultation_fts(rowid, search_folded) VALUES (new.id, new.search_folded); END"
)
SQLITE_FTS_DELETE_TRIGGER = (
    "CREATE TRIGGER IF NOT EXISTS consultation_fts_ad AFTER DELETE ON consultation BEGIN "
    "INSERT INTO consultation_fts(consultation_fts, rowid, search_folded) "
    "VALUES ('delete', old.id, old.search_folded); END"
)
SQLITE_FTS_UPDATE_TRIGGER = (
    "CREATE TRIGGER IF NOT EXISTS consultation_fts_au AFTER UPDATE OF search_folded ON consultation BEGIN "
    "INSERT INTO consultation_fts(consultation_fts, rowid, search_folded) "
    "VALUES ('delete', old.id, old.search_folded); "
    "INSERT INTO consultation_fts(rowid, search_folded) VALUES (new.id, new.search_folded); END"
)
#: In order; each is one statement (SQLite executes one at a time).
SQLITE_DDL = (
    SQLITE_FTS_TABLE,
    SQLITE_FTS_INSERT_TRIGGER,
    SQLITE_FTS_DELETE_TRIGGER,
    SQLITE_FTS_UPDATE_TRIGGER,
)
#: Dropping the table drops its triggers; the FTS table must go by itself.
SQLITE_DROP_DDL = (
    "DROP TRIGGER IF EXISTS consultation_fts_au",
    "DROP TRIGGER IF EXISTS consultation_fts_ad",
    "DROP TRIGGER IF EXISTS consultation_fts_ai",
    "DROP TABLE IF EXISTS consultation_fts",
)

# --- PostgreSQL: full-text GIN index over the folded words -----------------------------------

#: to_tsvector wrapped in a function the planner knows to be costly. Once ANALYZE had run, it
#: priced to_tsvector over a whole folded draft as cheap and read the table through it instead
#: of the index: 1.3 s a search over 5,000 consultations (bench/). PL/pgSQL, so it is never
#: inlined (an inlined SQL function would lose its COST).
POSTGRES_TSV_FUNCTION = """CREATE OR REPLACE FUNCTION gopy_search_vector(folded text) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE COST 5000 AS $$
BEGIN
    RETURN to_tsvector('simple'::regconfig, folded);
END
$$"""
#: Must be the very expression of the WHERE clause for the planner to use the index.
POSTGRES_TSV_EXPRESSION = "gopy_search_vector(search_folded)"
POSTGRES_DDL = (
    POSTGRES_TSV_FUNCTION,
    "CREATE INDEX IF NOT EXISTS ix_consultation_search_vector "
    f"ON consultation USING gin ({POSTGRES_TSV_EXPRESSION})",
)
POSTGRES_DROP_DDL = (
    "DROP INDEX IF EXISTS ix_consultation_search_vector",
    "DROP FUNCTION IF EXISTS gopy_search_vector(text)",
)


for _statement in SQLITE_DDL:
    event.listen(db.metadata, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in SQLITE_DROP_DDL:
    event.listen(db.metadata, "before_drop", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in POSTGRES_DDL:
    event.listen(db.metadata, "after_create", DDL(_statement).execute_if(dialect="postgresql"))
for _statement in POSTGRES_DROP_DDL:
    event.listen(db.metadata, "before_drop", DDL(_statement).execute_if(dialect="postgresql"))


# --- the query --------------------------------------------------------------------------------


def _fts_query(terms: list[str]) -> str:
    # Each folded word as a quoted prefix: every word must match ("dat" "dai"*), and nothing
    # the visitor typed can be read as FTS5 syntax.
    return " ".join('"' + t.replace('"', "") + '"*' for t in terms)


@dataclass(frozen=True)
class _Ranked:
    """The three exact queries a search ranks by, as token lists (all must match)."""

    exact: list[str]
    pairs: list[str]
    whole: list[str]


def _ranked(query: str | None) -> _Ranked | None:
    terms = search_terms(query)
    if not terms:
        return None
    typed = _WORD.findall(unicodedata.normalize("NFC", query or ""))[: len(terms)]
    exact = [t for t in (exact_token(w) for w in typed) if t]
    pairs = [_pair_token(a, b) for a, b in itertools.pairwise(terms)]
    # A level that does not apply asks for the whole words again, so the SQL stays the same.
    return _Ranked(exact=exact or terms, pairs=pairs or terms, whole=terms)


#: The weight of each level: the diacritics typed, the words side by side, whole words.
_WEIGHTS = (("exact", 4), ("pairs", 2), ("whole", 1))
_SQLITE_RANK = (
    "(CASE WHEN consultation.id IN (SELECT rowid FROM consultation_fts WHERE consultation_fts MATCH :rank_exact) THEN 4 ELSE 0 END"
    " + CASE WHEN consultation.id IN (SELECT rowid FROM consultation_fts WHERE consultation_fts MATCH :rank_pairs) THEN 2 ELSE 0 END"
    " + CASE WHEN consultation.id IN (SELECT rowid FROM consultation_fts WHERE consultation_fts MATCH :rank_whole) THEN 1 ELSE 0 END)"
)
#: The same on the GIN index (the expression is POSTGRES_TSV_EXPRESSION on the alias).
_POSTGRES_RANK = (
    "(CASE WHEN consultation.id IN (SELECT ranked.id FROM consultation AS ranked WHERE gopy_search_vector(ranked.search_folded)"
    " @@ to_tsquery('simple'::regconfig, :rank_exact)) THEN 4 ELSE 0 END"
    " + CASE WHEN consultation.id IN (SELECT ranked.id FROM consultation AS ranked WHERE gopy_search_vector(ranked.search_folded)"
    " @@ to_tsquery('simple'::regconfig, :rank_pairs)) THEN 2 ELSE 0 END"
    " + CASE WHEN consultation.id IN (SELECT ranked.id FROM consultation AS ranked WHERE gopy_search_vector(ranked.search_folded)"
    " @@ to_tsquery('simple'::regconfig, :rank_whole)) THEN 1 ELSE 0 END)"
)


def search_rank(query: str | None) -> ColumnElement | None:
    """An ORDER BY key, highest first: 4 when the words match with the diacritics typed, 2 when
    they stand side by side, 1 when they match as whole words (not just prefixes), summed. Each
    level is an index lookup (FTS5 or the GIN index), never a read of the consultation's text."""
    ranked = _ranked(query)
    if ranked is None:
        return None
    if db.session.get_bind().dialect.name == "sqlite":
        params = {
            f"rank_{name}": " ".join('"' + t.replace('"', "") + '"' for t in getattr(ranked, name))
            for name, _weight in _WEIGHTS
        }
        return text(_SQLITE_RANK).bindparams(**params)
    # \w+ tokens hold no quote or backslash.
    params = {
        f"rank_{name}": " & ".join(f"'{t}'" for t in getattr(ranked, name))
        for name, _weight in _WEIGHTS
    }
    return text(_POSTGRES_RANK).bindparams(**params)


def search_condition(query: str | None) -> ColumnElement[bool] | None:
    """A WHERE condition on Consultation for the words of ``query``, or None when it has none."""
    terms = search_terms(query)
    if not terms:
        return None
    dialect = db.session.get_bind().dialect.name
    if dialect == "sqlite":
        # The unary + keeps SQLite from fetching each match's wide row by id: it scans the narrow
        # ix_consultation_listing instead, which holds every column the list filters on.
        return text(
            "+consultation.id IN (SELECT rowid FROM consultation_fts WHERE consultation_fts MATCH :fts_query)"
        ).bindparams(fts_query=_fts_query(terms))
    # Each word a quoted prefix ('dat':* & 'dai':*); \w+ words hold no quote or backslash.
    tsquery = " & ".join(f"'{t}':*" for t in terms)
    return text(
        f"{POSTGRES_TSV_EXPRESSION} @@ to_tsquery('simple'::regconfig, :tsquery)"
    ).bindparams(tsquery=tsquery)
