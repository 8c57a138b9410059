"""The audit trail page: reviewers and admins of a locality read it, newest first, without e-mails."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from audit.models import AuditEvent
from core.extensions import db
from core.timeutil import utcnow


def _event(app, action, *, actor=None, locality_id=None, minutes_ago=0, **data):
    with app.app_context():
        event = AuditEvent(
            action=action,
            object_type="opinion",
            object_id=7,
            actor_id=actor,
            locality_id=locality_id,
            at=utcnow() - timedelta(minutes=minutes_ago),
            data=data,
        )
        db.session.add(event)
        db.session.commit()
        return event.id


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-action="([\w.]+)">', html)


@pytest.mark.postgres
def test_reviewer_reads_the_trail_newest_first_without_emails(app, client, auth, world, en):
    moderator = world.ids["moderator"]
    _event(
        app,
        "opinion.flag",
        actor=world.ids["resident"],
        locality_id=world.commune_id,
        minutes_ago=30,
        reason="Spam",
    )
    _event(
        app,
        "opinion.hide",
        actor=moderator,
        locality_id=world.village_ids[0],
        minutes_ago=10,
        reason="Lộ thông tin của resident@example.vn",
        email="resident@example.vn",
        tracking_number="YK-2026-000007",
    )
    _event(
        app, "opinion.restore", actor=moderator, locality_id=world.other_commune_id, minutes_ago=5
    )
    auth.login(world.email("reviewer"))

    response = client.get("/audit/?locality=00004")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert _rows(html) == ["opinion.hide", "opinion.flag"]  # another commune's events are not here
    assert "Người dân moderator" in html
    assert "Moderator" in html
    assert "Người dân resident" in html
    assert "Resident" in html
    assert "YK-2026-000007" in html
    assert "Spam" in html
    assert "@example.vn" not in html
    assert "Nguyễn Văn" not in html  # full names stay private

    by_default = client.get("/audit/").get_data(as_text=True)  # their own locality
    assert _rows(by_default) == ["opinion.hide", "opinion.flag"]


def test_admin_of_the_province_reads_every_commune(app, client, auth, world, en):
    _event(
        app,
        "consultation.open",
        actor=world.ids["official"],
        locality_id=world.commune_id,
        minutes_ago=2,
    )
    _event(
        app,
        "consultation.open",
        actor=world.ids["official_other"],
        locality_id=world.other_commune_id,
        minutes_ago=1,
    )
    _event(app, "system.tick", locality_id=world.commune_id)
    auth.login(world.email("admin"))
    html = client.get("/audit/").get_data(as_text=True)
    assert _rows(html) == ["system.tick", "consultation.open", "consultation.open"]
    assert "System" in html
    assert _rows(client.get("/audit/?locality=00008").get_data(as_text=True)) == [
        "consultation.open"
    ]


def test_trail_is_paginated_fifty_a_page(app, client, auth, world, en):
    with app.app_context():
        now = utcnow()
        db.session.add_all(
            AuditEvent(
                action=f"test.e{i}",
                object_type="x",
                locality_id=world.commune_id,
                at=now - timedelta(seconds=i),
                data={},
            )
            for i in range(55)
        )
        db.session.commit()
    auth.login(world.email("reviewer"))
    first = client.get("/audit/?locality=00004").get_data(as_text=True)
    assert _rows(first) == [f"test.e{i}" for i in range(50)]
    assert "55 events" in first
    second = client.get("/audit/?locality=00004&page=2").get_data(as_text=True)
    assert _rows(second) == [f"test.e{i}" for i in range(50, 55)]


@pytest.mark.parametrize(
    "who", ["resident", "official", "moderator", "official_other", "unverified"]
)
def test_other_roles_are_refused(app, client, auth, world, who):
    auth.login(world.email(who))
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/?locality=00004").status_code == 403


def test_reviewer_of_one_commune_cannot_read_another_and_unknown_is_404(app, client, auth, world):
    auth.login(world.email("reviewer"))
    assert client.get("/audit/?locality=00008").status_code == 403
    assert client.get("/audit/?locality=01").status_code == 403  # the province is above them
    assert client.get("/audit/?locality=99999").status_code == 404


def test_anonymous_is_sent_to_login(client, world):
    response = client.get("/audit/?locality=00004")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]
