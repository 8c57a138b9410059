"""Casting and entering household votes: online by the representative, paper ballots and a
meeting's votes by an official; one vote per household per matter; the numbered ballots."""

from __future__ import annotations

import subprocess

import pytest
import sqlalchemy as sa

from core.extensions import db

pytestmark = pytest.mark.postgres


@pytest.fixture
def vote(app, world, make, en):
    return seed_vote(app, world, make)


def seed_vote(app, world, make) -> dict:
    """A decide consultation of the commune and households of its villages (and one outside)."""
    from consultations.models import Section
    from households.models import Household

    cid = make.consultation("open", kind="decide", title="Đóng góp làm đường thôn")
    t1, t2, _t3 = world.village_ids
    with app.app_context():
        rows = {
            "H001": Household(
                locality_id=t1,
                code="H001",
                representative_name="Lê Thị Đại Diện",
                representative_id=world.ids["resident"],
            ),
            "H002": Household(locality_id=t2, code="H002", representative_name="Phạm Văn Hai"),
            "H005a": Household(locality_id=t1, code="H005", representative_name="Hộ Năm A"),
            "H005b": Household(locality_id=t2, code="H005", representative_name="Hộ Năm B"),
            "H777": Household(
                locality_id=world.other_commune_id, code="H777", representative_name="Ngoài Xã"
            ),
        }
        db.session.add_all(rows.values())
        db.session.commit()
        sections = list(
            db.session.scalars(
                sa.select(Section.id)
                .where(Section.consultation_id == cid, Section.heading != "")
                .order_by(Section.position)
            )
        )
        return {"cid": cid, "sections": sections, **{k: h.id for k, h in rows.items()}}


def _votes(app):
    from decisions.models import Vote, VoteConflict

    with app.app_context():
        votes = list(db.session.scalars(sa.select(Vote).order_by(Vote.id)))
        conflicts = list(db.session.scalars(sa.select(VoteConflict).order_by(VoteConflict.id)))
        db.session.expunge_all()
        return votes, conflicts


def _as(client, world, who):
    from auth.models import User
    from auth.sessions import open_session

    with client.application.app_context():
        user = db.session.get(User, world.ids[who])
        open_session(user)
        db.session.commit()
        ident = user.get_id()
    with client.session_transaction() as sess:
        sess["_user_id"] = ident
        sess["_fresh"] = True
    return client


def _cast(client, vote, section=0, choice="agree"):
    return client.post(
        f"/consultations/{vote['cid']}/votes",
        data={"section_id": str(vote["sections"][section]), "choice": choice},
    )


def _enter(client, vote, household, section=0, choice="agree", **extra):
    data = {"household": household, "section_id": str(vote["sections"][section]), "choice": choice}
    return client.post(f"/consultations/{vote['cid']}/ballots", data={**data, **extra})


# --- online ------------------------------------------------------------------------------------


def test_representative_votes_once_per_matter(app, world, client, vote):
    _as(client, world, "resident")
    page = client.get(f"/consultations/{vote['cid']}/votes").get_data(as_text=True)
    assert "more than half of 4 households" in page  # H777 is of another commune
    assert 'name="choice"' in page

    response = _cast(client, vote)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "is recorded" in page
    assert "Your household's vote: Agree" in page

    votes, conflicts = _votes(app)
    assert [(v.household_id, v.channel.value, v.choice.value) for v in votes] == [
        (vote["H001"], "online", "agree")
    ]
    assert votes[0].cast_by_id == world.ids["resident"]

    # A double click: refused, and no conflict to settle (same account, channel, choice).
    again = _cast(client, vote)
    assert again.status_code == 409
    assert "Your household has already voted on this matter" in again.get_data(as_text=True)
    assert "by Online" in again.get_data(as_text=True)
    assert _votes(app)[1] == []

    # Changing one's mind is refused too, and listed for the counting committee.
    changed = _cast(client, vote, choice="disagree")
    assert changed.status_code == 409
    votes, conflicts = _votes(app)
    assert len(votes) == 1
    assert votes[0].choice.value == "agree"
    assert [(c.vote_id, c.choice.value, c.channel.value) for c in conflicts] == [
        (votes[0].id, "disagree", "online")
    ]


def test_refusals_of_online_votes_store_nothing(app, world, client, make, vote):
    _as(client, world, "reviewer")  # represents no household
    response = _cast(client, vote)
    assert response.status_code == 403
    assert "does not represent a household" in response.get_data(as_text=True)

    _as(client, world, "resident")
    other = make.consultation("open", kind="decide")
    with app.app_context():
        from consultations.models import Section

        foreign = db.session.scalar(sa.select(Section.id).where(Section.consultation_id == other))
    bad_section = client.post(
        f"/consultations/{vote['cid']}/votes", data={"section_id": str(foreign), "choice": "agree"}
    )
    assert bad_section.status_code == 400
    assert "Choose one of the matters" in bad_section.get_data(as_text=True)
    for choice in ("blank", "maybe", ""):
        assert _cast(client, vote, choice=choice).status_code == 400
    assert _votes(app) == ([], [])


def test_a_household_outside_the_community_cannot_vote(app, world, client, make, vote):
    from households.models import Household

    with app.app_context():
        db.session.get(Household, vote["H001"]).representative_id = None
        db.session.get(Household, vote["H777"]).representative_id = world.ids["resident"]
        db.session.commit()
    _as(client, world, "resident")
    response = _cast(client, vote)
    assert response.status_code == 403
    assert "Phường Ngọc Hà, which is not part of the community" in response.get_data(as_text=True)
    assert _votes(app) == ([], [])


def test_outside_the_period_is_a_409(app, world, client, make, vote):
    from consultations.models import Consultation, Section, Status
    from core.timeutil import utcnow

    _as(client, world, "resident")
    with app.app_context():
        c = db.session.get(Consultation, vote["cid"])
        c.closes_at, c.stored_status = utcnow(), Status.closed
        db.session.commit()
    response = _cast(client, vote)
    assert response.status_code == 409
    assert "The vote is not open" in response.get_data(as_text=True)
    assert _votes(app) == ([], [])
    # A draft is not even there for a resident.
    draft = make.consultation("draft", kind="decide")
    with app.app_context():
        section = db.session.scalar(sa.select(Section.id).where(Section.consultation_id == draft))
    assert (
        client.post(
            f"/consultations/{draft}/votes", data={"section_id": section, "choice": "agree"}
        ).status_code
        == 404
    )
    # Nor does a comment consultation have votes.
    assert client.get(f"/consultations/{make.consultation('open')}/votes").status_code == 404


def test_pages_for_anonymous_and_for_a_resident_without_household(app, world, client, vote):
    page = client.get(f"/consultations/{vote['cid']}/votes").get_data(as_text=True)
    assert "Log in to vote" in page
    assert 'name="choice"' not in page
    _as(client, world, "moderator")
    page = client.get(f"/consultations/{vote['cid']}/votes").get_data(as_text=True)
    assert "/me/household" in page
    assert 'name="choice"' not in page


# --- paper and meetings --------------------------------------------------------------------------


def test_official_enters_paper_ballots_and_meeting_votes(app, world, client, vote):
    _as(client, world, "official")
    page = client.get(f"/consultations/{vote['cid']}/ballots").get_data(as_text=True)
    assert 'id="household"' in page
    assert "autofocus" in page

    response = _enter(client, vote, "H002", choice="spoilt", ballot_number="")
    assert response.status_code == 303
    assert "channel=paper" in response.headers["Location"]
    response = _enter(client, vote, "00004-t1/h005", section=1, channel="meeting")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'value="meeting" checked' in page  # the channel is kept for the next household
    assert "Recorded for household 00004-T1/H005" in page

    votes, conflicts = _votes(app)
    assert [(v.household_id, v.channel.value, v.choice.value) for v in votes] == [
        (vote["H002"], "paper", "spoilt"),
        (vote["H005a"], "meeting", "agree"),
    ]
    assert all(v.entered_by_id == world.ids["official"] and v.cast_by_id is None for v in votes)
    assert conflicts == []
    # The staff see who voted through which channel, not how (the vote is secret).
    _as(client, world, "reviewer")
    page = client.get(f"/consultations/{vote['cid']}/ballots").get_data(as_text=True)
    assert "00004-T2/H002" in page
    assert "Voting ballot (paper)" in page
    assert "Spoilt ballot" not in page.split('id="voters"')[1]
    assert "Phạm Văn Hai" not in page


def test_every_matter_of_a_ballot_at_once(app, world, client, vote):
    _as(client, world, "official")
    data = {"household": "H002", "channel": "paper"}
    data.update({f"choice_{sid}": "disagree" for sid in vote["sections"]})
    assert client.post(f"/consultations/{vote['cid']}/ballots", data=data).status_code == 303
    votes, _ = _votes(app)
    assert sorted(v.section_id for v in votes) == sorted(vote["sections"])


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("H404", "There is no household with code H404 in this community."),
        ("00008/H777", "belongs to Phường Ngọc Hà, which is not part of the community"),
        ("H777", "belongs to Phường Ngọc Hà, which is not part of the community"),
        ("H005", "Several households of this community have the code H005"),
        ("", "Type the household code printed on the ballot."),
    ],
)
def test_bad_household_codes(app, world, client, vote, typed, message):
    _as(client, world, "official")
    response = _enter(client, vote, typed)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert f'value="{typed}"' in page if typed else True  # what was typed is kept
    assert _votes(app) == ([], [])


def test_bad_entries_store_nothing(app, world, client, vote):
    _as(client, world, "official")
    assert _enter(client, vote, "H002", choice="blank", channel="meeting").status_code == 400
    assert _enter(client, vote, "H002", channel="hotline").status_code == 400
    assert _enter(client, vote, "H002", choice="maybe").status_code == 400
    # One bad matter of a whole ballot: none of it is stored.
    data = {"household": "H002", f"choice_{vote['sections'][0]}": "agree"}
    data[f"choice_{vote['sections'][1]}"] = "maybe"
    assert client.post(f"/consultations/{vote['cid']}/ballots", data=data).status_code == 400
    assert _votes(app) == ([], [])
    # Residents and officials of another commune may not enter ballots.
    for who in ("resident", "official_other"):
        _as(client, world, who)
        assert _enter(client, vote, "H002").status_code == 403
    assert _votes(app) == ([], [])


def test_online_then_paper_the_paper_is_refused_and_listed(app, world, client, vote):
    _as(client, world, "resident")
    assert _cast(client, vote).status_code == 303
    _as(client, world, "official")
    response = _enter(client, vote, "00004-T1/H001", choice="disagree")
    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "Household 00004-T1/H001 has already voted" in text
    assert "Online" in text
    assert "listed for the counting committee" in text
    assert "Agree" not in text.split("There is a problem")[1].split("</div>")[0]  # secret
    votes, conflicts = _votes(app)
    assert [(v.channel.value, v.choice.value) for v in votes] == [("online", "agree")]
    assert [(c.vote_id, c.channel.value, c.choice.value, c.entered_by_id) for c in conflicts] == [
        (votes[0].id, "paper", "disagree", world.ids["official"])
    ]
    # Then online after paper: the representative is told it was by paper.
    assert _enter(client, vote, "H002").status_code == 303
    with app.app_context():
        from households.models import Household

        db.session.get(Household, vote["H001"]).representative_id = None
        db.session.get(Household, vote["H002"]).representative_id = world.ids["resident"]
        db.session.commit()
    _as(client, world, "resident")
    response = _cast(client, vote)
    assert response.status_code == 409
    assert "by Voting ballot (paper)" in response.get_data(as_text=True)
    assert len(_votes(app)[1]) == 2


def test_ballots_until_the_count_is_confirmed(app, world, client, vote):
    from consultations.models import Consultation, Status
    from core.timeutil import utcnow
    from decisions.models import Decision

    _as(client, world, "official")
    with app.app_context():
        c = db.session.get(Consultation, vote["cid"])
        c.closes_at, c.stored_status = utcnow(), Status.closed
        db.session.commit()
    assert _enter(client, vote, "H002").status_code == 303  # closed: still entered
    with app.app_context():
        db.session.get(Decision, vote["cid"]).counted_at = utcnow()
        db.session.commit()
    response = _enter(client, vote, "H001")
    assert response.status_code == 409
    assert len(_votes(app)[0]) == 1


def test_the_decision_row_is_created_once(app, vote):
    from consultations.models import Consultation
    from decisions.models import Decision
    from decisions.voting import decision_for

    with app.test_request_context():
        c = db.session.get(Consultation, vote["cid"])
        first = decision_for(c)
        assert decision_for(c) is first
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Decision)) == 1
        assert c.decision is not None
        assert c.decision.secret


# --- the ballots to print ----------------------------------------------------------------------


def _pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "ballots.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


def test_ballots_pdf_numbers_each_household_once(app, world, client, vote, tmp_path):
    from decisions.models import Ballot, Vote
    from households.models import Household

    _as(client, world, "official")
    response = client.get(f"/consultations/{vote['cid']}/ballots.pdf")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    text = _pdf_text(response.data, tmp_path)
    assert text.count("PHIẾU BIỂU QUYẾT") == 4
    assert "Đóng góp làm đường thôn" in text
    for number, code in enumerate(
        ["00004-T1/H001", "00004-T1/H005", "00004-T2/H002", "00004-T2/H005"], start=1
    ):
        assert f"Số phiếu: {number}" in text
        assert code in text
    assert "Tổ dân phố số 1" in text
    assert "Tán thành" in text
    assert "Không tán thành" in text
    assert "Ủy ban nhân dân phường Ba Đình" in text
    for name in ("Lê Thị Đại Diện", "Phạm Văn Hai", "Hộ Năm", "Ngoài Xã", "H777"):
        assert name not in text

    with app.app_context():
        before = dict(db.session.execute(sa.select(Ballot.household_id, Ballot.number)).all())
        db.session.add(Household(locality_id=world.village_ids[0], code="H000"))
        db.session.commit()
    assert client.get(f"/consultations/{vote['cid']}/ballots.pdf").status_code == 200
    with app.app_context():
        after = dict(db.session.execute(sa.select(Ballot.household_id, Ballot.number)).all())
        new = db.session.scalar(sa.select(Household.id).where(Household.code == "H000"))
    assert {k: after[k] for k in before} == before  # numbers stand once printed
    assert after[new] == 5

    # A ballot's number is checked against the household's.
    assert _enter(client, vote, "H002", ballot_number="1").status_code == 400
    assert _enter(client, vote, "H002", ballot_number="3").status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(Vote.ballot_number)) == 3
    # Only officials print them.
    _as(client, world, "reviewer")
    assert client.get(f"/consultations/{vote['cid']}/ballots.pdf").status_code == 403


def test_consultation_page_block(app, world, client, vote):
    page = client.get(f"/consultations/{vote['cid']}").get_data(as_text=True)
    assert 'id="household-vote"' in page
    assert "ballots.pdf" not in page
    _as(client, world, "resident")
    assert _cast(client, vote).status_code == 303
    page = client.get(f"/consultations/{vote['cid']}").get_data(as_text=True)
    assert "Your household has voted on 1 matter of 3." in page
    _as(client, world, "official")
    page = client.get(f"/consultations/{vote['cid']}").get_data(as_text=True)
    assert f"/consultations/{vote['cid']}/ballots.pdf" in page
    assert f"/consultations/{vote['cid']}/ballots" in page


def test_ballots_of_a_large_community_are_made_by_a_job(
    app, world, client, vote, tmp_path, monkeypatch
):
    """Above BALLOTS_INLINE_MAX households the worker makes the file, in batches (here the job
    runs where it is enqueued, as QUEUE_IMMEDIATE does in the tests)."""
    from decisions import ballot_jobs
    from exportjobs.models import ExportJob
    from households.models import Household

    monkeypatch.setitem(app.config, "BALLOTS_INLINE_MAX", 2)
    monkeypatch.setattr(ballot_jobs, "BATCH", 3)  # two batches for four ballots
    _as(client, world, "official")
    response = client.get(f"/consultations/{vote['cid']}/ballots.pdf")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    text = _pdf_text(response.data, tmp_path)
    response.close()
    assert text.count("PHIẾU BIỂU QUYẾT") == 4
    assert "00004-T2/H005" in text
    with app.app_context():
        job = db.session.scalar(sa.select(ExportJob).where(ExportJob.format == "ballots"))
        assert (job.status, job.done, job.total) == ("done", 4, 4)
        first_file = job.stored_name
    # Asked again, the same file; once a household is added, a new one with its ballot.
    client.get(f"/consultations/{vote['cid']}/ballots.pdf").close()
    with app.app_context():
        assert db.session.scalar(sa.select(ExportJob.stored_name)) == first_file
        db.session.add(Household(locality_id=world.village_ids[2], code="H900"))
        db.session.commit()
    response = client.get(f"/consultations/{vote['cid']}/ballots.pdf")
    assert "00004-T3/H900" in _pdf_text(response.data, tmp_path)
    response.close()
    with app.app_context():
        assert db.session.scalar(sa.select(ExportJob.stored_name)) != first_file


def test_a_ballot_after_an_online_vote_on_one_matter(app, world, client, vote):
    """The ballot's other matters count; the matter voted online is refused and listed."""
    _as(client, world, "resident")
    assert _cast(client, vote, section=0).status_code == 303
    _as(client, world, "official")
    first, second = vote["sections"][:2]
    data = {"household": "H001", f"choice_{first}": "disagree", f"choice_{second}": "agree"}
    response = client.post(f"/consultations/{vote['cid']}/ballots", data=data)
    assert response.status_code == 409
    assert "The other matters of this entry were recorded" in response.get_data(as_text=True)
    votes, conflicts = _votes(app)
    assert sorted((v.section_id, v.channel.value) for v in votes) == [
        (first, "online"),
        (second, "paper"),
    ]
    assert [(c.section_id, c.channel.value) for c in conflicts] == [(first, "paper")]
    # The same official typing the same ballot again: refused, nothing more to settle.
    again = client.post(
        f"/consultations/{vote['cid']}/ballots",
        data={"household": "H001", f"choice_{second}": "agree"},
    )
    assert again.status_code == 409
    assert len(_votes(app)[1]) == 1


def test_consultation_page_sql_does_not_grow_with_households(app, world, client, vote):
    from test_perf_queries import counting

    from households.models import Household

    path = f"/consultations/{vote['cid']}"

    def statements() -> int:
        assert client.get(path).status_code == 200
        with counting(app) as seen:
            assert client.get(path).status_code == 200
        return len(seen)

    _as(client, world, "resident")
    assert _cast(client, vote).status_code == 303
    few = statements()
    with app.app_context():
        for i in range(300):
            db.session.add(Household(locality_id=world.village_ids[i % 3], code=f"X{i:03d}"))
        db.session.commit()
    assert _cast(client, vote, section=1).status_code == 303
    assert statements() == few
