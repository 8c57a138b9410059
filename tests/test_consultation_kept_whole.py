"""A resident's consultation page kept whole (consultations/views/page.py): drawn once for every
resident who may give an opinion, with a hole for each of their own parts, it must read exactly
as the page drawn for them alone, and step aside when the page holds more of theirs."""

import re

import pytest
from test_consultation_kept import other_client, second_resident, unread_notification

from consultations.views import page as page_view
from core import fragments

TOKEN = re.compile(r'name="csrf_token" value="[^"]+"')


@pytest.fixture(autouse=True)
def english(client):
    client.set_cookie("lang", "en")


def get(client, url: str) -> str:
    r = client.get(url)
    assert r.status_code == 200
    return r.get_data(as_text=True)


def page_keys(app) -> list[tuple]:
    with app.app_context():
        return [k for k in fragments.kept()._items if k and k[0] == "page"]


def drawn_alone(app, client, monkeypatch, url: str) -> str:
    """The page as drawn for this visitor with nothing of it kept."""
    with app.app_context():
        fragments.kept().clear()
    monkeypatch.setattr(page_view, "_page_key", lambda *a: None)
    try:
        return get(client, url)
    finally:
        monkeypatch.undo()


def same_but_tokens(a: str, b: str) -> bool:
    # A CSRF token is signed with the second it was made: two requests differ only there.
    return TOKEN.sub("TOKEN", a) == TOKEN.sub("TOKEN", b)


def test_the_page_kept_whole_reads_as_the_page_drawn_alone(
    app, client, auth, world, make, monkeypatch
):
    cid = make.consultation("open")
    mine = make.opinion(cid, body="Ý kiến của tôi.")
    theirs = make.opinion(cid, who="moderator", body="Ý kiến của người khác.")
    unread_notification(app, world.ids["resident"], cid)
    auth.login(world.email("resident"))
    url = f"/consultations/{cid}?page=1&utm=<b>x</b>"
    alone = drawn_alone(app, client, monkeypatch, url)
    assert not page_keys(app)
    first = get(client, url)  # drawn with holes and kept
    again = get(client, url)  # from the kept page
    assert len(page_keys(app)) == 1
    assert same_but_tokens(alone, first)
    assert same_but_tokens(alone, again)
    # Their own parts are in it: the edit link of their opinion, the report link of another's,
    # the unread count, their name, their address (escaped) in the language form.
    mine_html = again.split(f'id="opinion-{mine}"', 1)[1].split("</article>", 1)[0]
    theirs_html = again.split(f'id="opinion-{theirs}"', 1)[1].split("</article>", 1)[0]
    assert f"/opinions/{mine}/edit" in mine_html
    assert f"/opinions/{theirs}/flag" in theirs_html
    assert '<span class="count">1<span class="sr-only"> unread' in again
    assert "display name Người dân resident" in again
    assert f'name="next" value="/consultations/{cid}?page=1&amp;utm=&lt;b&gt;x&lt;/b&gt;"' in again
    assert "<b>x</b>" not in again


def test_one_page_is_kept_for_every_resident_with_each_ones_own_parts(
    app, client, auth, world, make
):
    cid = make.consultation("open")
    mine = make.opinion(cid, body="Ý kiến của người dân thứ nhất.")
    auth.login(world.email("resident"))
    get(client, f"/consultations/{cid}")
    second = other_client(app, second_resident(app, world))
    html = get(second, f"/consultations/{cid}")
    assert len(page_keys(app)) == 1
    mine_html = html.split(f'id="opinion-{mine}"', 1)[1].split("</article>", 1)[0]
    assert f"/opinions/{mine}/flag" in mine_html
    assert f"/opinions/{mine}/edit" not in mine_html
    assert "display name Người dân thứ hai" in html
    assert "display name Người dân resident" not in html
    # Their token is their own and works: the kept form posts.
    token = TOKEN.search(html.split('id="give-opinion"', 1)[1]).group(0).split('value="')[1][:-1]
    r = second.post(
        f"/consultations/{cid}/opinions",
        data={"csrf_token": token, "stance": "agree", "section_id": "", "body": "Từ trang đã giữ."},
        csrf=False,
    )
    assert r.status_code in (302, 303)
    # The redirect's page carries their flash: drawn for them, not taken from the kept page.
    after = second.get(r.headers["Location"]).get_data(as_text=True)
    assert "Your opinion was received" in after
    assert "Từ trang đã giữ." in after
    assert "Your opinion was received" not in get(second, f"/consultations/{cid}")


@pytest.mark.parametrize("who", ["moderator", "official", "unverified"])
def test_staff_and_those_who_cannot_post_get_the_page_drawn_for_them(
    app, client, auth, world, make, who
):
    cid = make.consultation("open")
    make.opinion(cid, body="Một ý kiến.")
    auth.login(world.email(who))
    get(client, f"/consultations/{cid}")
    get(client, f"/consultations/{cid}")
    assert not page_keys(app)


def test_a_refused_opinion_is_drawn_with_what_was_typed(app, client, auth, world, make):
    cid = make.consultation("open")
    auth.login(world.email("resident"))
    get(client, f"/consultations/{cid}")
    r = client.post(
        f"/consultations/{cid}/opinions",
        data={"stance": "agree", "section_id": "", "body": "x" * 5001},
    )
    assert r.status_code == 400
    assert "x" * 5001 in r.get_data(as_text=True)
