"""State rules of auth/permissions.py: a scheduled consultation's dates, drafts hidden from
moderators and reviewers, no reports on a concluded consultation."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from audit.models import AuditEvent
from consultations.models import Consultation, Status
from core.extensions import db
from core.timeutil import local_date, local_day_start, utcnow


@pytest.fixture(autouse=True)
def english(client):
    client.set_cookie("lang", "en")


def _schedule(app, cid, days_ahead=5):
    with app.app_context():
        c = db.session.get(Consultation, cid)
        c.stored_status, c.opened_at = Status.open, utcnow()
        c.opens_at = local_day_start(local_date(utcnow()) + timedelta(days=days_ahead))
        c.closes_at = c.opens_at + timedelta(days=40)
        db.session.commit()


def _form(opens, closes):
    return {
        "title": "Quy định về chợ",
        "summary": "Tóm tắt.",
        "kind": "comment",
        "category": "land",
        "locality": "00004",
        "opens_at": opens.isoformat(),
        "closes_at": closes.isoformat(),
        "text": "Điều 1. Phạm vi\nChợ tạm.",
    }


@pytest.mark.postgres
def test_scheduled_cannot_be_backdated_and_dates_are_audited(app, client, auth, world, make):
    cid = make.consultation("draft")
    _schedule(app, cid)
    auth.login(world.email("official"))
    today = local_date(utcnow())
    r = client.post(
        f"/consultations/{cid}/edit",
        data=_form(today - timedelta(days=40), today + timedelta(days=1)),
    )
    assert r.status_code == 400
    assert "opening date cannot be in the past" in r.get_data(as_text=True)
    assert "Quy định về chợ" in r.get_data(as_text=True)  # the form is kept
    r = client.post(
        f"/consultations/{cid}/edit",
        data=_form(today + timedelta(days=2), today + timedelta(days=3)),
    )
    assert r.status_code == 400
    r = client.post(
        f"/consultations/{cid}/edit",
        data=_form(today + timedelta(days=3), today + timedelta(days=40)),
    )
    assert r.status_code == 302
    with app.app_context():
        ev = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "consultation.edit")
        ).all()[-1]
        assert ev.data["new_opens_at"].startswith(
            local_day_start(today + timedelta(days=3)).isoformat()[:10]
        )
        assert {"old_opens_at", "old_closes_at", "new_closes_at"} <= set(ev.data)


@pytest.mark.postgres
@pytest.mark.parametrize("role", ["moderator", "reviewer", "official_other", "resident"])
def test_draft_hidden_from_export_and_moderation(app, client, auth, world, make, role):
    cid = make.consultation("draft")
    auth.login(world.email(role))
    assert client.get(f"/consultations/{cid}/export.csv").status_code == 404
    assert client.get(f"/moderation/consultations/{cid}").status_code == 404


@pytest.mark.postgres
def test_draft_export_and_moderation_for_its_official(app, client, auth, world, make):
    cid = make.consultation("draft")
    auth.login(world.email("official"))
    assert client.get(f"/consultations/{cid}/export.csv").status_code == 200
    assert client.get(f"/moderation/consultations/{cid}").status_code == 200


@pytest.mark.postgres
def test_concluded_opinions_cannot_be_reported(app, client, auth, world, make):
    cid = make.consultation("open")
    oid = make.opinion(cid, who="resident")
    with app.app_context():
        c = db.session.get(Consultation, cid)
        c.stored_status, c.concluded_at = Status.concluded, utcnow()
        db.session.commit()
    auth.login(world.email("moderator"))
    page = client.get(f"/consultations/{cid}").get_data(as_text=True)
    assert "Report this opinion" not in page
    assert client.post(f"/opinions/{oid}/flag", data={"reason": "Xúc phạm"}).status_code == 409
    with app.app_context():
        assert not db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "opinion.flag")
        ).all()
