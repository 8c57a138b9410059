"""The consultation page's shared part, kept between visitors (consultations/fragments.py):
every change it shows is seen on the next request, and each visitor still gets their own
parts (forms, tokens, their opinions' actions, the header's count)."""

import re
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from support import PASSWORD, Client

from auth import permissions as can
from auth.models import User
from consultations import fragments as page_fragments
from consultations import services
from consultations.enums import OpinionStatus, Status
from consultations.models import (
    Attachment,
    Consultation,
    Opinion,
    Outcome,
    Section,
    Stance,
)
from core import fragments
from core.extensions import db
from localities.models import Locality
from moderation import services as moderation


@pytest.fixture(autouse=True)
def english(client):
    client.set_cookie("lang", "en")


def page(client, cid: int, **args) -> str:
    r = client.get(f"/consultations/{cid}", query_string=args)
    assert r.status_code == 200
    return r.get_data(as_text=True)


def kept_entries(app) -> int:
    with app.app_context():
        return len(fragments.kept())


def other_client(app, email: str) -> Client:
    """A second browser, logged in as ``email``."""
    other = app.test_client()
    other.set_cookie("lang", "en")
    r = other.post("/auth/login", data={"email": email, "password": PASSWORD})
    assert r.status_code in (302, 303)
    return other


def second_resident(app, world) -> str:
    """Another verified resident of the same village; returns their e-mail."""
    with app.app_context():
        first = db.session.get(User, world.ids["resident"])
        other = User(
            email="resident2@example.vn",
            full_name="Trần Văn Hai",
            display_name="Người dân thứ hai",
            locality_id=first.locality_id,
            locale="en",
            email_verified_at=first.email_verified_at,
        )
        other.password_hash = first.password_hash
        db.session.add(other)
        db.session.commit()
    return "resident2@example.vn"


def unread_notification(app, user_id: int, cid: int) -> None:
    """One unread notification for ``user_id`` about consultation ``cid``."""
    from notifications.models import Notification, NotificationType

    with app.app_context():
        db.session.add(
            Notification(
                user_id=user_id,
                type=next(iter(NotificationType)),
                consultation_id=cid,
                delivery="off",
            )
        )
        db.session.commit()


def change(app, fn) -> None:
    with app.test_request_context():
        fn()
        db.session.commit()


def opinion(oid: int) -> Opinion:
    return db.session.get(Opinion, oid)


def user(world, who: str) -> User:
    return db.session.get(User, world.ids[who])


@pytest.mark.postgres
def test_every_change_the_page_shows_is_seen_on_the_next_request(app, client, auth, world, make):
    cid = make.consultation("open")
    first = make.opinion(cid, body="Ý kiến đầu tiên về đường làng.")
    auth.login(world.email("resident"))
    assert "Ý kiến đầu tiên về đường làng." in page(client, cid)
    assert kept_entries(app) >= 1
    assert "Ý kiến đầu tiên về đường làng." in page(client, cid)  # from the kept part

    steps = [
        # (what is done, what the page then shows)
        (
            lambda: make.opinion(cid, who="moderator", body="Ý kiến thứ hai, mới gửi."),
            "Ý kiến thứ hai, mới gửi.",
        ),
        (
            lambda: change(
                app,
                lambda: services.edit_opinion(
                    opinion(first),
                    by=user(world, "resident"),
                    body="Ý kiến đầu tiên, đã sửa.",
                    stance=Stance.disagree,
                ),
            ),
            "Ý kiến đầu tiên, đã sửa.",
        ),
        (
            lambda: change(
                app,
                lambda: moderation.respond(
                    [opinion(first)],
                    by=user(world, "moderator"),
                    outcome=Outcome.accepted,
                    explanation="Ủy ban tiếp thu ý kiến.",
                ),
            ),
            "Ủy ban tiếp thu ý kiến.",
        ),
        (
            lambda: change(
                app,
                lambda: setattr(
                    opinion(first).response, "explanation", "Ủy ban tiếp thu, sẽ làm trong quý sau."
                ),
            ),
            "Ủy ban tiếp thu, sẽ làm trong quý sau.",
        ),
        (
            lambda: change(
                app, lambda: setattr(user(world, "resident"), "display_name", "Bác Tư xóm trên")
            ),
            "Bác Tư xóm trên",
        ),
        (
            # An article corrected in place (the services edit drafts only; a console can).
            lambda: change(
                app,
                lambda: setattr(
                    db.session.scalar(
                        sa.select(Section)
                        .where(Section.consultation_id == cid)
                        .order_by(Section.position)
                    ),
                    "text",
                    "Văn bản mới của phần mở đầu.",
                ),
            ),
            "Văn bản mới của phần mở đầu.",
        ),
        (
            lambda: change(
                app,
                lambda: db.session.add(
                    Attachment(
                        consultation_id=cid,
                        filename="ban-do-tuyen-duong.pdf",
                        content_type="application/pdf",
                        size=2048,
                        stored_name="a" * 64,
                        sha256="b" * 64,
                    )
                ),
            ),
            "ban-do-tuyen-duong.pdf",
        ),
        (
            lambda: change(
                app,
                lambda: setattr(
                    db.session.get(Locality, world.commune_id), "name", "Phường Ba Đình Mới"
                ),
            ),
            "Phường Ba Đình Mới",
        ),
        (
            lambda: change(
                app,
                lambda: moderation.hide_opinion(
                    opinion(first), by=user(world, "moderator"), reason="Lộ thông tin cá nhân"
                ),
            ),
            "Hidden by a moderator: Lộ thông tin cá nhân",
        ),
    ]
    for do, shown in steps:
        assert shown not in page(client, cid)
        do()
        assert shown in page(client, cid), shown


@pytest.mark.postgres
def test_a_withdrawal_and_a_change_made_in_sql_reach_the_page(app, client, auth, world, make):
    cid = make.consultation("open")
    oid = make.opinion(cid, body="Đề nghị làm rãnh thoát nước.")
    auth.login(world.email("resident"))
    assert "Withdraw my opinion" in page(client, cid)
    r = client.post(f"/opinions/{oid}/withdraw")
    assert r.status_code in (302, 303)
    html = page(client, cid)
    assert "Withdrawn by the author." in html
    assert "Withdraw my opinion" not in html

    # A console or a script that bypasses the services: the triggers still bump the version.
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE opinion SET status = 'published', withdrawn_at = NULL, "
                "body = 'Sửa tay trong cơ sở dữ liệu' WHERE id = :id"
            ),
            {"id": oid},
        )
    assert "Sửa tay trong cơ sở dữ liệu" in page(client, cid)


@pytest.mark.postgres
def test_the_version_moves_only_for_what_the_page_shows(app, make):
    cid = make.consultation("open")
    oid = make.opinion(cid)

    def version() -> int:
        with app.app_context():
            return db.session.scalar(
                sa.select(Consultation.page_version).where(Consultation.id == cid)
            )

    with app.app_context():
        with db.engine.begin() as conn:
            before = version()
            conn.execute(
                sa.text("UPDATE opinion SET flag_count = flag_count + 1 WHERE id = :id"),
                {"id": oid},
            )
        assert version() == before  # a report is not on the page
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE opinion SET body = 'Khác' WHERE id = :id"), {"id": oid})
        assert version() == before + 1
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE opinion SET body = body WHERE id = :id"), {"id": oid})
        assert version() <= before + 2  # SQLite bumps on the column named, PostgreSQL on a change


@pytest.mark.postgres
def test_each_visitor_gets_their_own_actions_token_and_name_from_one_kept_part(
    app, client, auth, world, make
):
    cid = make.consultation("open")
    mine = make.opinion(cid, body="Ý kiến của người dân thứ nhất.")
    theirs = make.opinion(cid, who="moderator", body="Ý kiến của người khác.")
    anonymous = app.test_client()
    anonymous.set_cookie("lang", "en")
    html = page(anonymous, cid)
    assert "Edit my opinion" not in html
    assert "Report this opinion" not in html
    assert "Log in to give your opinion" in html

    auth.login(world.email("resident"))
    entries = kept_entries(app)
    html = page(client, cid)
    assert kept_entries(app) > entries  # the resident's give-opinion section is kept too
    mine_html = html.split(f'id="opinion-{mine}"', 1)[1].split("</article>", 1)[0]
    theirs_html = html.split(f'id="opinion-{theirs}"', 1)[1].split("</article>", 1)[0]
    assert f"/opinions/{mine}/edit" in mine_html
    assert "Report this opinion" not in mine_html
    assert f"/opinions/{theirs}/flag" in theirs_html
    assert "Edit my opinion" not in theirs_html
    assert "display name Người dân resident" in html

    other = other_client(app, second_resident(app, world))
    with app.app_context():
        before = set(fragments.kept()._items)
    other_html = page(other, cid)
    with app.app_context():
        drawn = set(fragments.kept()._items) - before
    # The same shared part, header and kept form; only the follow buttons differ (the first
    # resident follows the consultation they gave an opinion on).
    assert [key[0] for key in drawn] == ["follow"]
    mine_html = other_html.split(f'id="opinion-{mine}"', 1)[1].split("</article>", 1)[0]
    assert f"/opinions/{mine}/flag" in mine_html
    assert f"/opinions/{mine}/edit" not in mine_html
    assert "display name Người dân thứ hai" in other_html
    assert "Người dân resident, never" not in other_html

    token = re.compile(r'name="csrf_token" value="([^"]+)"')
    ours, yours = set(token.findall(html)), set(token.findall(other_html))
    assert ours
    assert yours
    assert not ours & yours
    # Each token works for its own session: the reviewer posts through the kept form.
    r = other.post(
        f"/consultations/{cid}/opinions",
        data={
            "csrf_token": next(iter(yours)),
            "stance": "agree",
            "section_id": "",
            "body": "Gửi từ mẫu đã giữ.",
        },
        csrf=False,
    )
    assert r.status_code in (302, 303)
    assert "Gửi từ mẫu đã giữ." in page(client, cid)


@pytest.mark.postgres
def test_the_kept_page_reads_no_opinion(app, client, auth, world, make):
    cid = make.consultation("open")
    for i in range(3):
        make.opinion(cid, body=f"Ý kiến {i}")
    auth.login(world.email("resident"))
    page(client, cid)
    seen: list[str] = []
    with app.app_context():
        engine = db.engine
    listener = lambda conn, cur, statement, *rest: seen.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        page(client, cid)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert not [s for s in seen if "FROM opinion" in s]
    # The person with their unread count, and with them the consultation and its follows.
    assert len(seen) == 1
    assert "FROM consultation" not in seen[0]
    assert "JOIN consultation" in seen[0]


@pytest.mark.postgres
def test_the_consultation_read_with_the_person_answers_as_read_alone(
    app, client, auth, world, make
):
    """The page's consultation comes with the person (auth/sessions.read_with_page): one that is
    missing, a draft of the officials, or a number past any key still answers 404, and the
    follow buttons show what the person follows."""
    cid = make.consultation("open")
    draft = make.consultation("draft")
    auth.login(world.email("resident"))
    for missing in (cid + 1000, draft, 2**70):
        assert client.get(f"/consultations/{missing}").status_code == 404
    assert "Follow this consultation" in page(client, cid)
    assert client.post(f"/consultations/{cid}/follow").status_code == 302
    assert "Stop following this consultation" in page(client, cid)
    # Another page of the same person reads them without a consultation.
    assert client.get("/me/following").status_code == 200


def test_text_that_looks_like_a_hole_is_only_text(app, client, auth, world, make):
    cid = make.consultation("open")
    marker = str(fragments.hole("give"))
    make.opinion(cid, body=f"Thử {marker} và \x1eabc:csrf\x1e trong ý kiến.")
    auth.login(world.email("resident"))
    html = page(client, cid)
    assert html.count('id="give-opinion"') == 1
    assert html.count("Send my opinion") == 1


def test_the_page_actions_agree_with_the_permission_of_each_opinion(app, world, make):
    cid = make.consultation("open")
    closed = make.consultation("closed")
    concluded = make.consultation("concluded")
    with app.test_request_context():
        for c_id in (cid, closed, concluded):
            c = db.session.get(Consultation, c_id)
            for who in ("resident", "unverified", "moderator", None):
                u = db.session.get(User, world.ids[who]) if who else None
                decide = can.opinion_actions(u, c)
                for author in (world.ids["resident"], world.ids["moderator"], None):
                    for status in OpinionStatus:
                        op = SimpleNamespace(consultation=c, author_id=author, status=status)
                        assert decide(author, status) in (None, *page_fragments.KINDS)
                        assert decide(author, status) == can.opinion_action(u, op), (
                            c.status,
                            who,
                            author,
                            status,
                        )
        assert db.session.get(Consultation, concluded).status == Status.concluded


def test_the_header_is_kept_with_each_visitors_count_and_token(app, client, auth, world, make):
    cid = make.consultation("open")
    auth.login(world.email("resident"))
    html = page(client, cid)
    other = other_client(app, world.email("moderator"))
    other_html = page(other, cid)
    assert "Moderation" in other_html
    assert ">Moderation<" not in html
    logout = re.compile(
        r'action="/auth/logout" class="inline"><input type="hidden" name="csrf_token" value="([^"]+)"'
    )
    assert logout.search(html).group(1) != logout.search(other_html).group(1)
    unread_notification(app, world.ids["resident"], cid)
    assert '<span class="count">1<span class="sr-only"> unread' in page(client, cid)
    assert '<span class="count">' not in page(other, cid)
    assert "Ủy ban nhân dân phường Ba Đình" in html
