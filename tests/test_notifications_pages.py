"""/me/notifications (paginated, unread marked, the header's count), the settings form and the
one-click unsubscribe that needs no login."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from support import notifications_of
from test_perf_queries import counting

from auth.models import User
from consultations.models import Consultation
from core.extensions import db
from core.timeutil import utcnow
from notifications import mailing
from notifications import services as notifications
from notifications.models import Notification, NotificationSetting


def _add(app, world, n, cid, who="resident"):
    with app.app_context():
        rows = [
            {
                "user_id": world.ids[who],
                "type": "record_published",
                "consultation_id": cid,
                "created_at": utcnow(),
                "delivery": "instant",
                "mailed": "skipped",
            }
            for _ in range(n)
        ]
        db.session.execute(sa.insert(Notification), rows)
        db.session.commit()


def _choices(app, world, who="resident"):
    with app.app_context():
        return notifications.settings([world.ids[who]])[world.ids[who]]


@pytest.mark.postgres
def test_paginated_newest_first_marked_read_when_seen(app, world, make, auth, client, en):
    cid = make.consultation("open")
    _add(app, world, 25, cid)
    auth.login(world.email("resident"))
    home = client.get("/").text
    assert 'Notifications <span class="count">25' in home
    first = client.get("/me/notifications").text
    assert first.count('class="card unread"') == 20
    assert 'rel="next"' in first
    assert 'Notifications <span class="count">5' in client.get("/").text
    second = client.get("/me/notifications?page=2").text
    assert second.count('class="card unread"') == 5
    assert 'rel="prev"' in second
    again = client.get("/me/notifications").text
    assert 'class="card unread"' not in again


def test_mark_all_read(app, world, make, auth, client, en):
    _add(app, world, 3, make.consultation("open"))
    auth.login(world.email("resident"))
    assert client.post("/me/notifications/read").status_code == 302
    assert 'class="count"' not in client.get("/").text


@pytest.mark.postgres
def test_the_header_count_costs_one_query_and_none_for_visitors(app, world, make, auth, client):
    cid = make.consultation("open")
    client.get(f"/consultations/{cid}")
    with counting(app) as statements:
        client.get(f"/consultations/{cid}")
    assert not [s for s in statements if "notification" in s or "follow" in s]
    auth.login(world.email("resident"))
    client.get(f"/consultations/{cid}")
    with counting(app) as statements:
        client.get(f"/consultations/{cid}")
    assert len([s for s in statements if "FROM notification" in s]) == 1


def test_settings_form_defaults_and_saving(app, world, auth, client, en):
    auth.login(world.email("resident"))
    page = client.get("/me/notifications/settings").text
    for name in ("opinion_answered", "consultation_opened", "closing_soon", "record_published"):
        assert f'name="{name}"' in page
    assert 'name="consultation_opened" id="consultation_opened-1" value="daily" checked' in page
    form = {
        "opinion_answered": "instant",
        "opinion_moderated": "instant",
        "consultation_opened": "weekly",
        "closing_soon": "off",
        "consultation_changed": "daily",
        "record_published": "instant",
    }
    assert client.post("/me/notifications/settings", data=form).status_code == 302
    chosen = _choices(app, world)
    assert (chosen["consultation_opened"], chosen["closing_soon"]) == ("weekly", "off")
    bad = client.post("/me/notifications/settings", data={**form, "closing_soon": "hourly"})
    assert bad.status_code == 400
    assert _choices(app, world)["closing_soon"] == "off"


def test_unsubscribe_without_login_turns_exactly_that_type_off(app, world, client, en):
    with app.test_request_context():
        token = mailing.unsubscribe_token(world.ids["resident"], "record_published")
    confirm = client.get(f"/unsubscribe/{token}")
    assert confirm.status_code == 200
    assert "Stop these e-mails" in confirm.text
    assert _choices(app, world)["record_published"] == "instant"  # a GET changes nothing
    # A mail client's one-click POST: no login, no CSRF token, no cookie.
    response = client.post(
        f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}, csrf=False
    )
    assert response.status_code == 200
    chosen = _choices(app, world)
    assert chosen["record_published"] == "off"
    assert [t for t, f in chosen.items() if f == "off"] == ["record_published"]
    assert client.get("/unsubscribe/not-a-token").status_code == 404


def test_unsubscribing_a_digest_turns_its_types_off(app, world, client, en):
    with app.test_request_context():
        token = mailing.unsubscribe_token(world.ids["resident"], "digest:daily")
    client.post(f"/unsubscribe/{token}", csrf=False)
    chosen = _choices(app, world)
    assert chosen["consultation_opened"] == "off"
    assert chosen["closing_soon"] == "instant"


def test_only_the_unsubscribe_view_is_csrf_exempt(app, world, auth, client):
    auth.login(world.email("resident"))
    response = client.post("/me/notifications/settings", data={"closing_soon": "off"}, csrf=False)
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(NotificationSetting)) == 0


def test_the_settings_page_is_linked_from_every_notification(app, world, make, auth, client):
    cid = make.consultation("open")
    with app.test_request_context():
        user = db.session.get(User, world.ids["reviewer"])
        notifications.follow(user, consultation=db.session.get(Consultation, cid))
        db.session.commit()
    assert notifications_of(app, world.ids["reviewer"]) == []
    auth.login(world.email("reviewer"))
    assert "/me/notifications/settings" in client.get("/me/notifications").text
