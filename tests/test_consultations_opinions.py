"""Giving, editing, withdrawing and reporting opinions, online and offline."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from support import outbox

from consultations.models import (
    Channel,
    Consultation,
    Flag,
    Opinion,
    OpinionRevision,
    OpinionStatus,
    Section,
)
from core.extensions import db
from core.timeutil import local_date, utcnow


@pytest.fixture(autouse=True)
def english(client):
    """Pages in English, so the assertions do not depend on the translations."""
    client.set_cookie("lang", "en")


def opinions(app) -> list[Opinion]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Opinion).order_by(Opinion.id)))


def section_id(app, cid, position) -> int:
    with app.app_context():
        return db.session.scalar(
            sa.select(Section.id).where(
                Section.consultation_id == cid, Section.position == position
            )
        )


def opinion(app, oid) -> Opinion:
    with app.app_context():
        return db.session.get(Opinion, oid)


# --- giving an opinion ------------------------------------------------------------------------


@pytest.mark.postgres
def test_a_verified_resident_gives_an_opinion_on_an_article(app, client, auth, world, make):
    cid = make.consultation("open")
    sid = section_id(app, cid, 3)
    auth.login(world.email("resident"))
    r = client.post(
        f"/consultations/{cid}/opinions",
        data={
            "body": "Nên giữ lộ giới 3 mét cho ngõ cũ.",
            "stance": "suggest",
            "section_id": str(sid),
        },
    )
    assert r.status_code == 302
    [op] = opinions(app)
    assert r.headers["Location"].endswith(f"/consultations/{cid}#opinion-{op.id}")
    assert (op.section_id, op.stance.value, op.channel, op.author_id) == (
        sid,
        "suggest",
        Channel.online,
        world.ids["resident"],
    )
    assert op.tracking_number.startswith("YK-")

    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert f"Your opinion was received. Tracking number {op.tracking_number}." in html
    assert "Nên giữ lộ giới 3 mét cho ngõ cũ." in html
    with app.app_context():
        assert db.session.get(Consultation, cid).opinion_count == 1
    [mail] = outbox(app)
    assert mail["to"] == world.email("resident")
    assert op.tracking_number in mail["subject"]


def test_an_opinion_on_the_whole_draft(app, client, auth, world, make):
    cid = make.consultation("open")
    auth.login(world.email("resident"))
    r = client.post(
        f"/consultations/{cid}/opinions",
        data={"body": "Đồng ý.", "stance": "agree", "section_id": ""},
    )
    assert r.status_code == 302
    assert opinions(app)[0].section_id is None


def test_anonymous_visitors_are_sent_to_log_in(app, client, make):
    cid = make.consultation("open")
    r = client.post(f"/consultations/{cid}/opinions", data={"body": "Xin chào", "stance": "agree"})
    assert r.status_code == 302
    # After logging in they come back to the consultation page, not to the POST address.
    assert f"/auth/login?next=/consultations/{cid}%23give-opinion" in r.headers["Location"]
    assert opinions(app) == []


def test_unverified_residents_are_refused(app, client, auth, world, make):
    cid = make.consultation("open")
    auth.login(world.email("unverified"))
    r = client.post(f"/consultations/{cid}/opinions", data={"body": "Xin chào", "stance": "agree"})
    assert r.status_code == 403
    assert opinions(app) == []


@pytest.mark.postgres
@pytest.mark.parametrize("state", ["closed", "concluded"])
def test_no_online_opinion_once_closed(app, client, auth, world, make, state):
    cid = make.consultation(state)
    auth.login(world.email("resident"))
    r = client.post(f"/consultations/{cid}/opinions", data={"body": "Muộn rồi", "stance": "agree"})
    assert r.status_code == 409
    assert opinions(app) == []


def test_no_opinion_on_a_draft(app, client, auth, world, make):
    cid = make.consultation("draft")
    auth.login(world.email("resident"))
    assert (
        client.post(
            f"/consultations/{cid}/opinions", data={"body": "x", "stance": "agree"}
        ).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"body": "", "stance": "agree"}, "body", "Write your opinion."),
        ({"body": "   \n  ", "stance": "agree"}, "body", "Write your opinion."),
        ({"body": "\x00\x01", "stance": "agree"}, "body", "Write your opinion."),
        ({"body": "ý" * 5001, "stance": "agree"}, "body", "at most 5000 characters"),
        (
            {"body": "Ý kiến đã gõ <b>đậm</b>"},
            "stance",
            "Choose whether you agree, disagree or have a suggestion.",
        ),
        (
            {"body": "Ý kiến đã gõ <b>đậm</b>", "stance": "maybe"},
            "stance",
            "Choose whether you agree",
        ),
        (
            {"body": "Ý kiến đã gõ <b>đậm</b>", "stance": "agree", "section_id": "999999"},
            "section_id",
            "Choose an article of this draft",
        ),
        (
            {"body": "Ý kiến đã gõ <b>đậm</b>", "stance": "agree", "section_id": "abc"},
            "section_id",
            "Choose an article of this draft",
        ),
    ],
)
def test_bad_input_is_refused_with_the_page_shown_again(
    app, client, auth, world, make, data, field, message
):
    cid = make.consultation("open")
    auth.login(world.email("resident"))
    r = client.post(f"/consultations/{cid}/opinions", data=data)
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "Quy định quản lý đất đai phường Ba Đình" in html  # the consultation page
    error = html.split(f'id="{field}-error">', 1)[1].split("</p>", 1)[0]
    assert message in error
    if field != "body":
        assert "Ý kiến đã gõ &lt;b&gt;đậm&lt;/b&gt;" in html  # typed text kept, escaped
    # A post on the whole draft reads no article, but the form drawn again offers them all.
    select = html.split('id="section_id"', 1)[1].split("</select>", 1)[0]
    assert select.count("<option") == 1 + len(sections_of(app, cid))
    assert opinions(app) == []
    assert outbox(app) == []


def sections_of(app, cid) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Section.id).where(Section.consultation_id == cid)))


def test_an_article_of_another_consultation_is_refused(app, client, auth, world, make):
    cid = make.consultation("open")
    other = make.consultation("open", title="Khác")
    auth.login(world.email("resident"))
    data = {
        "body": "Giữ lại chữ này",
        "stance": "agree",
        "section_id": str(section_id(app, other, 2)),
    }
    r = client.post(f"/consultations/{cid}/opinions", data=data)
    assert r.status_code == 400
    assert "Giữ lại chữ này" in r.get_data(as_text=True)
    assert opinions(app) == []


# --- offline opinions entered by officials ------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("state", ["open", "closed"])
def test_officials_enter_opinions_received_offline(app, client, auth, world, make, state):
    cid = make.consultation(state)
    with app.app_context():  # opened three days ago: a meeting held yesterday belongs to it
        c = db.session.get(Consultation, cid)
        c.opens_at = c.opened_at = utcnow() - timedelta(days=3)
        db.session.commit()
    yesterday = (local_date(utcnow()) - timedelta(days=1)).isoformat()
    auth.login(world.email("official"))
    r = client.post(
        f"/consultations/{cid}/opinions",
        data={
            "body": "Ý kiến tại hội nghị thôn.",
            "stance": "disagree",
            "section_id": "",
            "channel": "meeting",
            "contributor_name": "Bà Lê Thị C",
            "received_at": yesterday,
        },
    )
    assert r.status_code == 302
    [op] = opinions(app)
    assert (op.channel, op.contributor_name, op.author_id, op.entered_by_id) == (
        Channel.meeting,
        "Bà Lê Thị C",
        None,
        world.ids["official"],
    )
    assert local_date(op.received_at).isoformat() == yesterday
    html = client.get(f"/consultations/{cid}").get_data(as_text=True)
    # The official typed in someone else's opinion: not told "Your opinion was received".
    assert (
        f"The opinion received through Community meeting is recorded with tracking number {op.tracking_number}."
        in html
    )
    assert "Your opinion was received" not in html
    assert "Received through: Community meeting" in html
    assert (
        "Bà Lê Thị C" not in html
    )  # never public without the person's agreement (test_privacy.py)


@pytest.mark.postgres
def test_an_offline_opinion_cannot_predate_the_consultation(app, client, auth, world, make):
    cid = make.consultation("open")
    auth.login(world.email("official"))
    data = {
        "body": "Ý kiến trên giấy.",
        "stance": "agree",
        "section_id": "",
        "channel": "paper",
        "contributor_name": "Ông Hồ Văn D",
        "received_at": "2000-01-01",
    }
    r = client.post(f"/consultations/{cid}/opinions", data=data)
    assert r.status_code == 400
    assert "cannot have been received before the consultation opened" in r.get_data(as_text=True)
    assert opinions(app) == []


def test_offline_opinions_need_the_contributor_and_a_real_channel(app, client, auth, world, make):
    cid = make.consultation("open")
    auth.login(world.email("official"))
    base = {"body": "Ý kiến qua đường dây nóng", "stance": "agree", "channel": "hotline"}
    r = client.post(f"/consultations/{cid}/opinions", data=base | {"contributor_name": " "})
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert 'id="contributor_name-error"' in html
    assert "Ý kiến qua đường dây nóng" in html
    assert "<details open>" in html  # the offline form is shown unfolded
    r = client.post(
        f"/consultations/{cid}/opinions",
        data=base | {"channel": "pigeon", "contributor_name": "Ông D"},
    )
    assert r.status_code == 400
    assert "Choose how this opinion was received." in r.get_data(as_text=True)
    assert opinions(app) == []


def test_residents_cannot_enter_offline_opinions(app, client, auth, world, make):
    cid = make.consultation("open")
    auth.login(world.email("resident"))
    data = {"body": "x", "stance": "agree", "channel": "paper", "contributor_name": "Ông E"}
    assert client.post(f"/consultations/{cid}/opinions", data=data).status_code == 403
    auth.logout()
    auth.login(world.email("official_other"))
    assert client.post(f"/consultations/{cid}/opinions", data=data).status_code == 403
    assert opinions(app) == []


def test_after_the_close_an_offline_opinion_must_have_been_received_before_it(
    app, client, auth, world, make
):
    cid = make.consultation("closed")
    auth.login(world.email("official"))
    data = {
        "body": "Phiếu nộp muộn",
        "stance": "agree",
        "channel": "paper",
        "contributor_name": "Ông E",
    }
    r = client.post(f"/consultations/{cid}/opinions", data=data)
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "Only opinions received before the close can be entered." in html
    assert 'id="offline-received-at-error"' in html
    assert "Phiếu nộp muộn" in html
    assert opinions(app) == []


def test_no_offline_opinion_once_concluded(app, client, auth, world, make):
    cid = make.consultation("concluded")
    auth.login(world.email("official"))
    data = {"body": "x", "stance": "agree", "channel": "paper", "contributor_name": "Ông E"}
    assert client.post(f"/consultations/{cid}/opinions", data=data).status_code == 409


# --- editing and withdrawing ----------------------------------------------------------------------


@pytest.mark.postgres
def test_the_author_edits_an_opinion_and_the_history_is_kept(app, client, auth, world, make):
    cid = make.consultation("open")
    oid = make.opinion(cid, body="Bản đầu tiên", stance="agree")
    auth.login(world.email("resident"))
    r = client.get(f"/opinions/{oid}/edit")
    assert r.status_code == 200
    assert "Bản đầu tiên" in r.get_data(as_text=True)

    r = client.post(f"/opinions/{oid}/edit", data={"body": "Bản thứ hai", "stance": "disagree"})
    assert r.status_code == 302
    assert r.headers["Location"].endswith(f"#opinion-{oid}")
    op = opinion(app, oid)
    assert (op.body, op.stance.value) == ("Bản thứ hai", "disagree")
    with app.app_context():
        [rev] = db.session.scalars(sa.select(OpinionRevision)).all()
        assert (rev.body, rev.stance.value) == ("Bản đầu tiên", "agree")
    html = client.get(f"/consultations/{cid}").get_data(as_text=True)
    assert "Bản thứ hai" in html
    assert "edited" in html
    assert "Bản đầu tiên" in html


def test_editing_with_bad_input_keeps_the_typed_text(app, client, auth, world, make):
    cid = make.consultation("open")
    oid = make.opinion(cid, body="Bản gốc")
    auth.login(world.email("resident"))
    r = client.post(f"/opinions/{oid}/edit", data={"body": "x" * 5001, "stance": "agree"})
    assert r.status_code == 400
    assert 'id="body-error"' in r.get_data(as_text=True)
    r = client.post(f"/opinions/{oid}/edit", data={"body": "Chữ mới đã gõ", "stance": ""})
    assert r.status_code == 400
    assert "Chữ mới đã gõ" in r.get_data(as_text=True)
    assert opinion(app, oid).body == "Bản gốc"


@pytest.mark.parametrize("who", ["reviewer", "official", "moderator"])
def test_only_the_author_edits_or_withdraws(app, client, auth, world, make, who):
    cid = make.consultation("open")
    oid = make.opinion(cid)
    auth.login(world.email(who))
    assert client.get(f"/opinions/{oid}/edit").status_code == 403
    assert (
        client.post(f"/opinions/{oid}/edit", data={"body": "Sửa hộ", "stance": "agree"}).status_code
        == 403
    )
    assert client.post(f"/opinions/{oid}/withdraw").status_code == 403
    assert opinion(app, oid).status == OpinionStatus.published


def test_anonymous_edit_and_withdraw_go_to_login(client, make):
    cid = make.consultation("open")
    oid = make.opinion(cid)
    for r in (
        client.get(f"/opinions/{oid}/edit"),
        client.post(f"/opinions/{oid}/withdraw"),
        client.post(f"/opinions/{oid}/flag", data={"reason": "x"}),
    ):
        assert r.status_code == 302
        assert "/auth/login" in r.headers["Location"]


@pytest.mark.postgres
@pytest.mark.parametrize("state", ["closed", "concluded"])
def test_opinions_cannot_change_once_closed(app, client, auth, world, make, state):
    cid = make.consultation(state)
    oid = make.opinion(cid)
    auth.login(world.email("resident"))
    assert client.get(f"/opinions/{oid}/edit").status_code == 409
    assert (
        client.post(f"/opinions/{oid}/edit", data={"body": "Muộn", "stance": "agree"}).status_code
        == 409
    )
    assert client.post(f"/opinions/{oid}/withdraw").status_code == 409
    assert opinion(app, oid).status == OpinionStatus.published


def test_withdrawing_keeps_the_opinion_but_not_its_public_text(app, client, auth, world, make):
    cid = make.consultation("open")
    oid = make.opinion(cid, body="Tôi rút lại ý này")
    auth.login(world.email("resident"))
    r = client.post(f"/opinions/{oid}/withdraw")
    assert r.status_code == 302
    op = opinion(app, oid)
    assert op.status == OpinionStatus.withdrawn
    assert op.withdrawn_at is not None
    auth.logout()
    html = client.get(f"/consultations/{cid}").get_data(as_text=True)
    assert "Withdrawn by the author." in html
    assert "Tôi rút lại ý này" not in html
    auth.login(world.email("resident"))
    assert client.post(f"/opinions/{oid}/withdraw").status_code == 409
    assert client.get(f"/opinions/{oid}/edit").status_code == 409


# --- reporting --------------------------------------------------------------------------------------


def test_a_reader_reports_an_opinion_once(app, client, auth, world, make):
    cid = make.consultation("open")
    oid = make.opinion(cid)
    auth.login(world.email("reviewer"))
    page = client.get(f"/consultations/{cid}").get_data(as_text=True)
    assert f'href="/opinions/{oid}/flag"' in page
    assert client.get(f"/opinions/{oid}/flag").status_code == 200
    r = client.post(f"/opinions/{oid}/flag", data={"reason": "Lộ số điện thoại của người khác"})
    assert r.status_code == 302
    assert r.headers["Location"].endswith(f"#opinion-{oid}")
    r = client.post(f"/opinions/{oid}/flag", data={"reason": "Lần nữa"})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Flag)) == 1
        assert db.session.get(Opinion, oid).flag_count == 1


def test_reporting_needs_a_reason_and_someone_else(app, client, auth, world, make):
    cid = make.consultation("open")
    oid = make.opinion(cid)
    auth.login(world.email("resident"))  # the author
    assert f'href="/opinions/{oid}/flag"' not in client.get(f"/consultations/{cid}").get_data(
        as_text=True
    )
    assert client.post(f"/opinions/{oid}/flag", data={"reason": "x"}).status_code == 403
    auth.logout()
    auth.login(world.email("unverified"))
    assert client.post(f"/opinions/{oid}/flag", data={"reason": "x"}).status_code == 403
    auth.logout()
    auth.login(world.email("reviewer"))
    r = client.post(f"/opinions/{oid}/flag", data={"reason": "  "})
    assert r.status_code == 400
    assert "Say why this opinion should be reviewed." in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Flag)) == 0


def test_a_withdrawn_opinion_cannot_be_reported(app, client, auth, world, make):
    cid = make.consultation("open")
    oid = make.opinion(cid)
    auth.login(world.email("resident"))
    client.post(f"/opinions/{oid}/withdraw")
    auth.logout()
    auth.login(world.email("reviewer"))
    assert client.post(f"/opinions/{oid}/flag", data={"reason": "x"}).status_code == 409


def test_opinions_of_drafts_and_unknown_ids_are_404(client, auth, world):
    auth.login(world.email("resident"))
    assert client.get("/opinions/999999/edit").status_code == 404
    assert client.post("/opinions/999999/withdraw").status_code == 404
    assert client.post("/opinions/999999/flag", data={"reason": "x"}).status_code == 404
