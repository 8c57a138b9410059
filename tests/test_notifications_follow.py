"""Following a consultation or a locality: the buttons, a double click, posting follows, the list."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.extensions import db
from notifications.models import Follow


def _follows(app, user_id):
    with app.app_context():
        return [
            (f.consultation_id, f.locality_id)
            for f in db.session.scalars(sa.select(Follow).where(Follow.user_id == user_id))
        ]


@pytest.mark.postgres
def test_follow_twice_stores_one_row_and_unfollow_removes_it(app, world, make, auth, client):
    cid = make.consultation("open")
    auth.login(world.email("reviewer"))
    for _ in range(2):  # a double click
        response = client.post(f"/consultations/{cid}/follow")
        assert response.status_code == 302
    assert _follows(app, world.ids["reviewer"]) == [(cid, None)]
    assert "Stop following this consultation" in client.get(f"/consultations/{cid}").text
    assert client.post(f"/consultations/{cid}/unfollow").status_code == 302
    assert _follows(app, world.ids["reviewer"]) == []
    assert client.post(f"/consultations/{cid}/unfollow").status_code == 302  # not an error


@pytest.mark.postgres
def test_follow_a_locality_twice_and_unfollow(app, world, auth, client):
    auth.login(world.email("reviewer"))
    for _ in range(2):
        assert client.post("/localities/00004/follow").status_code == 302
    assert _follows(app, world.ids["reviewer"]) == [(None, world.commune_id)]
    page = client.get("/me/following").text
    assert "Phường Ba Đình" in page
    assert "/localities/00004/unfollow" in page
    client.post("/localities/00004/unfollow")
    assert _follows(app, world.ids["reviewer"]) == []
    assert client.post("/localities/nowhere/follow").status_code == 404


def test_the_locality_page_has_the_follow_button(app, world, auth, client):
    # /localities/<code> shows the list of the locality's consultations, with its button.
    page = client.get("/localities/00004", follow_redirects=True).text
    assert "Log in to follow new consultations of phường Ba Đình" in page
    auth.login(world.email("resident"))
    page = client.get("/?locality=00004").text
    assert 'action="/localities/00004/follow"' in page
    assert "Follow new consultations of phường Ba Đình" in page
    client.post("/localities/00004/follow")
    page = client.get("/?locality=00004").text
    assert 'action="/localities/00004/unfollow"' in page
    assert "Stop following phường Ba Đình" in page
    assert "/localities/00004/follow" not in client.get("/").text  # no locality chosen


def test_follow_needs_a_login_and_csrf(app, world, make, auth, client):
    cid = make.consultation("open")
    response = client.post(f"/consultations/{cid}/follow")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]
    auth.login(world.email("reviewer"))
    assert client.post(f"/consultations/{cid}/follow", csrf=False).status_code == 400


def test_a_draft_cannot_be_followed(app, world, make, auth, client):
    cid = make.consultation("draft")
    auth.login(world.email("resident"))
    assert client.post(f"/consultations/{cid}/follow").status_code == 404
    auth.logout()
    auth.login(world.email("official"))
    assert client.post(f"/consultations/{cid}/follow").status_code == 409
    assert _follows(app, world.ids["official"]) == []


@pytest.mark.postgres
def test_posting_an_opinion_follows_and_offline_does_not(app, world, make):
    cid = make.consultation("open")
    make.opinion(cid, who="resident")
    make.opinion(cid, who="resident")  # a second opinion: still one row
    make.opinion(cid, who="official", channel="paper")
    assert _follows(app, world.ids["resident"]) == [(cid, None)]
    assert _follows(app, world.ids["official"]) == []


def test_buttons_on_the_page_only_for_logged_in_visitors(app, world, make, auth, client):
    cid = make.consultation("open")
    anonymous = client.get(f"/consultations/{cid}").text
    assert "/follow" not in anonymous
    assert (
        "https://sp.zalo.me/share_inline?url=http%3A%2F%2Flocalhost%2Fconsultations%2F" in anonymous
    )
    assert 'data-copy="share-link"' in anonymous
    assert "set-cookie" not in str(anonymous).lower()
    auth.login(world.email("resident"))
    page = client.get(f"/consultations/{cid}").text
    assert f"/consultations/{cid}/follow" in page
    assert "/localities/00004/follow" in page


def test_following_page_lists_and_links_from_account(app, world, make, auth, client):
    cid = make.consultation("open", title="Quy hoạch chợ")
    auth.login(world.email("resident"))
    client.post(f"/consultations/{cid}/follow")
    page = client.get("/me/following").text
    assert "Quy hoạch chợ" in page
    assert f"/consultations/{cid}/unfollow" in page
    assert "/me/following" in client.get("/me/account").text


@pytest.mark.postgres
def test_a_post_follows_again_after_an_unfollow_and_a_followers_post_writes_no_follow(
    app, world, make, auth, client
):
    from test_perf_queries import counting

    cid = make.consultation("open")
    auth.login(world.email("resident"))

    def post(body: str) -> list[str]:
        with counting(app) as statements:
            r = client.post(
                f"/consultations/{cid}/opinions", data={"body": body, "stance": "agree"}
            )
        assert r.status_code == 302
        return [s for s in statements if s.lstrip().upper().startswith("INSERT INTO FOLLOW")]

    assert len(post("Ý kiến thứ nhất.")) == 1  # the first post follows
    assert _follows(app, world.ids["resident"]) == [(cid, None)]
    assert post("Ý kiến thứ hai.") == []  # read with the consultation: already followed
    assert client.post(f"/consultations/{cid}/unfollow").status_code == 302
    assert _follows(app, world.ids["resident"]) == []
    assert len(post("Ý kiến thứ ba.")) == 1  # posting follows again
    assert _follows(app, world.ids["resident"]) == [(cid, None)]
