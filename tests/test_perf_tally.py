"""Opinion counts kept by triggers (consultations/tally.py) stay equal to a recount."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, update
from test_perf_queries import add_opinions

from core.extensions import db


def recount(cid: int) -> dict:
    from consultations.models import Opinion

    answered = Opinion.response_id.is_not(None)
    rows = db.session.execute(
        select(Opinion.section_id, Opinion.status, Opinion.stance, answered, func.count())
        .where(Opinion.consultation_id == cid)
        .group_by(Opinion.section_id, Opinion.status, Opinion.stance, answered)
    ).all()
    return {(r[0] or 0, r[1], r[2], bool(r[3])): r[4] for r in rows}


@pytest.mark.postgres
def test_tally_follows_every_kind_of_change(app, world, make, client):
    from consultations import tally
    from consultations.models import Opinion, OpinionStatus, Section, Stance

    cid = make.consultation("open")
    other = make.consultation("open", title="Quy hoạch giao thông")
    add_opinions(app, world, cid, 90, start=0)
    add_opinions(app, world, other, 7, start=500)
    make.opinion(cid, stance="disagree", section_position=1)  # through the service too
    with app.app_context():
        assert tally.read(cid).rows == recount(cid)
        assert tally.read(cid).total() == 91
        ids = list(
            db.session.scalars(
                select(Opinion.id).where(Opinion.consultation_id == cid).order_by(Opinion.id)
            )
        )
        first_section = db.session.scalar(
            select(Section.id).where(Section.consultation_id == cid).limit(1)
        )
        db.session.execute(
            update(Opinion).where(Opinion.id.in_(ids[:10])).values(stance=Stance.suggest)
        )
        db.session.execute(
            update(Opinion).where(Opinion.id.in_(ids[10:20])).values(status=OpinionStatus.hidden)
        )
        db.session.execute(
            update(Opinion).where(Opinion.id.in_(ids[15:25])).values(status=OpinionStatus.published)
        )
        db.session.execute(
            update(Opinion).where(Opinion.id.in_(ids[25:30])).values(response_id=None)
        )
        db.session.execute(
            update(Opinion).where(Opinion.id.in_(ids[30:40])).values(section_id=first_section)
        )
        db.session.execute(
            update(Opinion).where(Opinion.id.in_(ids[40:45])).values(section_id=None)
        )
        db.session.execute(
            update(Opinion).where(Opinion.id.in_(ids[45:50])).values(body="Sửa nội dung.")
        )
        db.session.execute(
            update(Opinion).where(Opinion.id.in_(ids[50:52])).values(consultation_id=other)
        )
        db.session.execute(delete(Opinion).where(Opinion.id.in_(ids[60:63])))
        db.session.commit()
        assert tally.read(cid).rows == recount(cid)
        assert tally.read(other).rows == recount(other)
        assert tally.read(cid).total() == 91 - 2 - 3
        assert tally.read(other).total() == 9
        published = recount(cid)
        by_stance = {
            s.value: sum(
                n
                for (_, st, sn, _), n in published.items()
                if st == OpinionStatus.published and sn == s
            )
            for s in Stance
        }
        whole = tally.read(cid).stance_counts()
        assert {s: sum(b[s] for b in whole.values()) for s in by_stance} == by_stance

        # A rebuild (what the migration runs on existing data) gives the very same rows.
        before = {c: tally.read(c).rows for c in (cid, other)}
        tally.rebuild(db.session.connection())
        assert {c: tally.read(c).rows for c in (cid, other)} == before
        db.session.commit()

    # The page shows the kept counts.
    html = client.get(f"/consultations/{cid}").get_data(as_text=True)
    assert "86" in html


@pytest.mark.postgres
def test_a_rolled_back_opinion_leaves_no_count(app, world, make):
    from consultations import tally
    from consultations.models import Opinion

    cid = make.consultation("open")
    make.opinion(cid)
    with app.app_context():
        db.session.execute(
            update(Opinion).where(Opinion.consultation_id == cid).values(stance="suggest")
        )
        db.session.rollback()
        assert tally.read(cid).rows == recount(cid)
        assert tally.read(cid).total() == 1


@pytest.mark.postgres
def test_the_insert_trigger_keeps_the_opinion_count(app, world, make, client):
    """``consultation.opinion_count`` (the figure on the lists) counts every opinion received,
    through the service or a bulk insert, and a rolled-back post leaves it as it was."""
    from consultations.models import Consultation, Opinion, OpinionStatus

    cid = make.consultation("open")
    other = make.consultation("open", title="Quy hoạch giao thông")
    add_opinions(app, world, cid, 40, start=0)
    make.opinion(cid)
    make.opinion(cid, who="official", channel="paper")
    with app.app_context():
        assert db.session.get(Consultation, cid).opinion_count == 42
        assert db.session.get(Consultation, other).opinion_count == 0
        # Withdrawn or hidden, an opinion was still received.
        db.session.execute(
            update(Opinion)
            .where(Opinion.consultation_id == cid)
            .values(status=OpinionStatus.withdrawn)
        )
        db.session.commit()
        assert db.session.get(Consultation, cid).opinion_count == 42
        db.session.execute(
            Opinion.__table__.insert(),
            [
                {
                    "consultation_id": cid,
                    "stance": "agree",
                    "body": "Ý kiến bỏ dở.",
                    "channel": "online",
                    "status": "published",
                    "tracking_number": "YK-2099-999999",
                    "flag_count": 0,
                }
            ],
        )
        db.session.rollback()
        db.session.expire_all()
        assert db.session.get(Consultation, cid).opinion_count == 42
    card = client.get("/").get_data(as_text=True)
    assert "42 opinions" in card
