"""Two entries for the same household and matter at the same instant, by separate clients
(threads, each request its own database session), on SQLite and PostgreSQL: exactly one vote
stands, the other is a 409 kept as one conflict."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from test_votes import _as, seed_vote

from core.extensions import db

pytestmark = pytest.mark.postgres

ROUNDS = 4


@pytest.fixture
def vote(app, world, make, en):
    return seed_vote(app, world, make)


def _at_once(*calls):
    """Run each call in its own thread, released together; their answers' status codes."""
    barrier = threading.Barrier(len(calls))
    codes: list[int | None] = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        codes[i] = call().status_code

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return codes


def test_online_and_paper_at_once_one_vote_one_conflict(app, world, vote):
    from decisions.models import Vote, VoteConflict

    resident = _as(app.test_client(), world, "resident")
    official = _as(app.test_client(), world, "official")
    url = f"/consultations/{vote['cid']}"
    for sid in vote["sections"][:ROUNDS]:
        # Both forms are loaded first (the CSRF token), as two browsers would have them open.
        online = {"section_id": str(sid), "choice": "agree", "csrf_token": resident.csrf_token()}
        ballot = {
            "household": "00004-T1/H001",
            "section_id": str(sid),
            "choice": "disagree",
            "csrf_token": official.csrf_token(),
        }
        codes = _at_once(
            lambda online=online: resident.post(f"{url}/votes", data=online),
            lambda ballot=ballot: official.post(f"{url}/ballots", data=ballot),
        )
        assert sorted(codes) == [303, 409], codes
        with app.app_context():
            votes = list(db.session.scalars(sa.select(Vote).where(Vote.section_id == sid)))
            conflicts = list(
                db.session.scalars(sa.select(VoteConflict).where(VoteConflict.section_id == sid))
            )
            assert len(votes) == 1
            assert len(conflicts) == 1
            assert conflicts[0].vote_id == votes[0].id
            assert {votes[0].channel.value, conflicts[0].channel.value} == {"online", "paper"}
            # The refused one is the one that answered 409.
            winner = "online" if codes[0] == 303 else "paper"
            assert votes[0].channel.value == winner


def test_two_officials_enter_the_same_ballot_at_once(app, world, vote):
    """The same household typed by two officials (two tables at the meeting): one vote."""
    from auth.models import Role, RoleAssignment, User
    from decisions.models import Vote, VoteConflict

    with app.app_context():
        first = db.session.get(User, world.ids["official"])
        second = User(
            email="official2@example.vn",
            full_name="Cán bộ hai",
            display_name="Cán bộ hai",
            locality_id=first.locality_id,
            email_verified_at=first.email_verified_at,
            password_hash=first.password_hash,
        )
        second.assignments.append(RoleAssignment(role=Role.official, locality_id=world.commune_id))
        db.session.add(second)
        db.session.commit()
        world.ids["official2"] = second.id
    a = _as(app.test_client(), world, "official")
    b = _as(app.test_client(), world, "official2")
    sid = vote["sections"][0]
    forms = [
        {
            "household": "H002",
            "section_id": str(sid),
            "choice": "agree",
            "csrf_token": c.csrf_token(),
        }
        for c in (a, b)
    ]
    codes = _at_once(
        lambda: a.post(f"/consultations/{vote['cid']}/ballots", data=forms[0]),
        lambda: b.post(f"/consultations/{vote['cid']}/ballots", data=forms[1]),
    )
    assert sorted(codes) == [303, 409], codes
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Vote)) == 1
        # Another official's entry is not a repeat: it is listed.
        assert db.session.scalar(sa.select(sa.func.count()).select_from(VoteConflict)) == 1
