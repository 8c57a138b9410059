"""What residents see (issue 12): the error summary at the top of every refused form, /track, the
articles' table of contents, the withdrawal confirmation page, the report form showing what is
reported, ``next`` kept through registration, and the issuing authority on every page."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from support import find_link, outbox

from consultations.models import Opinion, OpinionStatus, Section
from core.extensions import db


@pytest.fixture(autouse=True)
def _people(world):
    """Every test here needs the users of the world (auth.login)."""
    return world


def _main(html: str) -> str:
    return html[html.index('<main id="main"') : html.index("</main>")]


def _first_in_main(html: str) -> str:
    """The first element inside <main>."""
    main = _main(html)
    return re.search(r"<(?!main)[a-z][^>]*>", main).group(0)


def _summary(html: str) -> str:
    main = _main(html)
    start = main.index('class="error-summary"')
    return main[start : main.index("</div>", start)]


def _links(summary: str) -> list[str]:
    return re.findall(r'<a href="#([^"]+)"', summary)


def _assert_summary_first_and_linked(html: str, *anchors: str) -> None:
    first = _first_in_main(html)
    assert 'class="error-summary"' in first, first
    assert 'role="alert"' in first
    assert 'tabindex="-1"' in first
    assert "autofocus" in first
    summary = _summary(html)
    assert "There is a problem" in summary
    links = _links(summary)
    for anchor in anchors:
        assert anchor in links, (anchor, links)
        # Each link points at an element of the page.
        assert f'id="{anchor}"' in html, anchor
    assert html.count('class="error-summary"') == 1


# --- 1. the error summary -------------------------------------------------------------------------


def test_empty_opinion_summary_at_the_top_before_the_form(app, client, auth, world, make):
    cid = make.consultation("open")
    auth.login("resident@example.vn")
    r = client.post(
        f"/consultations/{cid}/opinions", data={"body": "", "stance": "", "section_id": ""}
    )
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    _assert_summary_first_and_linked(html, "body", "stance-0")
    assert html.index('class="error-summary"') < html.index(
        f'action="/consultations/{cid}/opinions"'
    )
    assert html.index('class="error-summary"') < html.index("<h1>")


def test_no_summary_on_a_page_without_errors(client, make, auth):
    cid = make.consultation("open")
    auth.login("resident@example.vn")
    assert "error-summary" not in client.get(f"/consultations/{cid}").get_data(as_text=True)


def test_bad_extension_date_links_to_its_field(app, client, auth, make):
    cid = make.consultation("open")
    auth.login("official@example.vn")
    r = client.post(f"/consultations/{cid}/extend", data={"closes_at": "31/12/2026"})
    assert r.status_code == 400
    _assert_summary_first_and_linked(r.get_data(as_text=True), "extend-closes-at")


def test_wrong_password_on_deletion_links_to_the_password(client, auth):
    auth.login("resident@example.vn")
    r = client.post("/me/delete", data={"password": "not the password"})
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    _assert_summary_first_and_linked(html, "password")
    assert "The password is not correct." in _summary(html)


def test_group_answer_with_nothing_ticked_links_to_the_first_box(app, client, auth, make):
    cid = make.consultation("closed")
    oid = make.opinion(cid)
    auth.login("moderator@example.vn")
    r = client.post(
        "/moderation/responses",
        data={
            "outcome": "noted",
            "explanation": "Ghi nhận",
            "next": f"/moderation/consultations/{cid}",
        },
    )
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    _assert_summary_first_and_linked(html, f"select-{oid}")
    assert "Choose the opinions to answer together." in _summary(html)


def test_hand_drawn_answer_fields_are_linked(app, client, auth, make):
    cid = make.consultation("closed")
    oid = make.opinion(cid)
    auth.login("moderator@example.vn")
    r = client.post(
        f"/moderation/opinions/{oid}/response",
        data={
            "outcome": "",
            "explanation": "",
            "next": f"/moderation/consultations/{cid}",
        },
    )
    assert r.status_code == 400
    _assert_summary_first_and_linked(
        r.get_data(as_text=True), f"outcome-op{oid}-accepted", f"explanation-op{oid}"
    )


def test_registration_summary_links_each_field(client, world):
    r = client.post(
        "/auth/register", data={"email": "", "password": "", "full_name": "", "locality": ""}
    )
    assert r.status_code == 400
    _assert_summary_first_and_linked(
        r.get_data(as_text=True), "email", "password", "full_name", "locality", "consent"
    )


def test_summary_in_vietnamese(client):
    client.set_cookie("lang", "vi")
    r = client.post("/auth/register", data={"email": ""})
    assert r.status_code == 400
    summary = _summary(r.get_data(as_text=True))
    assert "Có lỗi cần sửa" in summary
    assert "There is a problem" not in summary


# --- 2. /track ------------------------------------------------------------------------------------


def _tracking(app, oid: int) -> str:
    with app.app_context():
        return db.session.get(Opinion, oid).tracking_number


def test_track_a_known_number_shows_state_and_answer_not_the_name(app, client, world, make):
    cid = make.consultation("open")
    oid = make.opinion(cid, who="official", channel="paper", body="Đề nghị mở rộng ngõ 12.")
    number = _tracking(app, oid)
    with app.test_request_context():
        from auth.models import User
        from moderation.services import respond

        respond(
            [db.session.get(Opinion, oid)],
            by=db.session.get(User, world.ids["moderator"]),
            outcome="accepted",
            explanation="Đã bổ sung vào Điều 3.",
        )
        db.session.commit()
    r = client.get(f"/track?number={number}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert number in html
    assert "Đề nghị mở rộng ngõ 12." in html
    assert "Đã bổ sung vào Điều 3." in html
    assert "Accepted" in html
    assert "Paper ballot" in html
    assert "Trần Thị B" not in html  # the paper contributor's name (make.opinion) is not public
    assert "Set-Cookie" not in r.headers  # public, no session
    # Typed in lower case with spaces: still found.
    assert client.get(f"/track?number= {number.lower()} ").status_code == 200


def test_track_unknown_number_is_a_404_with_the_form(client, world):
    r = client.get("/track?number=YK-2026-999999")
    assert r.status_code == 404
    html = r.get_data(as_text=True)
    assert 'name="number"' in html
    assert "YK-2026-999999" in html
    _assert_summary_first_and_linked(html, "number")


def test_track_malformed_number_is_a_400_with_the_form_again(client, world):
    r = client.get("/track?number=12345")
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert 'value="12345"' in html
    _assert_summary_first_and_linked(html, "number")


def test_track_without_a_number_shows_the_form(client, world):
    r = client.get("/track")
    assert r.status_code == 200
    assert 'name="number"' in r.get_data(as_text=True)


def test_track_hides_a_hidden_text(app, client, world, make):
    cid = make.consultation("open")
    oid = make.opinion(cid, body="Lời lẽ xúc phạm ở đây.")
    with app.test_request_context():
        from auth.models import User
        from moderation.services import hide_opinion

        hide_opinion(
            db.session.get(Opinion, oid),
            by=db.session.get(User, world.ids["moderator"]),
            reason="Xúc phạm",
        )
        db.session.commit()
    html = client.get(f"/track?number={_tracking(app, oid)}").get_data(as_text=True)
    assert "Lời lẽ xúc phạm ở đây." not in html
    assert "Xúc phạm" in html


def test_track_is_rate_limited(app, world):
    from infra import ratelimits

    assert "consultations.track" in ratelimits.limited_endpoints(app)


def test_receipt_and_notice_print_the_tracking_address(app, client, auth, world, make):
    cid = make.consultation("open")
    auth.login("resident@example.vn")
    client.post(
        f"/consultations/{cid}/opinions",
        data={"body": "Tôi tán thành.", "stance": "agree", "section_id": ""},
    )
    [receipt] = [m for m in outbox(app) if "YK-" in m.get("subject", "")]
    link = find_link(receipt["text"], r"http://localhost/track\?number=YK-\d{4}-\d{6}")
    assert client.get(link.removeprefix("http://localhost")).status_code == 200
    assert "/track?number=YK-" in receipt["html"]
    notice = client.get(f"/consultations/{cid}/notice").get_data(as_text=True)
    assert "http://localhost/track" in notice


# --- 3. the table of contents and "Góp ý về điều này" ---------------------------------------------


def _sections(app, cid: int) -> list[int]:
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(Section.id)
                .where(Section.consultation_id == cid)
                .order_by(Section.position)
            )
        )


def test_table_of_contents_and_comment_links(app, client, auth, make):
    cid = make.consultation("open")
    ids = _sections(app, cid)
    html = client.get(f"/consultations/{cid}").get_data(as_text=True)
    toc = html[html.index('class="toc"') :]
    toc = toc[: toc.index("</nav>")]
    assert [int(x) for x in re.findall(r'href="#section-(\d+)"', toc)] == ids
    # The table comes before the draft's first article.
    assert html.index('class="toc"') < html.index(f'id="section-{ids[0]}"')
    for sid in ids:
        assert f'href="/consultations/{cid}?section_id={sid}#give-opinion"' in html


def test_comment_link_preselects_the_article(app, client, auth, make):
    cid = make.consultation("open")
    sid = _sections(app, cid)[2]
    auth.login("resident@example.vn")
    html = client.get(f"/consultations/{cid}?section_id={sid}").get_data(as_text=True)
    form = html[html.index(f'action="/consultations/{cid}/opinions"') :]
    select = form[form.index('name="section_id"') : form.index("</select>")]
    assert re.search(rf'<option selected value="{sid}"|<option value="{sid}" selected', select), (
        select
    )
    assert select.count("selected") == 1
    # Nonsense or another draft's article: the whole draft, no error.
    plain = client.get(f"/consultations/{cid}?section_id=abc")
    assert plain.status_code == 200
    assert 'selected value="' not in plain.get_data(as_text=True).split(
        f'action="/consultations/{cid}/opinions"'
    )[1].split("</select>")[0].replace('selected value=""', "")


def test_anonymous_comment_link_keeps_the_article_through_login(app, client, make):
    cid = make.consultation("open")
    sid = _sections(app, cid)[1]
    html = client.get(f"/consultations/{cid}?section_id={sid}").get_data(as_text=True)
    assert (
        f"next=/consultations/{cid}?section_id%3D{sid}%23give-opinion" in html
        or f"next=%2Fconsultations%2F{cid}%3Fsection_id%3D{sid}%23give-opinion" in html
    )


# --- 4. withdrawing asks first ---------------------------------------------------------------------


def test_withdraw_confirm_page_then_post(app, client, auth, make):
    cid = make.consultation("open")
    oid = make.opinion(cid, body="Ý kiến sẽ rút lại.")
    auth.login("resident@example.vn")
    page = client.get(f"/consultations/{cid}").get_data(as_text=True)
    assert f'href="/opinions/{oid}/withdraw"' in page  # a link, not a form that withdraws at once
    assert f'action="/opinions/{oid}/withdraw"' not in page
    r = client.get(f"/opinions/{oid}/withdraw")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Ý kiến sẽ rút lại." in html
    assert f'action="/opinions/{oid}/withdraw"' in html
    with app.app_context():
        assert db.session.get(Opinion, oid).status == OpinionStatus.published  # GET changed nothing
    assert client.post(f"/opinions/{oid}/withdraw").status_code == 302
    with app.app_context():
        assert db.session.get(Opinion, oid).status == OpinionStatus.withdrawn
    assert client.get(f"/opinions/{oid}/withdraw").status_code == 409


def test_withdraw_confirm_page_only_for_the_author(client, auth, make):
    cid = make.consultation("open")
    oid = make.opinion(cid)
    assert "/auth/login" in client.get(f"/opinions/{oid}/withdraw").headers["Location"]
    auth.login("moderator@example.vn")
    assert client.get(f"/opinions/{oid}/withdraw").status_code == 403


# --- 5. the report form shows what is reported ---------------------------------------------------


def test_flag_page_shows_the_opinion(client, auth, make):
    cid = make.consultation("open")
    oid = make.opinion(cid, body="Văn bản bị phản ánh.")
    auth.login("moderator@example.vn")
    html = client.get(f"/opinions/{oid}/flag").get_data(as_text=True)
    assert "Văn bản bị phản ánh." in html
    assert html.index("Văn bản bị phản ánh.") < html.index('name="reason"')


def test_flag_page_does_not_reveal_a_hidden_text(app, client, auth, world, make):
    cid = make.consultation("open")
    oid = make.opinion(cid, body="Nội dung đã ẩn.")
    with app.test_request_context():
        from auth.models import User
        from moderation.services import hide_opinion

        hide_opinion(
            db.session.get(Opinion, oid),
            by=db.session.get(User, world.ids["moderator"]),
            reason="Lạc đề",
        )
        db.session.commit()
    auth.login("reviewer@example.vn")  # staff: sees it
    assert "Nội dung đã ẩn." in client.get(f"/opinions/{oid}/flag").get_data(as_text=True)
    auth.logout()
    auth.login("official_other@example.vn")  # staff of another commune: does not
    html = client.get(f"/opinions/{oid}/flag").get_data(as_text=True)
    assert "Nội dung đã ẩn." not in html
    assert "Lạc đề" in html


# --- 6. next through registration and verification ------------------------------------------------

NEW = {
    "email": "ba.hoa@example.vn",
    "password": "Trâu-cày-ruộng-sớm",
    "full_name": "Lê Thị Hoa",
    "locality": "00004-T1",
    "consent": "y",
}


@pytest.mark.postgres
def test_verification_lands_where_the_resident_was_going(app, client, world, make):
    cid = make.consultation("open")
    target = f"/consultations/{cid}#give-opinion"
    page = client.get(f"/consultations/{cid}").get_data(as_text=True)
    register_link = re.search(r'href="(/auth/register\?next=[^"]+)"', page).group(1)
    form = client.get(register_link.replace("&amp;", "&")).get_data(as_text=True)
    action = re.search(r'<form method="post" action="([^"]+)"', form).group(1).replace("&amp;", "&")
    assert action.startswith("/auth/register?next=")
    assert client.post(action, data=NEW).status_code == 302
    [mail] = [m for m in outbox(app) if m["to"] == NEW["email"]]
    link = find_link(mail["text"], r"http://localhost/auth/verify/\S+")
    assert "next=" in link
    r = client.get(link.removeprefix("http://localhost"))
    assert r.status_code == 302
    assert r.headers["Location"] == target
    # The login page carries it too.
    login = client.get(f"/auth/login?next=/consultations/{cid}").get_data(as_text=True)
    assert (
        f'href="/auth/register?next=/consultations/{cid}"' in login
        or f'href="/auth/register?next=%2Fconsultations%2F{cid}"' in login
    )


def test_verification_ignores_a_foreign_next(app, client, world):
    client.post("/auth/register?next=//evil.example/x", data=NEW)
    [mail] = [m for m in outbox(app) if m["to"] == NEW["email"]]
    link = find_link(mail["text"], r"http://localhost/auth/verify/[^\s?]+")
    r = client.get(link.removeprefix("http://localhost") + "?next=https://evil.example/")
    assert r.headers["Location"] == "/me/account"


def test_without_next_verification_opens_the_account(app, client, world):
    client.post("/auth/register", data=NEW)
    [mail] = [m for m in outbox(app) if m["to"] == NEW["email"]]
    link = find_link(mail["text"], r"http://localhost/auth/verify/\S+")
    assert "next=" not in link
    assert client.get(link.removeprefix("http://localhost")).headers["Location"] == "/me/account"


# --- 7. the issuing authority and breadcrumbs -----------------------------------------------------


def test_header_names_the_commune_and_footer_its_contacts(app, client, world, make):
    with app.app_context():
        from localities.models import Locality

        loc = db.session.get(Locality, world.commune_id)
        loc.address, loc.phone = "Số 1 Đội Cấn, Ba Đình", "0243 123 4567"
        db.session.commit()
    cid = make.consultation("open")
    html = client.get(f"/consultations/{cid}").get_data(as_text=True)
    header = html[html.index('<header class="site-header">') : html.index("</header>")]
    assert "Ủy ban nhân dân phường Ba Đình" in header
    footer = html[html.index('<footer class="site-footer">') :]
    assert "Ủy ban nhân dân phường Ba Đình" in footer
    assert "Số 1 Đội Cấn, Ba Đình" in footer
    assert 'href="tel:02431234567"' in footer
    home = client.get("/").get_data(as_text=True)
    header = home[home.index('<header class="site-header">') : home.index("</header>")]
    assert "Ủy ban nhân dân" not in header
    assert app.config.get("OPERATOR_NAME", "operator") in header or "operator" in header


def test_breadcrumbs_on_deep_pages(app, client, auth, make):
    cid = make.consultation("open")
    oid = make.opinion(cid)
    closed = make.consultation("closed")

    def crumbs(html):
        assert html.index('class="breadcrumbs') < html.index('<main id="main"')
        nav = html[html.index('class="breadcrumbs') :]
        return nav[: nav.index("</nav>")]

    assert 'aria-current="page"' in crumbs(
        client.get(f"/consultations/{cid}").get_data(as_text=True)
    )
    assert f'href="/consultations/{cid}"' in crumbs(
        client.get(f"/consultations/{cid}/notice").get_data(as_text=True)
    )
    auth.login("resident@example.vn")
    for path in (f"/opinions/{oid}/edit", f"/opinions/{oid}/withdraw"):
        assert f'href="/consultations/{cid}"' in crumbs(client.get(path).get_data(as_text=True)), (
            path
        )
    auth.logout()
    auth.login("moderator@example.vn")
    assert f'href="/consultations/{cid}"' in crumbs(
        client.get(f"/opinions/{oid}/flag").get_data(as_text=True)
    )
    assert f'href="/consultations/{closed}"' in crumbs(
        client.get(f"/moderation/consultations/{closed}").get_data(as_text=True)
    )
    assert f'href="/consultations/{closed}"' in crumbs(
        client.get(f"/consultations/{closed}/record").get_data(as_text=True)
    )
