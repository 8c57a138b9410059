"""The record of consultation: who sees it when, publishing it, freezing it, verifying its hash."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from audit.models import AuditEvent
from auth.models import User
from consultations import services
from consultations.models import (
    Channel,
    Consultation,
    Opinion,
    OpinionStatus,
    Record,
    Response,
    Stance,
    Status,
)
from core.extensions import db
from core.timeutil import utcnow


def answer(app, opinion_ids, outcome="accepted", explanation="Ủy ban tiếp thu ý kiến này."):
    """Answer opinions directly in the database (as a moderator's response would)."""
    with app.app_context():
        response = Response(
            consultation_id=db.session.get(Opinion, opinion_ids[0]).consultation_id,
            outcome=outcome,
            explanation=explanation,
        )
        db.session.add(response)
        db.session.flush()
        for oid in opinion_ids:
            db.session.get(Opinion, oid).response_id = response.id
        db.session.commit()


def close(app, cid):
    with app.app_context():
        c = db.session.get(Consultation, cid)
        c.stored_status, c.closes_at = Status.closed, utcnow() - timedelta(seconds=1)
        db.session.commit()


def hide(app, opinion_id, reason="Nội dung xúc phạm người khác"):
    with app.app_context():
        op = db.session.get(Opinion, opinion_id)
        op.status, op.hidden_reason, op.hidden_at = OpinionStatus.hidden, reason, utcnow()
        db.session.commit()


def withdraw(app, opinion_id):
    with app.app_context():
        op = db.session.get(Opinion, opinion_id)
        op.status, op.withdrawn_at = OpinionStatus.withdrawn, utcnow()
        db.session.commit()


@pytest.fixture
def closed(app, make):
    """A closed consultation with opinions of every kind: on articles, offline, hidden, withdrawn."""
    cid = make.consultation("open")
    ids = {
        "agree": make.opinion(cid, body="Tôi đồng ý với quy định về lộ giới.", section_position=3),
        "disagree": make.opinion(
            cid, who="admin", body="Không nên áp dụng cho ngõ cũ.", stance="disagree"
        ),
        "paper": make.opinion(
            cid,
            who="official",
            body="Đề nghị bổ sung điều khoản chuyển tiếp.",
            stance="suggest",
            channel="paper",
            section_position=1,
        ),
        "hidden": make.opinion(cid, body="Lời lẽ không phù hợp.", stance="disagree"),
        "withdrawn": make.opinion(cid, body="Tôi rút lại ý kiến này.", section_position=2),
    }
    hide(app, ids["hidden"])
    withdraw(app, ids["withdrawn"])
    close(app, cid)
    return cid, ids


def answer_all(app, ids):
    answer(app, [ids["agree"], ids["paper"]])
    answer(
        app,
        [ids["disagree"], ids["hidden"]],
        outcome="not_accepted",
        explanation="Giữ nguyên như dự thảo.",
    )


def publish(client, cid, conclusion="Thống nhất ban hành quy định sau khi tiếp thu.", **signer):
    signer = {"signer_name": "Nguyễn Văn An", "signer_title": "Chủ tịch", **signer}
    return client.post(
        f"/consultations/{cid}/record/publish", data={"conclusion": conclusion, **signer}
    )


# --- who sees the record, and when ------------------------------------------------------------------


@pytest.mark.postgres
def test_open_consultation_has_no_record_yet(client, auth, make):
    cid = make.consultation("open")
    auth.login("moderator@example.vn")
    assert client.get(f"/consultations/{cid}/record").status_code == 409
    assert client.get(f"/consultations/{cid}/record.pdf").status_code == 409


def test_draft_record_of_another_draft_is_unknown(client, auth, make):
    cid = make.consultation("draft")
    auth.login("resident@example.vn")
    assert client.get(f"/consultations/{cid}/record").status_code == 404
    assert client.get("/consultations/999999/record").status_code == 404


#: Who sees the draft record of a closed consultation (None: not logged in).
DRAFT_RECORD_ACCESS = [
    (None, 302),
    ("resident", 403),
    ("official_other", 403),
    ("reviewer", 200),
    ("official", 200),
    ("moderator", 200),
]


def test_draft_record_only_for_the_staff_of_the_locality(client, auth, closed):
    cid, _ = closed
    for who, status in DRAFT_RECORD_ACCESS:
        if who:
            auth.login(f"{who}@example.vn")
        for path in ("record", "record.docx", "record.pdf"):
            response = client.get(f"/consultations/{cid}/{path}")
            assert response.status_code == status, (who, path)
            if status == 302:
                assert "/auth/login" in response.headers["Location"]
        if who:
            auth.logout()


@pytest.mark.postgres
def test_draft_record_shows_everything_generated_from_the_data(client, auth, closed):
    cid, _ = closed
    auth.login("reviewer@example.vn")
    html = client.get(f"/consultations/{cid}/record").get_data(as_text=True)
    assert "Quy định quản lý đất đai phường Ba Đình" in html
    assert "Tóm tắt: lấy ý kiến người dân." in html
    assert "Phường Ba Đình" in html
    # every opinion with its tracking number; hidden ones by their reason, withdrawn ones marked
    assert html.count("YK-") >= 5
    assert "Tôi đồng ý với quy định về lộ giới." in html
    assert "Nội dung xúc phạm người khác" in html
    assert "Lời lẽ không phù hợp." not in html
    assert "Tôi rút lại ý kiến này." not in html
    # participation charts drawn on the server, accessible
    assert html.count('role="img"') == 4
    assert "<title>" in html
    assert 'aria-label="' in html
    assert "Tổ dân phố số 1" in html  # by place of residence
    # not yet published: no hash, and no publish form for a reviewer
    assert 'name="conclusion"' not in html


def test_moderator_sees_the_publish_form_with_the_unanswered_count(client, auth, closed):
    cid, _ = closed
    client.set_cookie("lang", "en")
    auth.login("moderator@example.vn")
    html = client.get(f"/consultations/{cid}/record").get_data(as_text=True)
    assert 'name="conclusion"' in html
    assert "4 opinions have no answer yet" in html


# --- publishing -------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_publishing_needs_a_conclusion_and_every_opinion_answered(app, client, auth, closed):
    cid, ids = closed
    client.set_cookie("lang", "en")
    auth.login("moderator@example.vn")
    response = publish(client, cid, conclusion="   ")
    assert response.status_code == 400

    answer(app, [ids["agree"]])
    response = publish(client, cid, conclusion="Kết luận giữ lại khi lỗi.")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "3 opinions have no answer yet" in html
    assert "Kết luận giữ lại khi lỗi." in html  # the typed text is kept
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Record)) == 0
        assert db.session.get(Consultation, cid).status == Status.closed


@pytest.mark.postgres
def test_publishing_hashes_concludes_and_audits(app, client, auth, closed):
    cid, ids = closed
    answer_all(app, ids)  # the withdrawn opinion needs no answer
    auth.login("moderator@example.vn")
    response = publish(client, cid)
    assert response.status_code == 302
    with app.app_context():
        rec = db.session.scalar(sa.select(Record).where(Record.consultation_id == cid))
        assert rec.content_hash == hashlib.sha256(rec.canonical.encode()).hexdigest()
        doc = json.loads(rec.canonical)
        assert rec.canonical == json.dumps(
            doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        assert doc["conclusion"] == "Thống nhất ban hành quy định sau khi tiếp thu."
        assert len(doc["opinions"]) == 5
        hidden = next(o for o in doc["opinions"] if o["status"] == "hidden")
        assert hidden["body"] is None
        assert hidden["hidden_reason"] == "Nội dung xúc phạm người khác"
        assert hidden["answer"] == {
            "outcome": "not_accepted",
            "explanation": "Giữ nguyên như dự thảo.",
        }
        c = db.session.get(Consultation, cid)
        assert c.status == Status.concluded
        assert c.concluded_at is not None
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "record.publish")
        )
        assert event.data["content_hash"] == rec.content_hash
        assert event.actor_id == db.session.scalar(
            sa.select(User.id).where(User.email == "moderator@example.vn")
        )
        content_hash = rec.content_hash

    # public now, for everyone, with the hash printed
    auth.logout()
    html = client.get(f"/consultations/{cid}/record").get_data(as_text=True)
    assert content_hash in html
    assert "Thống nhất ban hành quy định sau khi tiếp thu." in html
    assert 'name="conclusion"' not in html


def test_only_moderators_of_the_locality_publish(app, client, auth, closed):
    cid, ids = closed
    answer_all(app, ids)
    for who in ("resident", "reviewer", "official", "official_other"):
        auth.login(f"{who}@example.vn")
        assert publish(client, cid).status_code == 403, who
        auth.logout()
    with app.app_context():
        assert db.session.get(Consultation, cid).status == Status.closed


def test_publishing_an_open_consultation_is_refused(client, auth, make):
    cid = make.consultation("open")
    auth.login("moderator@example.vn")
    assert publish(client, cid).status_code == 409


def test_anonymous_publish_goes_to_login(client, closed):
    cid, _ = closed
    response = publish(client, cid)
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


# --- frozen after publishing -------------------------------------------------------------------------


@pytest.mark.postgres
def test_a_published_record_is_frozen(app, client, auth, closed):
    cid, ids = closed
    answer_all(app, ids)
    auth.login("moderator@example.vn")
    assert publish(client, cid).status_code == 302

    assert publish(client, cid, conclusion="Lần hai").status_code == 409
    assert (
        client.post(
            f"/moderation/opinions/{ids['agree']}/hide", data={"reason": "Spam"}
        ).status_code
        == 409
    )
    response = client.post(
        f"/moderation/opinions/{ids['disagree']}/response",
        data={"outcome": "accepted", "explanation": "Đổi câu trả lời"},
    )
    assert response.status_code == 409
    auth.logout()
    auth.login("reviewer@example.vn")
    assert client.post(f"/consultations/{cid}/reviews", data={"body": "Muộn"}).status_code == 409

    with app.test_request_context():
        c = db.session.get(Consultation, cid)
        op = db.session.get(Opinion, ids["agree"])
        official = db.session.scalar(sa.select(User).where(User.email == "official@example.vn"))
        with pytest.raises(services.StateError):
            services.edit_opinion(op, by=op.author, body="Sửa sau khi công bố", stance=Stance.agree)
        with pytest.raises(services.StateError):
            services.withdraw_opinion(op, by=op.author)
        with pytest.raises(services.StateError):
            services.post_opinion(
                c,
                by=official,
                body="Ý kiến muộn",
                stance=Stance.agree,
                channel=Channel.paper,
                contributor_name="Lê Văn C",
            )
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Record)) == 1


# --- verification --------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_verify_says_ok_then_mismatch_after_tampering(app, client, auth, runner, closed):
    cid, ids = closed
    answer_all(app, ids)
    auth.login("moderator@example.vn")
    assert publish(client, cid).status_code == 302
    with app.app_context():
        content_hash = db.session.scalar(
            sa.select(Record.content_hash).where(Record.consultation_id == cid)
        )

    result = runner.invoke(args=["record", "verify", str(cid)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"OK {content_hash}"

    with app.app_context():
        tracking = db.session.get(Opinion, ids["agree"]).tracking_number
        db.session.execute(
            sa.text("UPDATE opinion SET body = :b WHERE id = :i"),
            {"b": "Nội dung bị sửa", "i": ids["agree"]},
        )
        db.session.commit()
    result = runner.invoke(args=["record", "verify", str(cid)])
    assert result.exit_code == 1
    assert "MISMATCH" in result.output
    assert tracking in result.output


@pytest.mark.postgres
def test_verify_detects_a_changed_answer_or_conclusion(app, client, auth, runner, closed):
    cid, ids = closed
    answer_all(app, ids)
    auth.login("moderator@example.vn")
    assert publish(client, cid).status_code == 302
    with app.app_context():
        db.session.execute(sa.text("UPDATE response SET explanation = 'Đã đổi'"))
        db.session.commit()
    result = runner.invoke(args=["record", "verify", str(cid)])
    assert result.exit_code == 1
    assert "MISMATCH" in result.output

    with app.app_context():
        db.session.execute(
            sa.text(
                "UPDATE response SET explanation = 'Giữ nguyên như dự thảo.' WHERE outcome = 'not_accepted'"
            )
        )
        db.session.execute(
            sa.text(
                "UPDATE response SET explanation = 'Ủy ban tiếp thu ý kiến này.' WHERE outcome = 'accepted'"
            )
        )
        db.session.commit()
    assert runner.invoke(args=["record", "verify", str(cid)]).exit_code == 0

    with app.app_context():
        db.session.execute(sa.text("UPDATE record SET conclusion = 'Kết luận khác'"))
        db.session.commit()
    result = runner.invoke(args=["record", "verify", str(cid)])
    assert result.exit_code == 1
    assert "MISMATCH" in result.output


def test_verify_without_a_published_record_fails(runner, closed):
    cid, _ = closed
    result = runner.invoke(args=["record", "verify", str(cid)])
    assert result.exit_code != 0
    assert "no published record" in result.output


# --- the signer ----------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("signer", "field", "message"),
    [
        ({"signer_name": ""}, "signer_name", "Write the name of the person who signs the record."),
        (
            {"signer_name": "   "},
            "signer_name",
            "Write the name of the person who signs the record.",
        ),
        (
            {"signer_title": ""},
            "signer_title",
            "Write the title of the person who signs, for example Chairman.",
        ),
        (
            {"signer_name": "A" * 101},
            "signer_name",
            "The signer's name can be at most 100 characters.",
        ),
    ],
)
def test_publishing_needs_the_signer_and_keeps_what_was_typed(
    app, client, auth, closed, signer, field, message
):
    cid, ids = closed
    answer_all(app, ids)
    client.set_cookie("lang", "en")
    auth.login("moderator@example.vn")
    typed = {"signer_name": "Trần Thị Bình", "signer_title": "Phó Chủ tịch", **signer}
    response = publish(client, cid, conclusion="Kết luận giữ lại khi lỗi.", **typed)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in unescape(html)
    assert f'id="{field}-error"' in html
    other = "signer_title" if field == "signer_name" else "signer_name"
    for kept in ("Kết luận giữ lại khi lỗi.", f'value="{typed[other]}"'):
        assert kept in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Record)) == 0


@pytest.mark.postgres
def test_the_signer_is_stored_shown_and_hashed(app, client, auth, runner, closed):
    cid, ids = closed
    answer_all(app, ids)
    auth.login("moderator@example.vn")
    assert (
        publish(
            client, cid, signer_name=" Trần  Thị Bình ", signer_title="Phó Chủ tịch"
        ).status_code
        == 302
    )
    with app.app_context():
        record = db.session.scalar(sa.select(Record).where(Record.consultation_id == cid))
        assert (record.signer_name, record.signer_title) == ("Trần Thị Bình", "Phó Chủ tịch")
        assert '"signer":{"name":"Trần Thị Bình","title":"Phó Chủ tịch"}' in record.canonical
    assert "Trần Thị Bình" in client.get(f"/consultations/{cid}/record").get_data(as_text=True)
    assert runner.invoke(args=["record", "verify", str(cid)]).exit_code == 0
    with app.app_context():
        db.session.execute(sa.text("UPDATE record SET signer_name = 'Người khác'"))
        db.session.commit()
    assert "MISMATCH" in runner.invoke(args=["record", "verify", str(cid)]).output


@pytest.mark.postgres
def test_a_record_published_before_the_signer_existed_still_verifies(
    app, client, auth, runner, closed
):
    """A record hashed before the signer, "Căn cứ" lines and summaries existed verifies as it is."""
    from consultations import record as rec

    cid, ids = closed
    answer_all(app, ids)
    auth.login("moderator@example.vn")
    assert publish(client, cid).status_code == 302
    with app.app_context():
        record = db.session.scalar(sa.select(Record).where(Record.consultation_id == cid))
        old = rec.canonical_json(
            record.consultation, conclusion=record.conclusion, published_at=record.published_at
        )
        shape = json.loads(old)  # the shape every record had before
        assert set(shape) == {
            "version",
            "consultation",
            "sections",
            "opinions",
            "reviews",
            "conclusion",
            "published_at",
        }
        assert {k for o in shape["opinions"] if o["answer"] for k in o["answer"]} == {
            "outcome",
            "explanation",
        }
        record.canonical, record.content_hash = old, rec.content_hash(old)
        record.signer_name = record.signer_title = None
        db.session.commit()
        content_hash = record.content_hash
    result = runner.invoke(args=["record", "verify", str(cid)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"OK {content_hash}"
