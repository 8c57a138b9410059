"""Counting a household vote: the committee, the reconciliation, corrections with a reason,
confirmation (after it nothing is entered), the Fatherland Front's sign-off, publication of
frozen results with their SHA-256, the minutes (DOCX and PDF) and the record that includes them.
"""

from __future__ import annotations

import io
import subprocess
import threading

import pytest
import sqlalchemy as sa
from docx import Document
from support import PASSWORD
from test_results import matter_ids, result_of, seed_households, seed_votes

from audit.models import AuditEvent
from consultations.canonical import canonical_json, verify_record
from consultations.models import Consultation, Record
from core.extensions import db
from decisions import results as res
from decisions.models import Decision, Vote, VoteConflict

COMMITTEE = {
    "members-0-name": "Nguyễn Văn Kiểm",
    "members-0-title": "Tổ trưởng",
    "members-1-name": "Trần Thị Phiếu",
    "members-1-title": "Thư ký",
    "members-2-name": "Lê Văn Đếm",
    "members-2-title": "",
}


def login(client, world, who: str) -> None:
    client.post("/auth/login", data={"email": world.email(who), "password": PASSWORD})


def clients(app, world, *roles):
    out = []
    for who in roles:
        c = app.test_client()
        login(c, world, who)
        out.append(c)
    return out


@pytest.fixture
def counted_vote(app, world, make):
    """A closed decide consultation: 5 households, votes through every channel, a conflict."""
    cid = make.consultation("closed", kind="decide")
    hh = seed_households(app, world.village_ids[0], 5)
    m1, m2, _m3 = matter_ids(app, cid)
    seed_votes(
        app,
        cid,
        m1,
        hh,
        [("agree", "online"), ("agree", "paper"), ("agree", "meeting"), ("disagree", "paper")],
    )
    seed_votes(app, cid, m2, hh, [("agree", "online"), ("blank", "paper"), ("spoilt", "paper")])
    with app.app_context():
        standing = db.session.scalar(
            sa.select(Vote).where(Vote.section_id == m1, Vote.household_id == hh[0])
        )
        db.session.add(
            VoteConflict(
                consultation_id=cid,
                section_id=m1,
                household_id=hh[0],
                vote_id=standing.id,
                choice="disagree",
                channel="paper",
                ballot_number=7,
            )
        )
        db.session.commit()
        vote_id = standing.id
    return cid, hh, (m1, m2), vote_id


def test_committee_has_three_to_five_members_after_the_close(app, world, make, counted_vote):
    cid, *_ = counted_vote
    (official,) = clients(app, world, "official")
    two = {k: v for k, v in COMMITTEE.items() if not k.startswith("members-2")}
    r = official.post(f"/consultations/{cid}/counting", data=two)
    assert r.status_code == 400
    assert "3 to 5 members" in r.get_data(as_text=True)
    r = official.post(f"/consultations/{cid}/counting", data=COMMITTEE)
    assert r.status_code == 302
    with app.app_context():
        committee = db.session.get(Decision, cid).committee
    assert committee[0] == {"name": "Nguyễn Văn Kiểm", "title": "Tổ trưởng"}
    assert len(committee) == 3
    still_open = make.consultation("open", kind="decide")
    assert official.post(f"/consultations/{still_open}/counting", data=COMMITTEE).status_code == 409


def test_reconciliation_adds_up(app, world, counted_vote):
    cid, _hh, (_m1, _m2), _vote_id = counted_vote
    with app.test_request_context():
        from decisions.counting import reconciliation

        rec = reconciliation(db.session.get(Consultation, cid))
    assert rec["households_total"] == 5
    # Household 1 voted online on both matters, 2 on paper, 3 at the meeting then on paper.
    assert rec["voted"] == {"total": 4, "online": 1, "paper": 3, "meeting": 1}
    assert rec["ballots"] == {"printed": 0, "returned": 3, "valid": 2, "blank": 0, "spoilt": 1}
    assert rec["conflicts"] == 1
    assert rec["corrections"] == 0
    checks = {ch["key"]: ch for ch in rec["checks"] if ch["matter"] is None}
    # A household that voted through two channels (one per matter) shows as a difference.
    assert checks["channels"]["ok"] is False
    assert checks["channels"]["difference"] == 1
    # Ballots were entered without printing any: returned exceeds printed.
    assert checks["returned"]["ok"] is False
    assert all(ch["ok"] for ch in rec["checks"] if ch["matter"] is not None)
    first = rec["matters"][0]
    assert first["paper"] == {"valid": 2, "blank": 0, "spoilt": 0}


def test_counting_page_shows_both_entries_of_a_conflict_to_staff_only(app, world, counted_vote):
    cid, *_ = counted_vote
    official, resident, reviewer = clients(app, world, "official", "resident", "reviewer")
    page = official.get(f"/consultations/{cid}/counting")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "H00001" in text
    assert "ballot 7" in text
    assert "Difference: 1" in text  # the channels check
    assert resident.get(f"/consultations/{cid}/counting").status_code == 403
    assert reviewer.get(f"/consultations/{cid}/counting").status_code == 403


def test_correction_needs_a_reason_keeps_the_original_and_is_audited(app, world, counted_vote):
    cid, _hh, _m, vote_id = counted_vote
    (official,) = clients(app, world, "official")
    url = f"/consultations/{cid}/counting/corrections"
    r = official.post(url, data={"vote_id": vote_id, "choice": "disagree", "reason": "  "})
    assert r.status_code == 400
    assert "Write the reason for the correction." in r.get_data(as_text=True)
    r = official.post(url, data={"vote_id": 999999, "choice": "disagree", "reason": "Sai"})
    assert r.status_code == 400
    reason = "Phiếu số 7 ghi rõ không tán thành; nhập nhầm trực tuyến."
    assert (
        official.post(
            url, data={"vote_id": vote_id, "choice": "disagree", "reason": reason}
        ).status_code
        == 302
    )
    assert (
        official.post(
            url, data={"vote_id": vote_id, "choice": "blank", "reason": "Lần hai"}
        ).status_code
        == 302
    )
    with app.app_context():
        v = db.session.get(Vote, vote_id)
        assert v.choice.value == "blank"
        assert v.original_choice.value == "agree"
        assert v.correction_reason == "Lần hai"
        assert v.corrected_by_id == world.ids["official"]
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "vote.correct").order_by(AuditEvent.id)
        ).all()
        assert [e.data["reason"] for e in events] == [reason, "Lần hai"]
        assert "choice" not in events[0].data  # how a household voted stays off the trail
    assert result_of(app, cid)["matters"][0]["votes"] == {"agree": 2, "disagree": 1}


def _confirm(app, world, cid):
    official, reviewer = clients(app, world, "official", "reviewer")
    assert official.post(f"/consultations/{cid}/counting", data=COMMITTEE).status_code == 302
    assert official.post(f"/consultations/{cid}/counting/confirm", data={}).status_code == 302
    return official, reviewer


def test_confirm_needs_the_committee_and_closes_entry(app, world, counted_vote):
    cid, hh, (m1, _m2), vote_id = counted_vote
    (official,) = clients(app, world, "official")
    assert official.post(f"/consultations/{cid}/counting/confirm", data={}).status_code == 409
    official, _reviewer = _confirm(app, world, cid)
    with app.app_context():
        d = db.session.get(Decision, cid)
        assert d.counted_at is not None
        assert d.counted_by_id == world.ids["official"]
        assert d.counted["results"]["households_total"] == 5
        assert d.counted["reconciliation"]["voted"]["total"] == 4
    correction = {"vote_id": vote_id, "choice": "disagree", "reason": "Muộn"}
    assert (
        official.post(f"/consultations/{cid}/counting/corrections", data=correction).status_code
        == 409
    )
    assert official.post(f"/consultations/{cid}/counting/confirm", data={}).status_code == 409
    ballot = {"household": "H00005", "section_id": m1, "choice": "agree", "channel": "paper"}
    assert official.post(f"/consultations/{cid}/ballots", data=ballot).status_code == 409
    with app.app_context():
        assert (
            db.session.scalar(sa.select(sa.func.count(Vote.id)).where(Vote.household_id == hh[4]))
            == 0
        )


def test_sign_off_by_the_reviewer_after_confirm_then_publish(app, world, counted_vote):
    cid, hh, (_m1, m2), _vote_id = counted_vote
    official, reviewer, resident = clients(app, world, "official", "reviewer", "resident")
    # Before the count is confirmed: nothing to sign, nothing to publish.
    assert reviewer.post(f"/consultations/{cid}/results/sign", data={}).status_code == 409
    assert official.post(f"/consultations/{cid}/results/publish", data={}).status_code == 409
    _confirm(app, world, cid)
    assert official.post(f"/consultations/{cid}/results/sign", data={}).status_code == 403
    assert resident.post(f"/consultations/{cid}/results/sign", data={}).status_code == 403
    assert official.post(f"/consultations/{cid}/results/publish", data={}).status_code == 409
    page = reviewer.get(f"/consultations/{cid}/results").get_data(as_text=True)
    assert "Sign the count off" in page
    note = {"note": "Ủy ban MTTQ phường đã giám sát việc kiểm phiếu."}
    assert reviewer.post(f"/consultations/{cid}/results/sign", data=note).status_code == 302
    assert reviewer.post(f"/consultations/{cid}/results/sign", data=note).status_code == 409
    assert reviewer.post(f"/consultations/{cid}/results/publish", data={}).status_code == 403
    assert official.post(f"/consultations/{cid}/results/publish", data={}).status_code == 302
    assert official.post(f"/consultations/{cid}/results/publish", data={}).status_code == 409
    before = result_of(app, cid)
    assert before["status"] == "published"
    assert before["published_at"]
    with app.app_context():
        d = db.session.get(Decision, cid)
        assert res.verify(d)
        assert before["content_hash"] == d.content_hash
        assert res.content_hash(d.content) == d.content_hash
        # A vote written afterwards straight into the table changes nothing published.
        db.session.add(
            Vote(
                consultation_id=cid,
                section_id=m2,
                household_id=hh[4],
                choice="agree",
                channel="online",
            )
        )
        db.session.commit()
    assert result_of(app, cid) == before
    api = app.test_client().get(f"/api/v1/consultations/{cid}/results").json
    assert api == before
    assert api["status"] == "published"
    text = app.test_client().get(f"/consultations/{cid}/results").get_data(as_text=True)
    assert before["content_hash"] in text
    assert "Provisional" not in text


def _pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "minutes.pdf"
    path.write_bytes(data)
    done = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return " ".join(done.stdout.split())


def test_minutes_print_committee_counts_corrections_and_hash(app, world, counted_vote, tmp_path):
    cid, _hh, _m, vote_id = counted_vote
    official, reviewer = clients(app, world, "official", "reviewer")
    anonymous = app.test_client()
    assert anonymous.get(f"/consultations/{cid}/results.pdf").status_code == 302  # log in first
    reason = "Phiếu số 7 ghi rõ không tán thành"
    official.post(
        f"/consultations/{cid}/counting/corrections",
        data={"vote_id": vote_id, "choice": "disagree", "reason": reason},
    )
    draft = official.get(f"/consultations/{cid}/results.pdf")
    assert draft.status_code == 200
    assert "Dự thảo biên bản" in _pdf_text(draft.data, tmp_path)
    _confirm(app, world, cid)
    reviewer.post(f"/consultations/{cid}/results/sign", data={"note": "Đồng ý"})
    official.post(f"/consultations/{cid}/results/publish", data={})
    digest = result_of(app, cid)["content_hash"]
    pdf = anonymous.get(f"/consultations/{cid}/results.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["Content-Type"] == "application/pdf"
    text = _pdf_text(pdf.data, tmp_path)
    for expected in (
        "BIÊN BẢN",
        "Kiểm phiếu biểu quyết của hộ gia đình",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Nguyễn Văn Kiểm",
        "Trần Thị Phiếu",
        "Lê Văn Đếm",
        "Tổng số hộ gia đình trên địa bàn 5",
        "Số phiếu thu về 3",
        "Không được thông qua",
        reason,
        digest,
    ):
        assert expected in text, expected
    docx = anonymous.get(f"/consultations/{cid}/results.docx")
    assert docx.status_code == 200
    doc = Document(io.BytesIO(docx.data))
    words = "\n".join(p.text for p in doc.paragraphs)
    words += "\n".join(cell.text for t in doc.tables for row in t.rows for cell in row.cells)
    for expected in ("Nguyễn Văn Kiểm", "Tổ trưởng", reason, digest, "2 (40,0%)"):
        assert expected in words, expected
    assert "H00001" not in words
    assert "Người đại diện" not in words


def test_the_record_of_a_decide_consultation_includes_the_results(app, world, counted_vote):
    cid, *_ = counted_vote
    official, reviewer, moderator = clients(app, world, "official", "reviewer", "moderator")
    record = {"conclusion": "Kết luận", "signer_name": "Nguyễn Văn A", "signer_title": "Chủ tịch"}
    assert moderator.post(f"/consultations/{cid}/record/publish", data=record).status_code == 409
    _confirm(app, world, cid)
    reviewer.post(f"/consultations/{cid}/results/sign", data={})
    official.post(f"/consultations/{cid}/results/publish", data={})
    assert moderator.post(f"/consultations/{cid}/record/publish", data=record).status_code == 302
    digest = result_of(app, cid)["content_hash"]
    with app.test_request_context():
        rec = db.session.scalar(sa.select(Record).where(Record.consultation_id == cid))
        assert '"vote_results"' in rec.canonical
        assert digest in rec.canonical
        assert verify_record(rec).ok
    docx = app.test_client().get(f"/consultations/{cid}/record.docx")
    doc = Document(io.BytesIO(docx.data))
    words = "\n".join(p.text for p in doc.paragraphs)
    assert "Kết quả biểu quyết của hộ gia đình" in words
    assert digest in words


def test_records_of_other_kinds_hash_without_vote_results(app, world, make):
    cid = make.consultation("closed", kind="comment")
    with app.test_request_context():
        c = db.session.get(Consultation, cid)
        from core.timeutil import utcnow

        assert '"vote_results"' not in canonical_json(c, conclusion="x", published_at=utcnow())


@pytest.mark.postgres
def test_whole_count_and_concurrent_publishes(app, world, counted_vote):
    """On both databases: the count end to end, then two publishes at once: one wins."""
    cid, *_ = counted_vote
    _official, reviewer = _confirm(app, world, cid)
    assert reviewer.post(f"/consultations/{cid}/results/sign", data={}).status_code == 302
    a, b = clients(app, world, "official", "moderator")
    barrier, codes = threading.Barrier(2), []

    def publish(client):
        barrier.wait()
        codes.append(client.post(f"/consultations/{cid}/results/publish", data={}).status_code)

    threads = [threading.Thread(target=publish, args=(c,)) for c in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(codes) == [302, 409]
    with app.app_context():
        d = db.session.get(Decision, cid)
        assert res.verify(d)
        assert (
            db.session.scalar(
                sa.select(sa.func.count(AuditEvent.id)).where(
                    AuditEvent.action == "decision.publish"
                )
            )
            == 1
        )
