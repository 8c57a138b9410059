"""``flask demo``: a data set a visitor can click through, and ``--opinions N`` for benchmarks."""

import re
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from auth.models import Role, RoleAssignment, User
from consultations.models import (
    Channel,
    Consultation,
    Flag,
    Opinion,
    OpinionRevision,
    OpinionStatus,
    Record,
    Section,
    Status,
    TrackingCounter,
)
from core.extensions import db
from localities.models import Locality

DEMO_COMMUNE = "19597"
SAMPLE = Path(__file__).parent.parent / "data" / "localities-sample.csv"


def _counts(app) -> dict:
    with app.app_context():
        s = db.session
        return {
            "opinions": s.scalar(sa.select(sa.func.count(Opinion.id))),
            "numbers": s.scalar(sa.select(sa.func.count(sa.distinct(Opinion.tracking_number)))),
            "users": s.scalar(sa.select(sa.func.count(User.id))),
            "consultations": s.scalar(sa.select(sa.func.count(Consultation.id))),
        }


@pytest.mark.postgres
def test_demo_loads_a_realistic_commune(app, runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output

    with app.app_context():
        s = db.session
        statuses = {c.status for c in s.scalars(sa.select(Consultation))}
        assert statuses == set(Status)

        opinions = s.scalars(sa.select(Opinion)).all()
        assert len(opinions) >= 30
        assert {op.channel for op in opinions} == set(Channel)
        # No text repeated but the form letter on the waste fee, handed in by twelve (a campaign).
        repeated = Counter(op.body for op in opinions).most_common(2)
        assert repeated[0][1] == 12
        assert repeated[1][1] == 1
        assert "giữ mức thu 15.000 đồng" in repeated[0][0]
        assert len({op.tracking_number for op in opinions}) == len(opinions)
        for c in s.scalars(sa.select(Consultation)):
            assert c.opinion_count == sum(op.consultation_id == c.id for op in opinions)

        # The main open draft has real articles with several opinions each.
        main = max(
            (c for c in s.scalars(sa.select(Consultation)) if c.status == Status.open),
            key=lambda c: c.opinion_count,
        )
        articles = [sec for sec in main.sections if sec.heading.startswith("Điều ")]
        assert len(articles) >= 5
        per_section = s.scalars(
            sa.select(Opinion.section_id).where(
                Opinion.consultation_id == main.id, Opinion.section_id.is_not(None)
            )
        ).all()
        assert len(set(per_section)) >= 5

        hidden = [op for op in opinions if op.status == OpinionStatus.hidden]
        assert len(hidden) == 1
        assert hidden[0].hidden_reason
        assert sum(op.status == OpinionStatus.withdrawn for op in opinions) == 1
        assert s.scalar(sa.select(sa.func.count(OpinionRevision.id))) == 1
        assert s.scalar(sa.select(sa.func.count(Flag.id))) == 1
        assert any(op.response_id for op in opinions)

        # Closed: some answered, some not, so a moderator can finish it.
        closed = next(c for c in s.scalars(sa.select(Consultation)) if c.status == Status.closed)
        answered = [
            op.response_id is not None for op in opinions if op.consultation_id == closed.id
        ]
        assert any(answered)
        assert not all(answered)

        # Concluded: every opinion answered, the record published with its hash.
        concluded = next(
            c for c in s.scalars(sa.select(Consultation)) if c.status == Status.concluded
        )
        assert all(op.response_id for op in opinions if op.consultation_id == concluded.id)
        record = s.scalar(sa.select(Record).where(Record.consultation_id == concluded.id))
        assert record is not None
        assert len(record.content_hash) == 64

        roles = {a.role for a in s.scalars(sa.select(RoleAssignment))}
        assert roles == set(Role)
        users = s.scalars(sa.select(User)).all()
        residents = [u for u in users if not u.assignments]
        assert sum(u.is_verified for u in residents) >= 3
        assert any(not u.is_verified for u in residents)

        # Every printed password opens its account.
        printed = dict(re.findall(r"^\S+\s+(\S+@\S+)\s+(\S+)", result.output, re.MULTILINE))
        assert len(printed) == len(users)
        for user in users:
            assert user.check_password(printed[user.email]), user.email

    before = _counts(app)
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0
    assert _counts(app) == before


@pytest.mark.postgres
def test_public_pages_of_the_demo_answer(app, runner, client):
    assert runner.invoke(args=["demo"]).exit_code == 0
    with app.app_context():
        ids = {c.status: c.id for c in db.session.scalars(sa.select(Consultation))}
    assert client.get("/").status_code == 200
    for status in ("open", "closed", "concluded"):
        assert client.get(f"/consultations/{ids[status]}").status_code == 200
    assert client.get(f"/consultations/{ids['concluded']}/record").status_code == 200
    assert client.get(f"/consultations/{ids['draft']}").status_code in (403, 404)


@pytest.mark.postgres
def test_demo_opinions_adds_bulk_with_unique_tracking_numbers(app, runner):
    assert runner.invoke(args=["demo"]).exit_code == 0
    before = _counts(app)

    result = runner.invoke(args=["demo", "--opinions", "2000"])

    assert result.exit_code == 0, result.output
    after = _counts(app)
    assert after["opinions"] == before["opinions"] + 2000
    assert after["numbers"] == after["opinions"]
    assert after["users"] > before["users"] + 100  # many distinct authors
    assert after["consultations"] == before["consultations"]
    with app.app_context():
        s = db.session
        last = s.scalar(sa.select(sa.func.max(TrackingCounter.last)))
        assert last == after["opinions"]
        numbers = s.scalars(sa.select(Opinion.tracking_number)).all()
        assert max(int(n.rsplit("-", 1)[1]) for n in numbers) == last
        c = s.scalar(sa.select(Consultation).order_by(Consultation.opinion_count.desc()).limit(1))
        stored = s.scalar(
            sa.select(sa.func.count(Opinion.id)).where(Opinion.consultation_id == c.id)
        )
        assert c.opinion_count == stored
        assert c.status == Status.open
        answered = s.scalar(
            sa.select(sa.func.count(Opinion.id)).where(
                Opinion.consultation_id == c.id, Opinion.response_id.is_not(None)
            )
        )
        assert 0.1 * stored < answered < 0.35 * stored
        sections = s.scalar(
            sa.select(sa.func.count(sa.distinct(Opinion.section_id))).where(
                Opinion.consultation_id == c.id
            )
        )
        assert sections >= 5
        assert s.scalar(sa.select(sa.func.count(Section.id))) > 0

    # A later opinion through the service continues the same sequence.
    more = runner.invoke(args=["demo", "--opinions", "10"])
    assert more.exit_code == 0
    assert _counts(app)["numbers"] == after["opinions"] + 10


def test_demo_loads_on_top_of_the_imported_sample(app, runner):
    # The sample's communes are the demo's: the demo reuses them instead of refusing.
    assert runner.invoke(args=["localities", "import", str(SAMPLE)]).exit_code == 0

    assert runner.invoke(args=["demo"]).exit_code == 0

    with app.app_context():
        commune = db.session.scalar(sa.select(Locality).where(Locality.code == DEMO_COMMUNE))
        assert (
            db.session.scalar(
                sa.select(sa.func.count(Locality.id)).where(Locality.code == DEMO_COMMUNE)
            )
            == 1
        )
        assert db.session.scalar(
            sa.select(Consultation.id).where(Consultation.locality_id == commune.id).limit(1)
        )
    assert _counts(app)["opinions"] >= 30
