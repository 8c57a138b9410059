"""The moderation queue, a consultation's answers page and the reviewers' dashboard:
who may see them, what they list, and what they cost."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from auth.models import Role, RoleAssignment, User
from consultations import services
from consultations.models import Consultation, Opinion, Status
from core.extensions import db
from moderation import services as moderation


def _listed(html: str) -> list[int]:
    return [
        int(n) for n in re.findall(r'<article class="card opinion[^"]*" id="opinion-(\d+)"', html)
    ]


def _flag(app, world, oid, who="reviewer", reason="Nội dung xúc phạm"):
    with app.test_request_context():
        services.flag_opinion(
            db.session.get(Opinion, oid), by=db.session.get(User, world.ids[who]), reason=reason
        )
        db.session.commit()


def _answer(app, world, ids, outcome="noted"):
    with app.test_request_context():
        ops = [db.session.get(Opinion, i) for i in ids]
        moderation.respond(
            ops,
            by=db.session.get(User, world.ids["moderator"]),
            outcome=outcome,
            explanation="Ghi nhận.",
        )
        db.session.commit()


def _hide(app, world, oid, reason="Xúc phạm"):
    with app.test_request_context():
        moderation.hide_opinion(
            db.session.get(Opinion, oid),
            by=db.session.get(User, world.ids["moderator"]),
            reason=reason,
        )
        db.session.commit()


# --- who may see what ------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_login(app, client, make):
    cid = make.consultation("closed")
    for path in (
        "/moderation/",
        "/moderation/dashboard",
        f"/moderation/consultations/{cid}",
        "/audit/?locality=00004",
    ):
        response = client.get(path)
        assert response.status_code == 302, path
        assert "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize(
    ("who", "queue", "dashboard", "answers"),
    [
        ("moderator", 200, 200, 200),
        ("official", 403, 403, 200),
        ("reviewer", 403, 200, 403),
        ("official_other", 403, 403, 403),
        ("admin", 403, 403, 403),
        ("resident", 403, 403, 403),
        ("unverified", 403, 403, 403),
    ],
)
def test_pages_by_role(app, client, auth, make, world, who, queue, dashboard, answers):
    cid = make.consultation("closed")
    make.opinion(cid)
    auth.login(world.email(who))
    assert client.get("/moderation/").status_code == queue
    assert client.get("/moderation/dashboard").status_code == dashboard
    assert client.get(f"/moderation/consultations/{cid}").status_code == answers


def test_unknown_consultation_is_404(app, client, auth, world):
    auth.login(world.email("moderator"))
    assert client.get("/moderation/consultations/31337").status_code == 404
    assert client.get("/moderation/?consultation=31337").status_code == 404


def test_navigation_links_follow_the_roles(app, client, auth, world, en):
    auth.login(world.email("reviewer"))
    html = client.get("/moderation/dashboard").get_data(as_text=True)
    assert 'href="/moderation/dashboard">Dashboard<' in html
    assert 'href="/moderation/">Moderation<' not in html
    auth.logout()
    auth.login(world.email("moderator"))
    html = client.get("/moderation/").get_data(as_text=True)
    assert 'href="/moderation/">Moderation<' in html


# --- the queue -------------------------------------------------------------------------------


@pytest.mark.postgres
def test_queue_shows_reported_opinions_first_then_unanswered_then_hidden(
    app, client, auth, make, world, en
):
    cid = make.consultation("closed")
    plain = make.opinion(cid, body="Đề nghị làm rõ Điều 3.", stance="suggest", section_position=4)
    reported = make.opinion(cid, body="Ý kiến bị báo cáo.", stance="disagree")
    answered = make.opinion(cid, body="Đã được trả lời.")
    hidden = make.opinion(cid, body="Sẽ bị ẩn.")
    _flag(app, world, reported, reason="Quảng cáo trá hình")
    _flag(app, world, reported, who="official", reason="Không liên quan")
    _answer(app, world, [answered])
    _hide(app, world, hidden, reason="Thông tin cá nhân")
    auth.login(world.email("moderator"))

    html = client.get("/moderation/").get_data(as_text=True)
    assert "Reported (1)" in html
    assert "Not answered (3)" in html
    assert "Hidden (1)" in html
    assert _listed(html) == [reported]  # the reported list comes first
    assert "2 open reports" in html
    assert "Quảng cáo trá hình" in html
    assert "Không liên quan" in html

    html = client.get("/moderation/?tab=unanswered").get_data(as_text=True)
    # Oldest first; hidden ones need an answer too.
    assert _listed(html) == [plain, reported, hidden]
    with app.app_context():
        number = db.session.get(Opinion, plain).tracking_number
    assert number in html
    assert "Đề nghị làm rõ Điều 3." in html
    assert "Điều 3. Lộ giới đường ngõ" in html
    assert "Quy định quản lý đất đai phường Ba Đình" in html
    assert "Suggestion" in html
    assert "Channel: Online" in html
    assert 'name="opinion_ids"' in html
    assert 'action="/moderation/responses"' in html
    assert html.count('id="group-answer"') == 1  # ONE answer form for the selection

    html = client.get("/moderation/?tab=hidden").get_data(as_text=True)
    assert _listed(html) == [hidden]
    assert "Thông tin cá nhân" in html
    assert f'action="/moderation/opinions/{hidden}/restore"' in html


def test_queue_covers_the_moderators_localities_only(app, client, auth, make, world, en):
    ours = make.consultation("closed")
    village = make.consultation(
        "closed", title="Quy định của tổ dân phố", locality_id=world.village_ids[1]
    )
    theirs = make.consultation(
        "closed", title="Quy định phường Ngọc Hà", locality_id=world.other_commune_id
    )
    concluded = make.consultation("concluded", title="Đã kết thúc")
    mine = [make.opinion(ours), make.opinion(village, body="Tổ 2")]
    other = make.opinion(theirs, body="Phường khác")
    make.opinion(concluded, body="Đã đóng hồ sơ")  # a published record is frozen: not in the queue
    auth.login(world.email("moderator"))
    html = client.get("/moderation/?tab=unanswered").get_data(as_text=True)
    assert _listed(html) == mine
    assert client.get(f"/moderation/?consultation={theirs}").status_code == 403

    # A moderator for the province covers every commune under it.
    with app.app_context():
        db.session.add(
            RoleAssignment(
                user_id=world.ids["official_other"],
                role=Role.moderator,
                locality_id=world.province.id,
            )
        )
        db.session.commit()
    auth.logout()
    auth.login(world.email("official_other"))
    assert _listed(client.get("/moderation/?tab=unanswered").get_data(as_text=True)) == [
        *mine,
        other,
    ]


def test_queue_filters_by_consultation(app, client, auth, make, world, en):
    first = make.consultation("closed")
    second = make.consultation("closed", title="Quy định về chợ dân sinh")
    a = make.opinion(first)
    b = make.opinion(second, body="Chợ")
    auth.login(world.email("moderator"))
    assert _listed(
        client.get(f"/moderation/?tab=unanswered&consultation={second}").get_data(as_text=True)
    ) == [b]
    html = client.get(f"/moderation/?tab=unanswered&consultation={first}").get_data(as_text=True)
    assert _listed(html) == [a]
    assert "Not answered (1)" in html


def test_queue_is_paginated_twenty_a_page(app, client, auth, make, world, en):
    cid = make.consultation("closed")
    ids = [make.opinion(cid, body=f"Ý kiến số {i}") for i in range(21)]
    auth.login(world.email("moderator"))
    html = client.get("/moderation/?tab=unanswered").get_data(as_text=True)
    assert _listed(html) == ids[:20]
    assert "21 opinions" in html
    assert 'href="/moderation/?tab=unanswered&amp;page=2"' in html
    assert (
        _listed(client.get("/moderation/?tab=unanswered&page=2").get_data(as_text=True)) == ids[20:]
    )


# --- a consultation's answers page ----------------------------------------------------------


@pytest.mark.postgres
def test_consultation_page_shows_progress_overall_and_per_article(
    app, client, auth, make, world, en
):
    cid = make.consultation("closed")
    on_3 = [make.opinion(cid, section_position=4, body=f"Lộ giới {i}") for i in range(3)]
    whole = make.opinion(cid, body="Toàn bộ dự thảo")
    _answer(app, world, on_3[:2])
    auth.login(world.email("official"))
    html = client.get(f"/moderation/consultations/{cid}").get_data(as_text=True)
    assert "2 of 4 opinions answered" in html
    row = re.search(r"Điều 3\. Lộ giới đường ngõ</a></th><td>(\d+)</td><td>(\d+)</td>", html)
    assert row
    assert row.groups() == ("2", "1")  # answered, and still to answer (not the total)
    assert _listed(html) == [*on_3, whole]
    assert f'action="/moderation/opinions/{whole}/response"' in html
    assert "Hide this opinion" not in html
    assert f"/moderation/opinions/{whole}/hide" not in html

    unanswered = client.get(f"/moderation/consultations/{cid}?state=unanswered").get_data(
        as_text=True
    )
    assert _listed(unanswered) == [on_3[2], whole]
    whole_only = client.get(f"/moderation/consultations/{cid}?section=whole").get_data(as_text=True)
    assert _listed(whole_only) == [whole]

    auth.logout()
    auth.login(world.email("moderator"))
    assert "Hide this opinion" in client.get(f"/moderation/consultations/{cid}").get_data(
        as_text=True
    )


def test_concluded_consultation_page_is_read_only(app, client, auth, make, world, en):
    cid = make.consultation("closed")
    oid = make.opinion(cid)
    _answer(app, world, [oid])
    with app.app_context():
        db.session.get(Consultation, cid).stored_status = Status.concluded
        db.session.commit()
    auth.login(world.email("moderator"))
    html = client.get(f"/moderation/consultations/{cid}").get_data(as_text=True)
    assert "can no longer change" in html
    assert "/response" not in html
    assert 'id="group-answer"' not in html
    assert "/hide" not in html


def _queries(app, client, path) -> int:
    with app.app_context():
        engine = db.engine
    count = 0

    def before(*args, **kwargs):
        nonlocal count
        count += 1

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        assert client.get(path).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
    return count


def test_pages_cost_the_same_queries_whatever_the_number_of_opinions(
    app, client, auth, make, world, en
):
    small, large = make.consultation("closed"), make.consultation("closed", title="Lớn")
    for cid, n in ((small, 4), (large, 12)):
        ids = [make.opinion(cid, body=f"Ý kiến {i}", section_position=1 + i % 4) for i in range(n)]
        _answer(app, world, ids[:2])
        _hide(app, world, ids[2])
        _flag(app, world, ids[-1])
    auth.login(world.email("moderator"))
    for path in ("/moderation/consultations/{}", "/moderation/?tab=unanswered&consultation={}"):
        assert _queries(app, client, path.format(small)) == _queries(
            app, client, path.format(large)
        ), path


# --- the dashboard ---------------------------------------------------------------------------


@pytest.mark.postgres
def test_dashboard_lists_the_localitys_consultations_with_progress_and_links(
    app, client, auth, make, world, en
):
    running = make.consultation("closed")
    village = make.consultation(
        "open", title="Quy định của tổ dân phố số 2", locality_id=world.village_ids[1]
    )
    make.consultation("draft", title="Bản nháp chưa công bố")
    make.consultation("closed", title="Quy định phường Ngọc Hà", locality_id=world.other_commune_id)
    ids = [make.opinion(running, body=f"Ý kiến {i}") for i in range(3)]
    _answer(app, world, ids[:1])
    _hide(app, world, ids[2])
    make.opinion(village)
    auth.login(world.email("reviewer"))

    html = client.get("/moderation/dashboard").get_data(as_text=True)
    assert "Quy định quản lý đất đai phường Ba Đình" in html
    assert "Quy định của tổ dân phố số 2" in html
    assert "Bản nháp chưa công bố" not in html
    assert "Ngọc Hà" not in html
    assert "1 of 3 opinions answered" in html
    assert "0 of 1 opinion answered" in html
    assert "3 opinions received" in html
    assert f'href="/consultations/{running}/record"' in html
    assert f'href="/consultations/{running}/export.xlsx"' in html
    assert f'href="/moderation/consultations/{running}"' not in html  # reviewers do not answer

    open_only = client.get("/moderation/dashboard?status=open").get_data(as_text=True)
    assert "Quy định của tổ dân phố số 2" in open_only
    assert "Quy định quản lý đất đai phường Ba Đình" not in open_only
