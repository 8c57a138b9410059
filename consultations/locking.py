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
"""

from __future__ import annotations

from sqlalchemy import select

from consultations.models import Consultation
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
    stmt = select(Consultation).where(Consultation.id == consultation_id)
    if connection.dialect.name == "sqlite":
        if not connection.connection.driver_connection.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        stmt = stmt.with_for_update(key_share=True, of=Consultation)
    return db.session.scalars(stmt.execution_options(populate_existing=True)).one()


def reread(model, ids) -> list:
    """Load the rows of ``model`` with these ids again, in one query, after
    :func:`lock_consultation`: what was read before the lock may have been changed by the
    transaction that held it. The objects already in the session are updated in place."""
    stmt = select(model).where(model.id.in_(list(ids))).order_by(model.id)
    return list(db.session.scalars(stmt.execution_options(populate_existing=True)))
