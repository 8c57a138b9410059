"""Hiding and restoring opinions: the public sees the reason, the author is told, nothing is lost."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from support import outbox

from audit.models import AuditEvent
from auth.models import User
from consultations import services
from consultations.models import Consultation, Flag, Opinion, OpinionStatus, Status
from core.extensions import db

REASON = "Lời lẽ xúc phạm người khác"
BODY = "Ý kiến có nội dung không phù hợp cần ẩn đi."


def _opinion(app, oid) -> Opinion:
    with app.app_context():
        op = db.session.get(Opinion, oid)
        db.session.expunge(op)
        return op


def _flag(app, world, oid, who="reviewer", reason="Xúc phạm"):
    with app.test_request_context():
        op = db.session.get(Opinion, oid)
        services.flag_opinion(op, by=db.session.get(User, world.ids[who]), reason=reason)
        db.session.commit()


def _events(app, action):
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def _mails_to(app, who, contains):
    return [m for m in outbox(app) if m["to"] == f"{who}@example.vn" and contains in m["subject"]]


@pytest.mark.postgres
def test_hide_replaces_the_text_publicly_and_tells_the_author(app, client, auth, make, world, en):
    cid = make.consultation("closed")
    oid = make.opinion(cid, body=BODY)
    _flag(app, world, oid)
    auth.login(world.email("moderator"))

    response = client.post(
        f"/moderation/opinions/{oid}/hide", data={"reason": REASON, "next": "/moderation/"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/moderation/")

    op = _opinion(app, oid)
    assert op.status == OpinionStatus.hidden
    assert op.hidden_reason == REASON
    assert op.hidden_by_id == world.ids["moderator"]
    assert op.body == BODY  # nothing is deleted

    with app.app_context():
        flag = db.session.scalar(sa.select(Flag).where(Flag.opinion_id == oid))
        assert flag.resolved_at is not None
        assert flag.resolved_by_id == world.ids["moderator"]

    [event] = _events(app, "opinion.hide")
    assert event.actor_id == world.ids["moderator"]
    assert event.object_id == oid
    assert event.locality_id == world.commune_id
    assert event.data["reason"] == REASON
    assert event.data["flags_resolved"] == 1

    [message] = _mails_to(app, "resident", "hidden")
    assert op.tracking_number in message["subject"]
    assert REASON in message["text"]
    assert REASON in message["html"]

    # The moderators' lists follow: no longer reported, now among the hidden ones.
    page = client.get("/moderation/?tab=hidden").get_data(as_text=True)
    assert op.tracking_number in page
    assert "Hidden by a moderator: " + REASON in page
    assert "Reported (0)" in page

    # The public: the reason, never the text.
    client.set_cookie("lang", "en")
    auth.logout()
    public = client.get(f"/consultations/{cid}")
    assert public.status_code == 200
    html = public.get_data(as_text=True)
    assert BODY not in html
    assert REASON in html

    [item] = client.get(f"/api/v1/consultations/{cid}/opinions").get_json()["items"]
    assert item["status"] == "hidden"
    assert item["body"] is None
    assert item["hidden_reason"] == REASON


@pytest.mark.postgres
def test_restore_shows_the_opinion_again_and_tells_the_author(app, client, auth, make, world, en):
    cid = make.consultation("closed")
    oid = make.opinion(cid, body=BODY)
    auth.login(world.email("moderator"))
    client.post(f"/moderation/opinions/{oid}/hide", data={"reason": REASON})

    response = client.post(
        f"/moderation/opinions/{oid}/restore", data={"next": f"/moderation/consultations/{cid}"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/moderation/consultations/{cid}")

    op = _opinion(app, oid)
    assert op.status == OpinionStatus.published
    assert op.hidden_reason is None
    [event] = _events(app, "opinion.restore")
    assert event.data["hidden_reason"] == REASON  # the hiding stays on record
    assert len(_events(app, "opinion.hide")) == 1
    [message] = _mails_to(app, "resident", "shown again")
    assert op.tracking_number in message["subject"]

    # Restoring what is not hidden is a state error.
    assert client.post(f"/moderation/opinions/{oid}/restore").status_code == 409


def test_keep_published_dismisses_the_reports(app, client, auth, make, world, en):
    cid = make.consultation("open")
    oid = make.opinion(cid)
    _flag(app, world, oid, reason="Spam quảng cáo")
    auth.login(world.email("moderator"))
    page = client.get("/moderation/").get_data(as_text=True)
    assert "Reported (1)" in page
    assert "Spam quảng cáo" in page
    assert "1 open report" in page

    assert client.post(f"/moderation/opinions/{oid}/restore").status_code == 302
    assert _opinion(app, oid).status == OpinionStatus.published
    [event] = _events(app, "opinion.keep")
    assert event.data["flags_resolved"] == 1
    assert "Reported (0)" in client.get("/moderation/").get_data(as_text=True)
    assert _mails_to(app, "resident", "shown again") == []


def test_offline_opinion_is_hidden_without_mail(app, client, auth, make, world, en):
    cid = make.consultation("open")
    oid = make.opinion(cid, who="official", channel="paper", body="Ý kiến trên phiếu giấy.")
    before = len(outbox(app))
    auth.login(world.email("moderator"))
    assert (
        client.post(f"/moderation/opinions/{oid}/hide", data={"reason": REASON}).status_code == 302
    )
    assert _opinion(app, oid).status == OpinionStatus.hidden
    assert len(outbox(app)) == before


def test_missing_reason_is_400_with_the_queue_shown_again(app, client, auth, make, world, en):
    cid = make.consultation("closed")
    oid = make.opinion(cid)
    auth.login(world.email("moderator"))
    response = client.post(
        f"/moderation/opinions/{oid}/hide",
        data={"reason": "   ", "next": "/moderation/?tab=unanswered"},
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Give the reason for hiding this opinion" in html
    assert f'id="reason-{oid}"' in html
    assert _opinion(app, oid).status == OpinionStatus.published
    assert _events(app, "opinion.hide") == []


def test_too_long_reason_keeps_the_typed_text(app, client, auth, make, world, en):
    cid = make.consultation("closed")
    oid = make.opinion(cid)
    auth.login(world.email("moderator"))
    typed = "Quá dài " * 200
    response = client.post(
        f"/moderation/opinions/{oid}/hide",
        data={"reason": typed, "next": f"/moderation/consultations/{cid}"},
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert typed.strip() in html
    assert "at most 1000 characters" in html
    assert "Answers: " in html  # the consultation page, where the form was


@pytest.mark.postgres
def test_nothing_changes_once_the_record_is_published(app, client, auth, make, world, en):
    cid = make.consultation("closed")
    oid = make.opinion(cid)
    hidden = make.opinion(cid, body="Sẽ bị ẩn")
    auth.login(world.email("moderator"))
    client.post(f"/moderation/opinions/{hidden}/hide", data={"reason": REASON})
    with app.app_context():
        db.session.get(Consultation, cid).stored_status = Status.concluded
        db.session.commit()
    assert (
        client.post(f"/moderation/opinions/{oid}/hide", data={"reason": REASON}).status_code == 409
    )
    assert client.post(f"/moderation/opinions/{hidden}/restore").status_code == 409
    assert _opinion(app, oid).status == OpinionStatus.published
    assert _opinion(app, hidden).status == OpinionStatus.hidden


def test_hiding_twice_or_a_withdrawn_opinion_is_a_state_error(app, client, auth, make, world, en):
    cid = make.consultation("open")
    oid = make.opinion(cid)
    withdrawn = make.opinion(cid, body="Rút lại")
    with app.test_request_context():
        services.withdraw_opinion(
            db.session.get(Opinion, withdrawn), by=db.session.get(User, world.ids["resident"])
        )
        db.session.commit()
    auth.login(world.email("moderator"))
    assert (
        client.post(f"/moderation/opinions/{oid}/hide", data={"reason": REASON}).status_code == 302
    )
    assert (
        client.post(f"/moderation/opinions/{oid}/hide", data={"reason": REASON}).status_code == 409
    )
    assert (
        client.post(f"/moderation/opinions/{withdrawn}/hide", data={"reason": REASON}).status_code
        == 409
    )


@pytest.mark.parametrize(
    "who", ["resident", "official", "official_other", "reviewer", "admin", "unverified"]
)
def test_only_moderators_hide_and_restore(app, client, auth, make, world, who):
    cid = make.consultation("closed")
    oid = make.opinion(cid)
    auth.login(world.email(who))
    assert (
        client.post(f"/moderation/opinions/{oid}/hide", data={"reason": REASON}).status_code == 403
    )
    assert client.post(f"/moderation/opinions/{oid}/restore").status_code == 403
    assert _opinion(app, oid).status == OpinionStatus.published


def test_anonymous_is_sent_to_login_and_unknown_ids_are_404(app, client, auth, make, world):
    cid = make.consultation("closed")
    oid = make.opinion(cid)
    for path in (f"/moderation/opinions/{oid}/hide", f"/moderation/opinions/{oid}/restore"):
        response = client.post(path, data={"reason": REASON})
        assert response.status_code == 302
        assert "/auth/login" in response.headers["Location"]
    auth.login(world.email("moderator"))
    assert (
        client.post("/moderation/opinions/99999/hide", data={"reason": REASON}).status_code == 404
    )
    assert client.post("/moderation/opinions/99999/restore").status_code == 404


def test_moderator_of_another_commune_is_refused(app, client, auth, make, world):
    cid = make.consultation("closed", locality_id=world.other_commune_id)
    oid = make.opinion(cid)
    auth.login(world.email("moderator"))
    assert (
        client.post(f"/moderation/opinions/{oid}/hide", data={"reason": REASON}).status_code == 403
    )


def test_post_without_csrf_token_is_refused(app, client, auth, make, world):
    cid = make.consultation("closed")
    oid = make.opinion(cid)
    auth.login(world.email("moderator"))
    response = client.post(f"/moderation/opinions/{oid}/hide", data={"reason": REASON}, csrf=False)
    assert response.status_code == 400
    assert _opinion(app, oid).status == OpinionStatus.published
