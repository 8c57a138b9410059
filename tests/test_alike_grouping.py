"""Groups of alike opinions kept by the worker as opinions arrive, recomputed by the command,
and never two groups from two opinions arriving at once."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from alike import grouping, jobs, similarity
from alike.models import AlikeBand, OpinionAlike, OpinionGroup
from auth.models import User
from consultations import opinions as opinion_services
from consultations.models import Opinion, Stance
from core.extensions import db

ROAD = "Đề nghị UBND xã mở rộng đường liên thôn An Trung lên 6 mét trước mùa mưa."
ROAD_NO_MARKS = "de nghi ubnd xa mo rong duong lien thon an trung len 6 met truoc mua mua"
ROAD_GREETED = "Kính gửi UBND xã. Đề nghị UBND xã mở rộng đường liên thôn An Trung lên 6 mét trước mùa mưa! Trân trọng cảm ơn."
ROAD_FOUR = "Đề nghị UBND xã mở rộng đường liên thôn An Trung lên 4 mét trước mùa mưa."
SCHOOL = "Trường mầm non cần thêm một phòng học và sân chơi có mái che cho các cháu."


def _groups(app, cid):
    with app.app_context():
        rows = db.session.execute(
            sa.select(OpinionAlike.opinion_id, OpinionAlike.group_id)
            .where(OpinionAlike.consultation_id == cid)
            .order_by(OpinionAlike.opinion_id)
        ).all()
        return dict(rows)


@pytest.mark.postgres
def test_posted_opinions_are_grouped_as_they_arrive(app, make):
    cid = make.consultation("open")
    a = make.opinion(cid, who="resident", body=ROAD, stance="suggest")
    b = make.opinion(cid, who="reviewer", body=ROAD_NO_MARKS, stance="suggest")
    c = make.opinion(cid, who="official", body=ROAD_GREETED, stance="suggest")
    four = make.opinion(cid, who="moderator", body=ROAD_FOUR, stance="suggest")
    school = make.opinion(cid, who="admin", body=SCHOOL, stance="suggest")
    groups = _groups(app, cid)
    assert groups[a] is not None
    assert groups[a] == groups[b] == groups[c]
    assert groups[four] is None  # another number: another demand
    assert groups[school] is None
    with app.app_context():
        group = db.session.get(OpinionGroup, groups[a])
        assert (group.size, group.representative_id, group.campaign) == (3, a, False)
        # One set of bands per distinct text, copies add none.
        banded = set(db.session.scalars(sa.select(AlikeBand.opinion_id).distinct()))
        assert a in banded
        assert school in banded


@pytest.mark.postgres
def test_an_edited_opinion_is_regrouped_from_its_new_text(app, make, world):
    cid = make.consultation("open")
    a = make.opinion(cid, who="resident", body=ROAD, stance="suggest")
    b = make.opinion(cid, who="reviewer", body=ROAD_NO_MARKS, stance="suggest")
    assert _groups(app, cid)[b] is not None
    with app.test_request_context():
        op = db.session.get(Opinion, b)
        by = db.session.get(User, world.ids["reviewer"])
        opinion_services.edit_opinion(op, by=by, body=SCHOOL, stance=Stance.suggest)
        db.session.commit()
    groups = _groups(app, cid)
    assert groups[a] is None
    assert groups[b] is None
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OpinionGroup)) == 0


def test_the_command_recomputes_and_the_sweep_groups_what_a_lost_job_left(app, make, runner):
    cid = make.consultation("open")
    ids = [
        make.opinion(cid, who=who, body=ROAD, stance="agree")
        for who in ("resident", "reviewer", "official")
    ]
    with app.app_context():  # as if the jobs had been lost
        db.session.execute(sa.delete(OpinionAlike))
        db.session.execute(sa.delete(AlikeBand))
        db.session.execute(sa.delete(OpinionGroup))
        db.session.commit()
        assert jobs.sweep.call_local() == 3
    groups = _groups(app, cid)
    assert len({groups[i] for i in ids}) == 1
    assert groups[ids[0]] is not None

    result = runner.invoke(args=["opinions", "group", str(cid)])
    assert result.exit_code == 0, result.output
    assert "3 opinions: 1 groups holding 3, 0 campaigns" in result.output
    assert _groups(app, cid)[ids[0]] == groups[ids[0]]  # its representative kept its number
    unknown = runner.invoke(args=["opinions", "group", "999999"])
    assert unknown.exit_code != 0
    assert "999999" in unknown.output


@pytest.mark.postgres
def test_two_opinions_grouped_at_once_make_one_group(app, make):
    cid = make.consultation("open")
    first = make.opinion(cid, who="resident", body=ROAD, stance="suggest")
    second = make.opinion(cid, who="reviewer", body=ROAD_NO_MARKS, stance="suggest")
    third = make.opinion(cid, who="official", body=ROAD_GREETED, stance="suggest")
    with app.app_context():
        db.session.execute(
            sa.delete(OpinionAlike).where(OpinionAlike.opinion_id.in_([first, second, third]))
        )
        db.session.execute(sa.delete(AlikeBand))
        db.session.execute(sa.delete(OpinionGroup))
        db.session.commit()
        grouping.add(first)
        db.session.commit()
    barrier = threading.Barrier(2)
    errors = []

    def run(opinion_id):
        try:
            with app.app_context():
                barrier.wait()
                grouping.add(opinion_id)
                db.session.commit()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in (second, third)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    groups = _groups(app, cid)
    assert groups[first] is not None
    assert groups[first] == groups[second] == groups[third]
    with app.app_context():
        assert [g.size for g in db.session.scalars(sa.select(OpinionGroup))] == [3]


def _stored(app, cid):
    with app.app_context():
        rows = db.session.execute(
            sa.select(OpinionAlike.opinion_id, OpinionAlike.group_id, OpinionAlike.signature)
            .where(OpinionAlike.consultation_id == cid)
            .order_by(OpinionAlike.opinion_id)
        ).all()
        bands = db.session.execute(
            sa.select(AlikeBand.id, AlikeBand.opinion_id, AlikeBand.key)
            .where(AlikeBand.consultation_id == cid)
            .order_by(AlikeBand.id)
        ).all()
    return [tuple(r) for r in rows], [tuple(b) for b in bands]


@pytest.mark.postgres
def test_a_recomputation_rewrites_only_what_changed(app, make):
    cid = make.consultation("open")
    road = [make.opinion(cid, who=w, body=ROAD, stance="suggest") for w in ("resident", "reviewer")]
    school = make.opinion(cid, who="official", body=SCHOOL, stance="suggest")
    with app.app_context():
        grouping.recompute(cid)
        db.session.commit()
    rows, bands = _stored(app, cid)
    assert len(bands) == 2 * similarity.BANDS  # one set per distinct text
    with app.app_context():
        grouping.recompute(cid)
        db.session.commit()
    assert _stored(app, cid) == (rows, bands)  # the same band rows, not deleted and written again

    # The text of a banded opinion changes: its bands alone are replaced.
    with app.app_context():
        db.session.get(Opinion, school).body = ROAD_NO_MARKS
        db.session.commit()
        grouping.recompute(cid)
        db.session.commit()
    rows_after, bands_after = _stored(app, cid)
    assert {b for b in bands_after if b[1] == road[0]} == {b for b in bands if b[1] == road[0]}
    assert not {b for b in bands_after if b[1] == school} & set(bands)
    assert len({r[1] for r in rows_after}) == 1  # all three alike now, one group


@pytest.mark.postgres
def test_signatures_cleared_by_the_upgrade_are_computed_again(app, make):
    cid = make.consultation("open")
    ids = [make.opinion(cid, who=w, body=ROAD, stance="suggest") for w in ("resident", "reviewer")]
    with app.app_context():  # what migration 6f7a8b9c0d1e leaves of the old signatures
        db.session.execute(sa.delete(AlikeBand))
        db.session.execute(sa.update(OpinionAlike).values(signature=b""))
        db.session.commit()
        grouping.recompute(cid)
        db.session.commit()
    rows, bands = _stored(app, cid)
    assert all(len(r[2]) == 4 * similarity.NUM_PERM for r in rows)
    assert {b[1] for b in bands} == {ids[0]}
    assert rows[0][1] is not None
