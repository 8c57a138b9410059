"""Opinion counts kept up to date by the database rather than recounted on every page.

``opinion_tally`` holds one row per (consultation, article, status, stance, answered) with the
number of opinions in it. Triggers on ``opinion`` keep it exact on every INSERT, DELETE and
UPDATE that moves an opinion between rows, whichever code (or console) makes the change, in the
same transaction. A consultation page then reads a few dozen tally rows instead of grouping
100,000 opinions: its cost no longer grows with the number of opinions (bench/run.py). The
insert trigger also adds one to ``consultation.opinion_count``, the figure on the lists.

Article 0 stands for the whole draft (``section_id`` NULL), so the key has no NULL in it.
``create_all`` builds the triggers through the listeners below. The migrations hold their own
copies of the DDL (migrations/versions/d4e5f6a7b8c9, a7b8c9d0e1f2 and 9c0d1e2f3a4b): this is
only the current version.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import DDL, Boolean, ForeignKey, Integer, event, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from consultations.models import Opinion, OpinionStatus, Stance, _enum
from core.extensions import db


class OpinionTally(db.Model):
    __tablename__ = "opinion_tally"

    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultation.id", ondelete="CASCADE"), primary_key=True
    )
    #: The article's id, or 0 for opinions on the whole draft.
    section_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[OpinionStatus] = mapped_column(_enum(OpinionStatus), primary_key=True)
    stance: Mapped[Stance] = mapped_column(_enum(Stance), primary_key=True)
    answered: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


_KEY = "consultation_id, section_key, status, stance, answered"
#: An opinion's tally row, as the columns of ``opinion`` give it (grouped by, in bulk).
_ROW_OF = "consultation_id, COALESCE(section_id, 0), status, stance, response_id IS NOT NULL"


def _values(row: str, answered: str) -> str:
    return f"{row}.consultation_id, COALESCE({row}.section_id, 0), {row}.status, {row}.stance, {answered}"


def _match(row: str, answered: str) -> str:
    return (
        f"consultation_id = {row}.consultation_id AND section_key = COALESCE({row}.section_id, 0) "
        f"AND status = {row}.status AND stance = {row}.stance AND answered = {answered}"
    )


def _add(row: str, answered: str) -> str:
    # Trigger bodies built from constants: nothing a visitor sends reaches them.
    return (
        f"INSERT INTO opinion_tally ({_KEY}, n) VALUES ({_values(row, answered)}, 1) "  # noqa: S608
        f"ON CONFLICT ({_KEY}) DO UPDATE SET n = opinion_tally.n + 1"
    )


def _remove(row: str, answered: str) -> str:
    return f"UPDATE opinion_tally SET n = n - 1 WHERE {_match(row, answered)}"  # noqa: S608


_MOVED = (
    "old.consultation_id != new.consultation_id "
    "OR COALESCE(old.section_id, 0) != COALESCE(new.section_id, 0) "
    "OR old.status != new.status OR old.stance != new.stance "
    "OR (old.response_id IS NULL) != (new.response_id IS NULL)"
)
_COLUMNS = "consultation_id, section_id, status, stance, response_id"

_SQ_NEW = "(new.response_id IS NOT NULL)"
_SQ_OLD = "(old.response_id IS NOT NULL)"
#: ``consultation.opinion_count`` (opinions received, never decreased) is bumped by the insert
#: triggers too: one statement fewer on every post, the busiest write (bench/). SQLite updates
#: its row in place, row by row; PostgreSQL's trigger is below.
_COUNT = (
    "UPDATE consultation SET opinion_count = opinion_count + 1 WHERE id = {row}.consultation_id"
)


SQLITE_CREATE: tuple[str, ...] = (
    f"CREATE TRIGGER IF NOT EXISTS opinion_tally_ai AFTER INSERT ON opinion "
    f"BEGIN {_add('new', _SQ_NEW)}; {_COUNT.format(row='new')}; END",
    f"CREATE TRIGGER IF NOT EXISTS opinion_tally_ad AFTER DELETE ON opinion "
    f"BEGIN {_remove('old', _SQ_OLD)}; END",
    f"CREATE TRIGGER IF NOT EXISTS opinion_tally_au AFTER UPDATE OF {_COLUMNS} ON opinion "
    f"WHEN {_MOVED} BEGIN {_remove('old', _SQ_OLD)}; {_add('new', _SQ_NEW)}; END",
)

_PG_NEW = "(NEW.response_id IS NOT NULL)"
_PG_OLD = "(OLD.response_id IS NOT NULL)"


#: On PostgreSQL an insert is counted once per statement, from its transition table: the tally
#: rows and the consultation's counter. A row updated 100,000 times in one transaction (the
#: demo's bulk insert) leaves a chain of row versions that each update walks: counted row by
#: row, seeding slowed down as it went (1.3 s for the first 5,000 opinions, 6 s at 100,000).
#: Updates and deletes, one opinion at a time, stay row by row.
_PG_COUNT: tuple[str, ...] = (
    f"""CREATE OR REPLACE FUNCTION opinion_count_keep() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO opinion_tally ({_KEY}, n)
    SELECT {_ROW_OF}, count(*)
    FROM new_opinions
    GROUP BY {_ROW_OF}
    ON CONFLICT ({_KEY}) DO UPDATE SET n = opinion_tally.n + EXCLUDED.n;
    UPDATE consultation SET opinion_count = consultation.opinion_count + added.n
    FROM (SELECT consultation_id, count(*) AS n FROM new_opinions GROUP BY consultation_id) AS added
    WHERE consultation.id = added.consultation_id;
    RETURN NULL;
END
$$""",  # noqa: S608 - constant SQL, no input
    """CREATE TRIGGER opinion_count_keep AFTER INSERT ON opinion
REFERENCING NEW TABLE AS new_opinions FOR EACH STATEMENT EXECUTE FUNCTION opinion_count_keep()""",
)


POSTGRESQL_CREATE: tuple[str, ...] = (
    f"""CREATE OR REPLACE FUNCTION opinion_tally_keep() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NOT ({_MOVED.replace("old.", "OLD.").replace("new.", "NEW.")}) THEN
        RETURN NULL;
    END IF;
    {_remove("OLD", _PG_OLD)};
    IF TG_OP = 'UPDATE' THEN
        {_add("NEW", _PG_NEW)};
    END IF;
    RETURN NULL;
END
$$""",
    f"""CREATE TRIGGER opinion_tally_keep AFTER DELETE OR UPDATE OF {_COLUMNS}
ON opinion FOR EACH ROW EXECUTE FUNCTION opinion_tally_keep()""",
    *_PG_COUNT,
)

#: Recounts every tally row from the opinions (to check them against the triggers).
REBUILD = (
    "DELETE FROM opinion_tally",
    f"INSERT INTO opinion_tally ({_KEY}, n) "  # noqa: S608 - constant SQL, no input
    f"SELECT {_ROW_OF}, count(*) FROM opinion GROUP BY {_ROW_OF}",
)


def rebuild(connection: Connection) -> None:
    for statement in REBUILD:
        connection.exec_driver_sql(statement)


# The triggers are on ``opinion``; their bodies find ``opinion_tally`` when they run.
for _dialect, _statements in {"sqlite": SQLITE_CREATE, "postgresql": POSTGRESQL_CREATE}.items():
    for _statement in _statements:
        event.listen(
            Opinion.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect)
        )


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    """The counts of one consultation, read in a single query."""

    #: (section_key, status, stance, answered) -> n
    rows: dict[tuple[int, OpinionStatus, Stance, bool], int]

    def total(self, section_id: int | None = None) -> int:
        """Every opinion (any status), of one article or (None) of the whole consultation."""
        return sum(
            n for (key, *_), n in self.rows.items() if section_id is None or key == section_id
        )

    def stance_counts(self) -> dict[int | None, dict[str, int]]:
        """Published opinions per article (None = whole draft) and stance."""
        counts: dict[int | None, dict[str, int]] = {}
        for (key, status, stance, _), n in self.rows.items():
            if status != OpinionStatus.published or n == 0:
                continue
            bucket = counts.setdefault(key or None, {s.value: 0 for s in Stance} | {"total": 0})
            bucket[stance.value] += n
            bucket["total"] += n
        return counts


def read(consultation_id: int) -> Tally:
    rows = db.session.execute(
        select(
            OpinionTally.section_key,
            OpinionTally.status,
            OpinionTally.stance,
            OpinionTally.answered,
            OpinionTally.n,
        ).where(OpinionTally.consultation_id == consultation_id, OpinionTally.n != 0)
    ).all()
    return Tally({(r[0], r[1], r[2], bool(r[3])): r[4] for r in rows})
