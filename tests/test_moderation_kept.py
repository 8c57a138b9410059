"""The moderator's page of a consultation, kept between requests and moderators
(moderation/page.py): every change it shows is seen on the next request, each moderator gets the
forms of their own rights and their own CSRF token, and a refused form is drawn with what was
sent, never kept."""

import re

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from support import PASSWORD

from auth.models import User
from consultations.models import Opinion, Outcome
from core import fragments
from core.extensions import db
from moderation import services as moderation


@pytest.fixture(autouse=True)
def english(client):
    client.set_cookie("lang", "en")


def queue(client, cid: int, **args) -> str:
    r = client.get(f"/moderation/consultations/{cid}", query_string=args)
    assert r.status_code == 200
    return r.get_data(as_text=True)


def logged_in(app, email: str):
    other = app.test_client()
    other.set_cookie("lang", "en")
    r = other.post("/auth/login", data={"email": email, "password": PASSWORD})
    assert r.status_code in (302, 303)
    return other


def card(html: str, oid: int) -> str:
    return html.split(f'id="opinion-{oid}"', 1)[1].split("</article>", 1)[0]


def sql(app, statement: str, **params) -> None:
    # A console or a script that bypasses the services: the triggers still see it.
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text(statement), params)


@pytest.mark.postgres
def test_every_change_the_moderators_page_shows_is_seen_on_the_next_request(
    app, client, auth, world, make
):
    cid = make.consultation("open")
    first = make.opinion(cid, body="Đề nghị mở rộng đường liên thôn.")
    second = make.opinion(cid, who="official", body="Đề nghị mở rộng đường liên thôn ra 5 mét.")
    auth.login(world.email("moderator"))
    assert "Đề nghị mở rộng đường liên thôn." in queue(client, cid)
    assert "Đề nghị mở rộng đường liên thôn." in queue(client, cid)  # from the kept copy

    resident = logged_in(app, world.email("resident"))

    def report():
        r = resident.post(f"/opinions/{second}/flag", data={"reason": "Nói tục, xúc phạm"})
        assert r.status_code in (302, 303)

    def answer():
        with app.test_request_context():
            moderation.respond(
                [db.session.get(Opinion, first)],
                by=db.session.get(User, world.ids["moderator"]),
                outcome=Outcome.accepted,
                explanation="Ủy ban tiếp thu.",
                summary="Mở rộng đường liên thôn",
            )
            db.session.commit()

    def group():
        with app.app_context(), db.engine.begin() as conn:
            gid = conn.execute(
                sa.text(
                    "INSERT INTO opinion_group (consultation_id, representative_id, size, "
                    "campaign, created_at, updated_at) VALUES (:c, :r, 2, false, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) RETURNING id"
                ),
                {"c": cid, "r": first},
            ).scalar_one()
            # The opinions were seen by the grouping job already (tests run it at once).
            conn.execute(
                sa.text("UPDATE opinion_alike SET group_id = :g WHERE opinion_id IN (:a, :b)"),
                {"g": gid, "a": first, "b": second},
            )

    steps = [
        (report, "Nói tục, xúc phạm"),
        (answer, "Summary for the record: Mở rộng đường liên thôn"),
        (
            lambda: sql(
                app,
                "UPDATE response SET summary = 'Làm đường rộng 5 mét' "
                "WHERE id = (SELECT response_id FROM opinion WHERE id = :id)",
                id=first,
            ),
            "Summary for the record: Làm đường rộng 5 mét",
        ),
        (group, "Group "),
        (
            lambda: sql(
                app, "UPDATE opinion_group SET campaign = true WHERE consultation_id = :c", c=cid
            ),
            "badge campaign",
        ),
        (lambda: make.opinion(cid, body="Ý kiến mới đến sau cùng."), "Ý kiến mới đến sau cùng."),
    ]
    for do, shown in steps:
        assert shown not in queue(client, cid), shown
        do()
        assert shown in queue(client, cid), shown

    # The reports dismissed: the opinion's reports leave the page.
    r = client.post(f"/moderation/opinions/{second}/restore", data={"next": "/"})
    assert r.status_code in (302, 303)
    assert "Nói tục, xúc phạm" not in queue(client, cid)
    sql(app, "DELETE FROM opinion_alike WHERE consultation_id = :c", c=cid)
    sql(app, "DELETE FROM opinion_group WHERE consultation_id = :c", c=cid)
    assert "badge campaign" not in queue(client, cid)


def test_each_moderator_gets_the_forms_of_their_rights_and_their_own_token(
    app, client, auth, world, make
):
    cid = make.consultation("open")
    oid = make.opinion(cid, body="Đề nghị lắp đèn đường.")
    auth.login(world.email("moderator"))
    mine = queue(client, cid)
    entries = len(_kept(app))
    again = queue(client, cid)
    assert len(_kept(app)) == entries  # drawn once
    assert f"/moderation/opinions/{oid}/hide" in card(mine, oid)

    official = logged_in(app, world.email("official"))
    theirs = queue(official, cid)
    # An official answers but does not hide: another kept copy, without the hide form.
    assert f"/moderation/opinions/{oid}/response" in card(theirs, oid)
    assert f"/moderation/opinions/{oid}/hide" not in card(theirs, oid)

    token = re.compile(r'name="csrf_token" value="([^"]+)"')
    ours, yours = set(token.findall(mine)), set(token.findall(theirs))
    assert len(ours) == 1
    assert len(yours) == 1
    assert ours == set(token.findall(again))
    assert not ours & yours
    # The kept form answers with the official's own token.
    r = official.post(
        f"/moderation/opinions/{oid}/response",
        data={
            "csrf_token": yours.pop(),
            "outcome": "accepted",
            "explanation": "Sẽ lắp trong tháng tới.",
            "next": f"/moderation/consultations/{cid}",
        },
        csrf=False,
    )
    assert r.status_code in (302, 303)
    assert "Sẽ lắp trong tháng tới." in queue(client, cid)


def test_a_refused_answer_keeps_what_was_sent_and_is_not_kept(app, client, auth, world, make):
    cid = make.consultation("open")
    oid = make.opinion(cid, body="Đề nghị nạo vét kênh.")
    auth.login(world.email("moderator"))
    queue(client, cid)
    r = client.post(
        f"/moderation/opinions/{oid}/response",
        data={"outcome": "", "explanation": "Giải trình chưa chọn kết quả", "next": ""},
    )
    assert r.status_code == 400
    refused = r.get_data(as_text=True)
    assert "Giải trình chưa chọn kết quả" in refused
    assert 'class="error-summary' in refused or "error-summary" in refused
    # The next plain visit shows the page as it is, without the refused text.
    assert "Giải trình chưa chọn kết quả" not in queue(client, cid)


def test_a_kept_moderators_page_reads_no_opinion(app, client, auth, world, make):
    cid = make.consultation("open")
    for i in range(3):
        make.opinion(cid, body=f"Ý kiến {i}")
    auth.login(world.email("moderator"))
    queue(client, cid)
    seen: list[str] = []
    with app.app_context():
        engine = db.engine
    listener = lambda conn, cur, statement, *rest: seen.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        html = queue(client, cid)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert "Ý kiến 2" in html
    assert not [s for s in seen if re.search(r"FROM (opinion|flag|opinion_tally)\b", s)]
    assert len(seen) == 3  # the user with their unread count, the consultation, its locality


def _kept(app):
    with app.app_context():
        return list(fragments.kept()._items)
