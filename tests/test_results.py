"""The results of a household vote: their shape, the rule that passes a matter (more than half
of ALL households), the page and the open-data JSON, and a constant number of queries.

The households and votes are inserted directly (the voting services have their own tests);
``seed_households`` and ``seed_votes`` are shared with tests/test_counting.py.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from consultations.models import Consultation, Section
from core.extensions import db
from decisions.models import Vote
from decisions.results import results
from households.models import Household


def seed_households(
    app, village_id: int, n: int, *, start: int = 1, prefix: str = "H"
) -> list[int]:
    """``n`` active households of the village, coded H0001…; returns their ids."""
    with app.app_context():
        db.session.execute(
            sa.insert(Household),
            [
                {
                    "locality_id": village_id,
                    "code": f"{prefix}{i:05d}",
                    "representative_name": f"Người đại diện {i}",
                    "address": f"Số {i}",
                    "active": True,
                }
                for i in range(start, start + n)
            ],
        )
        db.session.commit()
        return list(
            db.session.scalars(
                sa.select(Household.id)
                .where(Household.locality_id == village_id, Household.code.like(f"{prefix}%"))
                .order_by(Household.id)
            )
        )


def matter_ids(app, cid: int) -> list[int]:
    """The sections with a heading (the articles put to the vote), in order."""
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(Section.id)
                .where(Section.consultation_id == cid, Section.heading != "")
                .order_by(Section.position)
            )
        )


def seed_votes(
    app, cid: int, section_id: int, households: list[int], entries: list[tuple[str, str]]
):
    """One vote per household, in order: ``entries`` are (choice, channel) pairs."""
    with app.app_context():
        rows = [
            {
                "consultation_id": cid,
                "section_id": section_id,
                "household_id": h,
                "choice": choice,
                "channel": channel,
            }
            for h, (choice, channel) in zip(households, entries, strict=False)
        ]
        if rows:
            db.session.execute(sa.insert(Vote), rows)
        db.session.commit()


def result_of(app, cid: int) -> dict:
    with app.test_request_context():
        return results(db.session.get(Consultation, cid))


@pytest.fixture
def vote(app, world, make):
    """A closed decide consultation of the commune with 4 households in its first village."""
    cid = make.consultation("closed", kind="decide")
    households = seed_households(app, world.village_ids[0], 4)
    return cid, households, matter_ids(app, cid)


def test_shape_and_the_rule_of_more_than_half_of_all_households(app, vote):
    cid, hh, (m1, m2, m3) = vote
    seed_votes(app, cid, m1, hh, [("agree", "online"), ("agree", "paper"), ("agree", "meeting")])
    # Exactly half of all households agree: not passed.
    seed_votes(app, cid, m2, hh, [("agree", "online"), ("agree", "online"), ("disagree", "paper")])
    # Three of four voted, two agree... of three voters that is a majority, of all households not.
    seed_votes(app, cid, m3, hh, [("agree", "online"), ("blank", "paper"), ("spoilt", "paper")])
    data = result_of(app, cid)
    assert data["households_total"] == 4
    assert data["status"] == "provisional"
    assert data["published_at"] is None
    assert data["content_hash"] is None
    first, second, third = data["matters"]
    assert set(first) >= {
        "section_id",
        "heading",
        "votes",
        "blank",
        "spoilt",
        "by_channel",
        "turnout",
        "turnout_rate",
        "passed",
    }
    assert first["section_id"] == m1
    assert first["votes"] == {"agree": 3, "disagree": 0}
    assert first["by_channel"] == {"online": 1, "paper": 1, "meeting": 1}
    assert first["turnout"] == 3
    assert first["turnout_rate"] == 0.75
    assert first["passed"] is True
    assert second["votes"] == {"agree": 2, "disagree": 1}
    assert second["passed"] is False
    assert third["blank"] == 1
    assert third["spoilt"] == 1
    assert third["turnout"] == 3
    assert third["passed"] is False


def test_no_household_means_nothing_passes(app, world, make):
    cid = make.consultation("closed", kind="decide")
    data = result_of(app, cid)
    assert data["households_total"] == 0
    assert data["matters"]
    assert all(
        m["passed"] is False and m["turnout"] == 0 and m["turnout_rate"] == 0
        for m in data["matters"]
    )


def test_struck_off_households_count_nowhere(app, vote):
    cid, hh, (m1, *_rest) = vote
    seed_votes(app, cid, m1, hh, [("agree", "online"), ("agree", "online"), ("agree", "online")])
    with app.app_context():
        db.session.execute(sa.update(Household).where(Household.id == hh[0]).values(active=False))
        db.session.commit()
    m = result_of(app, cid)["matters"][0]
    assert m["votes"]["agree"] == 2
    assert m["passed"] is True
    assert result_of(app, cid)["households_total"] == 3


def test_page_and_json_show_counts_never_a_household(app, client, vote):
    cid, hh, (m1, m2, _m3) = vote
    seed_votes(app, cid, m1, hh, [("agree", "online"), ("agree", "paper"), ("agree", "meeting")])
    seed_votes(app, cid, m2, hh, [("agree", "online"), ("agree", "online")])
    page = client.get(f"/consultations/{cid}/results")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Provisional results" in text
    assert "4 households in the community" in text
    assert "Passed" in text
    assert "Not passed" in text
    assert "(75%)" in text  # the numbers are in the text, not only in the bars
    assert "H00001" not in text
    assert "Người đại diện" not in text
    api = client.get(f"/api/v1/consultations/{cid}/results")
    assert api.status_code == 200
    assert api.json == result_of(app, cid)
    assert "Người đại diện" not in api.get_data(as_text=True)


def test_vietnamese_page_says_passed_in_words(app, client, vote):
    cid, hh, (m1, *_rest) = vote
    seed_votes(app, cid, m1, hh, [("agree", "online")] * 3)
    client.set_cookie("lang", "vi")
    text = client.get(f"/consultations/{cid}/results").get_data(as_text=True)
    assert "Kết quả tạm tính" in text
    assert "Được thông qua" in text
    assert "Không được thông qua" in text
    assert "trên 50% tổng số hộ gia đình" in text


def test_drafts_and_other_kinds_have_no_results(app, client, world, make):
    draft = make.consultation("draft", kind="decide")
    comment = make.consultation("closed", kind="comment")
    for cid in (draft, comment):
        assert client.get(f"/api/v1/consultations/{cid}/results").status_code == 404
        assert client.get(f"/consultations/{cid}/results").status_code == 404


def _count_queries(app, fn) -> int:
    engine = db.engine
    seen = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
    return len(seen)


@pytest.mark.postgres
def test_sql_per_results_page_is_constant(app, client, world, make):
    counts = {}
    for n in (10, 1000):
        cid = make.consultation("closed", kind="decide", title=f"Biểu quyết {n}")
        village = world.village_ids[1 if n == 10 else 2]
        hh = seed_households(app, village, n, prefix=f"V{n}-")
        for sid in matter_ids(app, cid):
            seed_votes(app, cid, sid, hh, [("agree", "online"), ("disagree", "paper")] * (n // 2))
        # Warmed up once: the first request of a process reads a few things once (the locales).
        client.get(f"/consultations/{cid}/results")
        client.get(f"/api/v1/consultations/{cid}/results")
        with app.app_context():
            counts[n] = (
                _count_queries(app, lambda cid=cid: client.get(f"/consultations/{cid}/results")),
                _count_queries(
                    app, lambda cid=cid: client.get(f"/api/v1/consultations/{cid}/results")
                ),
            )
    assert counts[10] == counts[1000], counts
