"""One lock per consultation, taken by every service that changes its opinions, answers or record.

Publishing the record, answering, hiding and restoring, editing, withdrawing and reporting an
opinion, entering an offline opinion: each first calls :func:`lock_consultation`, then checks
the state it just read again. Two such changes of one consultation never overlap, so a publish
that wins makes a later answer a 409 (``StateError``), and an answer that wins is inside the
published record's hash.

PostgreSQL: ``SELECT … FOR UPDATE`` on the consultation's row; the lock is held until the
transaction ends. SQLite: ``BEGIN IMMEDIATE`` takes the database's write lock before anything is
read (pysqlite would begin only at the first write, after the checks had read a stale state);
the busy timeout of app.py makes the others wait for it.

Online posting takes the row too (:func:`lock_for_posting`, PostgreSQL ``FOR NO KEY UPDATE``),
at the start rather than when the tally trigger updates the row (where posts already queue; a
shared lock there would deadlock two posts upgrading it). A post and a close or a publish then
never overlap: without it, an opinion that passed the "open" check a millisecond before the
closing instant could commit after the record was hashed, and ``record verify`` would say
MISMATCH (tests/test_races.py).

On PostgreSQL a post takes that lock in its insert (:func:`insert_if_open`): one statement
locks the row, checks it is open, hands out the tracking number and inserts the opinion, so
the posts that queue on the row wait for four round trips rather than seven (the insert,
the audit event, the receipt's outbox row, the COMMIT).
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import Text, bindparam, case, cast, func, literal, select
from sqlalchemy.dialects import postgresql

from consultations.models import Consultation, Opinion, Status, TrackingCounter
from core.extensions import db


def lock_consultation(consultation_id: int) -> Consultation:
    """Take the consultation's write lock for this transaction and return it freshly read
    (the object already in the session is updated in place)."""
    connection = db.session.connection()
    stmt = select(Consultation).where(Consultation.id == consultation_id)
    if connection.dialect.name == "sqlite":
        # In pysqlite's default mode a transaction is open only once something was written,
        # and then this connection already holds the write lock.
        if not connection.connection.driver_connection.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        stmt = stmt.with_for_update(of=Consultation)  # not the eagerly joined rows
    return db.session.scalars(stmt.execution_options(populate_existing=True)).one()


def lock_for_posting(consultation_id: int) -> Consultation:
    """The consultation freshly read under the lock the post's tally trigger takes anyway,
    which closing and publishing wait for (SQLite: the write lock, which every write takes)."""
    connection = db.session.connection()
    dialect = connection.dialect.name
    if dialect == "sqlite" and not connection.connection.driver_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    return db.session.scalars(_posting_stmt(dialect), {"id": consultation_id}).one()


@functools.cache
def _posting_stmt(dialect: str):
    # Built once: on every post, building it cost about what running it did.
    stmt = select(Consultation).where(Consultation.id == bindparam("id"))
    if dialect != "sqlite":
        stmt = stmt.with_for_update(key_share=True, of=Consultation)
    return stmt.execution_options(populate_existing=True)


def insert_if_open(values: dict[str, Any], *, year: int, now: datetime) -> tuple[int, str] | None:
    """PostgreSQL: insert an online opinion while its consultation is open, under the row lock
    of :func:`lock_for_posting`, with the year's next tracking number; ``(id, number)``, or
    None when it is not open (nothing written). A close that held the lock is seen: FOR NO
    KEY UPDATE waits for it and checks the row again as it committed."""
    stmt = _insert_if_open_stmt(tuple(sorted(values)))
    return db.session.execute(stmt, {**values, "year": year, "now": now}).one_or_none()


@functools.cache
def _insert_if_open_stmt(columns: tuple[str, ...]):
    c, t, n = Consultation.__table__, Opinion.__table__, TrackingCounter.__table__
    now = bindparam("now", type_=c.c.closes_at.type)
    year = bindparam("year", type_=n.c.year.type)
    opened = (
        select(c.c.id)
        .where(
            c.c.id == bindparam("consultation_id"),
            c.c.status == Status.open,
            c.c.opens_at <= now,
            c.c.closes_at > now,
        )
        .with_for_update(key_share=True)
        .cte("opened")
    )
    number = (
        postgresql.insert(n)
        .from_select(["year", "last"], select(year, literal(1)).select_from(opened))
        .on_conflict_do_update(index_elements=[n.c.year], set_={"last": n.c.last + 1})
        .returning(n.c.last)
        .cte("number")
    )
    digits = cast(number.c.last, Text)
    # f"YK-{year}-{last:06d}", as next_tracking_number writes it (past 999,999 it grows).
    tracking = func.concat(
        "YK-",
        cast(year, Text),
        "-",
        case((number.c.last < 1_000_000, func.lpad(digits, 6, "0")), else_=digits),
    )
    params = [bindparam(name, type_=t.c[name].type) for name in columns]
    return (
        t.insert()
        .from_select([*columns, "tracking_number"], select(*params, tracking).select_from(number))
        .returning(t.c.id, t.c.tracking_number)
    )


def reread(model, ids) -> list:
    """Load the rows of ``model`` with these ids again, in one query, after
    :func:`lock_consultation`: what was read before the lock may have been changed by the
    transaction that held it. The objects already in the session are updated in place."""
    stmt = select(model).where(model.id.in_(list(ids))).order_by(model.id)
    return list(db.session.scalars(stmt.execution_options(populate_existing=True)))
