"""The consultation page: the draft, counts, the opinions list, what each visitor sees, its cost."""

import re

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from auth.models import User
from consultations import services
from consultations.models import (
    Consultation,
    Opinion,
    OpinionStatus,
    Outcome,
    Response,
    Section,
    Stance,
)
from core import fragments
from core.extensions import db
from core.timeutil import utcnow


@pytest.fixture(autouse=True)
def english(client):
    """Pages in English, so the assertions do not depend on the translations."""
    client.set_cookie("lang", "en")


def add_opinions(
    app, world, cid, n, *, who="resident", edit=False, answer=False, section_position=None
):
    """``n`` opinions through the service (optionally each edited once and answered), one commit."""
    with app.test_request_context():
        c = db.session.get(Consultation, cid)
        user = db.session.get(User, world.ids[who])
        section = None
        if section_position is not None:
            section = db.session.scalar(
                sa.select(Section).where(
                    Section.consultation_id == cid, Section.position == section_position
                )
            )
        ids = []
        for i in range(n):
            op = services.post_opinion(
                c, by=user, body=f"Ý kiến số {i}", stance=list(Stance)[i % 3], section=section
            )
            if edit:
                services.edit_opinion(op, by=user, body=f"Ý kiến số {i} (sửa)", stance=op.stance)
            if answer:
                op.response = Response(
                    consultation_id=cid, outcome=Outcome.accepted, explanation=f"Tiếp thu {i}"
                )
            ids.append(op.id)
        db.session.commit()
        return ids


def opinion_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<article class="opinion[^"]*" id="opinion-(\d+)"', html)]


@pytest.mark.postgres
def test_the_page_shows_the_consultation_and_its_draft(client, make):
    cid = make.consultation("open")
    make.opinion(cid, stance="disagree", section_position=2)
    make.opinion(cid, stance="suggest", section_position=2)
    make.opinion(cid, stance="agree")

    r = client.get(f"/consultations/{cid}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    for text in (
        "Quy định quản lý đất đai phường Ba Đình",
        "Tóm tắt: lấy ý kiến người dân.",
        "Phường Ba Đình, Thành phố Hà Nội",
        'class="badge status-open"',
        "Land",
        "Residents comment",
        "Opens on",
        "Last day for opinions:",
        "days left",
        "Điều 1. Phạm vi điều chỉnh",
        "Quy định này áp dụng cho việc sử dụng đất đai trên địa bàn phường.",
        "Điều 3. Lộ giới đường ngõ",
        "3 opinions",
    ):
        assert text in html, text
    # Counts per article: "Điều 1." (position 2) has one disagree and one suggestion.
    article = html.split('<article class="article"')[2]  # the second article block
    assert "2 opinions" in article
    assert "Disagree: 1" in article
    assert "Suggestions: 1" in article
    assert "Agree: 0" in article
    assert "?section=" in article


def test_drafts_are_hidden_from_everyone_but_their_officials(client, auth, world, make):
    cid = make.consultation("draft")
    assert client.get(f"/consultations/{cid}").status_code == 404
    for who in ("resident", "official_other", "moderator", "reviewer"):
        auth.login(world.email(who))
        assert client.get(f"/consultations/{cid}").status_code == 404, who
        auth.logout()
    auth.login(world.email("official"))
    html = client.get(f"/consultations/{cid}").get_data(as_text=True)
    assert "Draft – only officials of Phường Ba Đình see this." in html
    assert "Give your opinion" not in html
    assert client.get("/consultations/999999").status_code == 404


def test_anonymous_visitors_are_asked_to_log_in_and_unverified_to_verify(client, auth, world, make):
    cid = make.consultation("open")
    html = client.get(f"/consultations/{cid}").get_data(as_text=True)
    assert "Log in to give your opinion" in html
    assert 'name="body"' not in html
    auth.login(world.email("unverified"))
    html = client.get(f"/consultations/{cid}").get_data(as_text=True)
    assert "Verify your e-mail first" in html
    assert 'name="body"' not in html
    auth.logout()
    auth.login(world.email("resident"))
    html = client.get(f"/consultations/{cid}").get_data(as_text=True)
    assert 'name="body"' in html
    assert 'maxlength="5000"' in html
    assert 'type="radio" name="stance"' in html
    assert '<option value="">The whole draft</option>' in html
    assert 'name="channel"' not in html  # the offline form is for officials


def test_officials_get_the_offline_form_with_channels(client, auth, world, make):
    cid = make.consultation("closed")
    auth.login(world.email("official"))
    html = client.get(f"/consultations/{cid}").get_data(as_text=True)
    assert 'name="contributor_name"' in html
    for channel in ("meeting", "dialogue", "paper", "hotline", "front", "social"):
        assert re.search(f'<option [^>]*value="{channel}"', html), channel
    assert '<option value="online"' not in html


def test_closed_consultations_take_no_online_opinions(client, auth, world, make):
    cid = make.consultation("closed")
    auth.login(world.email("resident"))
    html = client.get(f"/consultations/{cid}").get_data(as_text=True)
    assert "opinions are no longer accepted online" in html
    assert 'name="body"' not in html


def test_twenty_opinions_a_page_newest_first_and_filter_by_article(app, client, world, make):
    cid = make.consultation("open")
    on_whole = add_opinions(app, world, cid, 22)
    on_article = add_opinions(app, world, cid, 3, section_position=3)

    first = client.get(f"/consultations/{cid}").get_data(as_text=True)
    assert opinion_ids(first) == sorted(on_whole + on_article, reverse=True)[:20]
    assert f'href="/consultations/{cid}?page=2#opinions"' in first
    second = client.get(f"/consultations/{cid}?page=2").get_data(as_text=True)
    assert opinion_ids(second) == sorted(on_whole)[:5][::-1]

    with app.app_context():
        section_id = db.session.scalar(
            sa.select(Section.id).where(Section.consultation_id == cid, Section.position == 3)
        )
    only = client.get(f"/consultations/{cid}?section={section_id}").get_data(as_text=True)
    assert opinion_ids(only) == sorted(on_article, reverse=True)
    assert "Opinions on: Điều 2. Đối tượng áp dụng" in only
    # A section of nothing shows every opinion.
    assert (
        len(opinion_ids(client.get(f"/consultations/{cid}?section=abc").get_data(as_text=True)))
        == 20
    )


def test_each_opinion_shows_its_public_details_only(app, client, world, make):
    cid = make.consultation("open")
    oid = make.opinion(cid, body="Cần mở rộng ngõ.\n\nĐoạn hai.", stance="suggest")
    with app.app_context():
        number = db.session.get(Opinion, oid).tracking_number
    html = client.get(f"/consultations/{cid}").get_data(as_text=True)
    assert "Người dân resident" in html
    assert 'class="badge stance-suggest"' in html
    assert number in html
    assert "<p>Cần mở rộng ngõ.</p><p>Đoạn hai.</p>" in html
    assert "resident@example.vn" not in html
    assert "Nguyễn Văn Resident" not in html


def test_opinion_text_is_escaped(client, make):
    cid = make.consultation("open")
    make.opinion(cid, body="<script>alert(1)</script>")
    html = client.get(f"/consultations/{cid}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_edits_answers_withdrawn_and_hidden_opinions(app, client, auth, world, make):
    cid = make.consultation("open")
    edited, answered, withdrawn, hidden = add_opinions(app, world, cid, 4)
    with app.test_request_context():
        user = db.session.get(User, world.ids["resident"])
        services.edit_opinion(
            db.session.get(Opinion, edited), by=user, body="Bản sửa", stance=Stance.disagree
        )
        db.session.get(Opinion, answered).response = Response(
            consultation_id=cid,
            outcome=Outcome.partly_accepted,
            explanation="Sẽ điều chỉnh Điều 3.",
        )
        services.withdraw_opinion(db.session.get(Opinion, withdrawn), by=user)
        op = db.session.get(Opinion, hidden)
        op.status, op.hidden_reason, op.hidden_at = (
            OpinionStatus.hidden,
            "Xúc phạm người khác",
            utcnow(),
        )
        op.body = "Nội dung bị ẩn"
        db.session.commit()

    html = client.get(f"/consultations/{cid}").get_data(as_text=True)
    assert "Bản sửa" in html
    assert "edited" in html
    assert "<details>" in html
    assert "Ý kiến số 0" in html
    assert "Partly accepted" in html
    assert "Sẽ điều chỉnh Điều 3." in html
    assert "Withdrawn by the author." in html
    assert "Ý kiến số 2" not in html
    assert "Hidden by a moderator: Xúc phạm người khác" in html
    assert "Nội dung bị ẩn" not in html

    # Staff of the locality read hidden and withdrawn text, marked as such.
    auth.login(world.email("reviewer"))
    html = client.get(f"/consultations/{cid}").get_data(as_text=True)
    assert "Nội dung bị ẩn" in html
    assert "Ý kiến số 2" in html
    assert "Text visible to staff only:" in html


@pytest.mark.postgres
@pytest.mark.parametrize("who", [None, "resident", "official"])
def test_the_page_costs_the_same_number_of_queries_whatever_the_number_of_opinions(
    app, client, auth, world, make, who
):
    small = make.consultation("open", title="Ít ý kiến")
    large = make.consultation("open", title="Nhiều ý kiến")
    # Every opinion edited and answered, so a lazy load per opinion would show in the count.
    add_opinions(app, world, small, 5, edit=True, answer=True)
    add_opinions(app, world, large, 60, edit=True, answer=True)
    if who:
        auth.login(world.email(who))

    def statements(url: str, *, drawn: bool = True) -> int:
        """The statements of one request for ``url``: its shared part drawn, or kept."""
        seen: list[str] = []
        if drawn:
            with app.app_context():
                fragments.kept().clear()

        def before_cursor_execute(conn, cursor, statement, parameters, context, executemany):
            seen.append(statement)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", before_cursor_execute)
        try:
            r = client.get(url)
        finally:
            event.remove(engine, "before_cursor_execute", before_cursor_execute)
        assert r.status_code == 200
        return len(seen)

    statements(f"/consultations/{small}")  # warm up: first-connection pragmas and the like
    few, many = statements(f"/consultations/{small}"), statements(f"/consultations/{large}")
    assert few == many
    assert many <= 12
    # Kept (core/fragments.py), the page reads the visitor with their unread count and, in the
    # same statement, the consultation with whether they follow it: the opinions are not read
    # at all. An official also gets the form for opinions received offline (the articles, the
    # villages) and their role is looked up the locality's chain.
    statements(f"/consultations/{large}")
    kept = statements(f"/consultations/{large}", drawn=False)
    assert kept == {None: 1, "resident": 1, "official": 4}[who]
