"""What ``grouping.recompute`` writes of each opinion: its ``opinion_alike`` row and the bands
of its text. Only what changed is written: a consultation grouped again after a moderator's
decision rewrites a few rows, not 100,000 rows and 700,000 bands (Core statements: the ORM's
unit of work cost half the time at that size)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from alike import similarity
from alike.models import AlikeBand, OpinionAlike

_BATCH = 5000


def stored_rows(connection: Connection, consultation_id: int) -> dict[int, Any]:
    """Each opinion's row as it stands: (opinion_id, apart, text_key, signature, group_id)."""
    t = OpinionAlike.__table__
    found = connection.execute(
        select(t.c.opinion_id, t.c.apart, t.c.text_key, t.c.signature, t.c.group_id).where(
            t.c.consultation_id == consultation_id
        )
    )
    return {r.opinion_id: r for r in found}


def _batches(values: list[dict], statement, connection: Connection) -> None:
    for start in range(0, len(values), _BATCH):
        connection.execute(statement, values[start : start + _BATCH])


def _insert(table, rows: list[dict], connection: Connection) -> None:
    """New rows; on PostgreSQL through COPY, in the same transaction: a consultation grouped
    for the first time writes a row per opinion and several bands per text, and inserting the
    700,000 rows of 100,000 opinions one by one took 40 s (bench/million.py)."""
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        _batches(rows, insert(table), connection)
        return
    from psycopg import sql  # lazy: only PostgreSQL's path needs the driver

    columns = list(rows[0])
    command = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    cursor = connection.connection.driver_connection.cursor()
    with cursor, cursor.copy(command) as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def write_members(
    connection: Connection,
    consultation_id: int,
    ids: Sequence[int],
    texts: Mapping[int, similarity.Text],
    member_of: Mapping[int, int],
    apart: set[int],
    stored: Mapping[int, Any],
) -> None:
    """Insert the rows of opinions seen for the first time, update those that changed."""
    t = OpinionAlike.__table__
    fresh, changed = [], []
    for oid in ids:
        text, group, away = texts[oid], member_of.get(oid), oid in apart
        old = stored.get(oid)
        if old is None:
            fresh.append(
                {
                    "opinion_id": oid,
                    "consultation_id": consultation_id,
                    "group_id": group,
                    "text_key": text.key,
                    "signature": text.signature,
                    "apart": away,
                }
            )
        elif (old.group_id, old.text_key, old.signature, bool(old.apart)) != (
            group,
            text.key,
            text.signature,
            away,
        ):
            changed.append({"o": oid, "g": group, "k": text.key, "sg": text.signature})
    _insert(t, fresh, connection)
    statement = (
        update(t)
        .where(t.c.opinion_id == bindparam("o"))
        .values(group_id=bindparam("g"), text_key=bindparam("k"), signature=bindparam("sg"))
    )
    _batches(changed, statement, connection)


def write_bands(
    connection: Connection,
    consultation_id: int,
    ids: Sequence[int],
    texts: Mapping[int, similarity.Text],
    stored: Mapping[int, Any],
) -> None:
    """One set of bands per distinct text, on its first opinion (``ids`` in order); the bands
    of an opinion whose text or part changed are replaced."""
    first: dict[str, int] = {}
    for oid in ids:
        first.setdefault(texts[oid].key, oid)
    wanted = set(first.values())
    b = AlikeBand.__table__
    banded = set(
        connection.scalars(
            select(b.c.opinion_id).where(b.c.consultation_id == consultation_id).distinct()
        )
    )

    def same(oid: int) -> bool:
        old = stored.get(oid)
        return old is not None and old.signature == texts[oid].signature

    stale = [oid for oid in banded if oid not in wanted or not same(oid)]
    for start in range(0, len(stale), 500):
        connection.execute(delete(b).where(b.c.opinion_id.in_(stale[start : start + 500])))
    rows = [
        {"consultation_id": consultation_id, "key": key, "opinion_id": oid}
        for oid in sorted(wanted)
        if oid not in banded or not same(oid)
        for key in similarity.band_keys(texts[oid].signature)
    ]
    _insert(b, rows, connection)
