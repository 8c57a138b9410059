"""The pages cost a fixed number of SQL statements, whatever the number of opinions."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from core.extensions import db

MAX_STATEMENTS = 10


@contextmanager
def counting(app):
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def add_opinions(app, world, cid: int, n: int, start: int) -> None:
    """``n`` opinions in one INSERT: every stance, section, channel and status, some answered,
    some by an official on someone's behalf, written by several residents."""
    from consultations.models import (
        Channel,
        Opinion,
        OpinionStatus,
        Outcome,
        Response,
        Section,
        Stance,
    )
    from core.timeutil import utcnow

    with app.app_context():
        sections = [
            None,
            *db.session.scalars(select(Section.id).where(Section.consultation_id == cid)),
        ]
        authors = [world.ids[w] for w in ("resident", "moderator", "reviewer", "admin")]
        now = utcnow()
        response_id = db.session.execute(
            Response.__table__.insert().values(
                consultation_id=cid,
                outcome=Outcome.noted,
                explanation="Tiếp thu.",
                created_at=now,
                updated_at=now,
            )
        ).inserted_primary_key[0]
        rows = []
        for i in range(start, start + n):
            offline = i % 5 == 0
            status = {8: OpinionStatus.hidden, 9: OpinionStatus.withdrawn}.get(
                i % 10, OpinionStatus.published
            )
            rows.append(
                {
                    "consultation_id": cid,
                    "section_id": sections[i % len(sections)],
                    "author_id": None if offline else authors[i % len(authors)],
                    "entered_by_id": world.ids["official"] if offline else None,
                    "contributor_name": "Trần Thị B" if offline else None,
                    "locality_id": world.village_ids[i % 3],
                    "channel": Channel.meeting if offline else Channel.online,
                    "stance": list(Stance)[i % 3],
                    "body": f"Ý kiến số {i} về dự thảo.",
                    "status": status,
                    "hidden_reason": "Lời lẽ xúc phạm." if status == OpinionStatus.hidden else None,
                    "hidden_at": now if status == OpinionStatus.hidden else None,
                    "hidden_by_id": world.ids["moderator"]
                    if status == OpinionStatus.hidden
                    else None,
                    "withdrawn_at": now if status == OpinionStatus.withdrawn else None,
                    "tracking_number": f"YK-2099-{i:06d}",
                    "created_at": now,
                    "response_id": response_id if i % 4 == 0 else None,
                }
            )
        db.session.execute(Opinion.__table__.insert(), rows)
        db.session.commit()


def statements_per_page(app, client, paths: list[str]) -> dict[str, int]:
    counts = {}
    for path in paths:
        assert client.get(path).status_code == 200, path  # warm: first-request work is not counted
        with counting(app) as statements:
            response = client.get(path)
        assert response.status_code == 200, path
        counts[path] = len(statements)
    return counts


@pytest.mark.postgres
@pytest.mark.parametrize("who", [None, "resident", "moderator"])
def test_statements_per_page_do_not_grow_with_opinions(app, world, make, auth, client, who):
    cid = make.consultation("open")
    if who:
        auth.login(world.email(who))
    paths = [
        f"/consultations/{cid}",
        f"/consultations/{cid}?page=2",
        "/",
        "/?q=dat+dai",
        f"/api/v1/consultations/{cid}/opinions",
        f"/api/v1/consultations/{cid}/opinions?page=2",
        f"/api/v1/consultations/{cid}/opinions?after=1",
    ]
    add_opinions(app, world, cid, 60, start=0)
    few = statements_per_page(app, client, paths)
    add_opinions(app, world, cid, 300, start=60)
    many = statements_per_page(app, client, paths)

    assert many == few
    assert max(many.values()) <= MAX_STATEMENTS, many


@pytest.mark.postgres
def test_section_page_statements_do_not_grow_with_opinions(app, world, make, client):
    from consultations.models import Section

    cid = make.consultation("open")
    with app.app_context():
        section_id = db.session.scalar(
            select(Section.id).where(Section.consultation_id == cid).limit(1)
        )
    path = f"/consultations/{cid}?section={section_id}"
    add_opinions(app, world, cid, 60, start=0)
    few = statements_per_page(app, client, [path])
    add_opinions(app, world, cid, 300, start=60)
    assert statements_per_page(app, client, [path]) == few
    assert few[path] <= MAX_STATEMENTS
