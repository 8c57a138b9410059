"""Officials create, edit, open, extend and close consultations."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from consultations.models import Consultation, Section, Status
from core.extensions import db
from core.timeutil import closing_date, local_date, local_day_end, local_day_start, utcnow


@pytest.fixture(autouse=True)
def english(client):
    """Pages in English, so the assertions do not depend on the translations."""
    client.set_cookie("lang", "en")


def today():
    return local_date(utcnow())


def form_data(**overrides):
    data = {
        "title": "Quy định về chợ dân sinh",
        "summary": "Sắp xếp lại chợ tạm.",
        "kind": "comment",
        "category": "construction",
        "locality": "00004",
        "opens_at": today().isoformat(),
        "closes_at": (today() + timedelta(days=35)).isoformat(),
        "text": "Mở đầu.\n\nĐiều 1. Phạm vi\nChợ tạm.\n\nĐiều 2. Giờ họp chợ\nTừ 5 giờ sáng.",
    }
    data.update(overrides)
    return data


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def get(app, cid) -> Consultation:
    with app.app_context():
        c = db.session.get(Consultation, cid)
        c.sections  # noqa: B018 - load before the context ends
        return c


# --- who may create ---------------------------------------------------------------------------


def test_creating_needs_an_official(client, auth, world):
    r = client.get("/consultations/new")
    assert r.status_code == 302
    assert "/auth/login" in r.headers["Location"]
    auth.login(world.email("resident"))
    assert client.get("/consultations/new").status_code == 403
    assert client.post("/consultations/new", data=form_data()).status_code == 403
    auth.logout()
    auth.login(world.email("official"))
    r = client.get("/consultations/new")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    for name in (
        "title",
        "summary",
        "kind",
        "category",
        "locality",
        "opens_at",
        "closes_at",
        "text",
    ):
        assert f'name="{name}"' in html
    assert 'type="date"' in html


@pytest.mark.postgres
def test_an_official_creates_a_draft_and_sees_its_preview(app, client, auth, world):
    auth.login(world.email("official"))
    r = client.post("/consultations/new", data=form_data())
    assert r.status_code == 302
    with app.app_context():
        c = db.session.scalar(sa.select(Consultation))
        assert c.stored_status == Status.draft
        assert c.locality_id == world.commune_id
        assert [s.heading for s in c.sections] == ["", "Điều 1. Phạm vi", "Điều 2. Giờ họp chợ"]
        assert c.opens_at == local_day_start(today())
        assert c.closes_at == local_day_end(today() + timedelta(days=35))
        cid = c.id
    assert r.headers["Location"].endswith(f"/consultations/{cid}")
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Draft – only officials of Phường Ba Đình see this." in html
    assert "Open for opinions" in html
    assert f'href="/consultations/{cid}/edit"' in html
    assert "Chợ tạm." in html


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": "  "}, "title", "Give the consultation a title."),
        ({"title": "x" * 301}, "title", "at most 300 characters"),
        ({"opens_at": "2026-13-45"}, "opens_at", "Enter a date as YYYY-MM-DD"),
        ({"closes_at": "31/12/2026"}, "closes_at", "Enter a date as YYYY-MM-DD"),
        ({"closes_at": ""}, "closes_at", "Enter the last day for opinions."),
        ({"closes_at": "  "}, "closes_at", "Enter the last day for opinions."),
        ({"closes_at": "9999-12-31"}, "closes_at", "between the years 2000 and 2100"),
        ({"opens_at": "20260101"}, "opens_at", "Enter a date as YYYY-MM-DD"),
        ({"kind": "vote"}, "kind", "Choose the kind of consultation."),
        ({"category": "weather"}, "category", "Choose a subject."),
        ({"locality": "99999"}, "locality", "Choose the commune or ward"),
        ({"locality": "00008"}, "locality", "your own commune or ward"),
        (
            {"closes_at": (local_date(utcnow()) - timedelta(days=3)).isoformat()},
            "closes_at",
            "The closing date must be after the opening date.",
        ),
        (
            {"closes_at": (local_date(utcnow()) + timedelta(days=5)).isoformat()},
            "closes_at",
            "at least 30 days",
        ),
    ],
)
def test_bad_input_is_refused_beside_the_field_and_nothing_is_stored(
    app, client, auth, world, overrides, field, message
):
    auth.login(world.email("official"))
    typed = form_data(summary="Tóm tắt đã gõ <giữ lại>", **overrides)
    r = client.post("/consultations/new", data=typed)
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert f'id="{field}-error"' in html
    error = html.split(f'id="{field}-error">', 1)[1].split("</p>", 1)[0]
    assert message in error
    assert "Tóm tắt đã gõ &lt;giữ lại&gt;" in html  # the typed text is kept, escaped
    assert count(app, Consultation) == 0
    assert count(app, Section) == 0


def test_editing_a_draft_keeps_what_was_typed_and_resplits_the_text(app, client, auth, world, make):
    cid = make.consultation("draft")
    auth.login(world.email("official"))
    r = client.get(f"/consultations/{cid}/edit")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Quy định quản lý đất đai phường Ba Đình" in html
    assert "Điều 3. Lộ giới đường ngõ" in html
    c = get(app, cid)
    assert f'value="{closing_date(c.closes_at).isoformat()}"' in html

    r = client.post(
        f"/consultations/{cid}/edit",
        data=form_data(title="Tên mới", text="Điều 1. Một\nA\nĐiều 2. Hai\nB"),
    )
    assert r.status_code == 302
    c = get(app, cid)
    assert c.title == "Tên mới"
    assert [s.heading for s in c.sections] == ["Điều 1. Một", "Điều 2. Hai"]


def test_saving_unchanged_text_keeps_the_articles(app, client, auth, world, make):
    cid = make.consultation("draft")
    before = [s.id for s in get(app, cid).sections]
    auth.login(world.email("official"))
    html = client.get(f"/consultations/{cid}/edit").get_data(as_text=True)
    text = html.split('name="text"', 1)[1].split(">", 1)[1].split("</textarea>", 1)[0]
    import html as html_lib

    data = form_data(title="Đổi tên", text=html_lib.unescape(text).replace("\n", "\r\n"))
    assert client.post(f"/consultations/{cid}/edit", data=data).status_code == 302
    assert [s.id for s in get(app, cid).sections] == before


def test_editing_bad_input_is_400_and_the_draft_is_unchanged(app, client, auth, world, make):
    cid = make.consultation("draft")
    auth.login(world.email("official"))
    r = client.post(f"/consultations/{cid}/edit", data=form_data(title="", summary="Giữ lại"))
    assert r.status_code == 400
    assert "Giữ lại" in r.get_data(as_text=True)
    assert get(app, cid).title == "Quy định quản lý đất đai phường Ba Đình"


@pytest.mark.parametrize(
    ("who", "status"), [("official_other", 404), ("resident", 404), ("moderator", 404)]
)
def test_others_cannot_edit_a_draft(client, auth, world, make, who, status):
    cid = make.consultation("draft")
    auth.login(world.email(who))
    assert client.get(f"/consultations/{cid}/edit").status_code == status
    assert client.post(f"/consultations/{cid}/edit", data=form_data()).status_code == status
    assert client.post(f"/consultations/{cid}/open").status_code == status


@pytest.mark.parametrize("state", ["open", "closed", "concluded"])
def test_only_a_draft_can_be_edited(client, auth, world, make, state):
    cid = make.consultation(state)
    auth.login(world.email("official"))
    assert client.get(f"/consultations/{cid}/edit").status_code == 409
    assert client.post(f"/consultations/{cid}/edit", data=form_data()).status_code == 409
    auth.logout()
    auth.login(world.email("official_other"))
    assert client.get(f"/consultations/{cid}/edit").status_code == 403


def test_editing_one_article(app, client, auth, world, make):
    cid = make.consultation("draft")
    section = get(app, cid).sections[2]
    url = f"/consultations/{cid}/sections/{section.id}/edit"
    auth.login(world.email("official"))
    r = client.get(url)
    assert r.status_code == 200
    assert "Điều 2. Đối tượng áp dụng" in r.get_data(as_text=True)
    r = client.post(
        url, data={"heading": "Điều 2. Đối tượng", "text": "Mọi người dân trong phường."}
    )
    assert r.status_code == 302
    assert r.headers["Location"].endswith(f"/consultations/{cid}#section-{section.id}")
    with app.app_context():
        s = db.session.get(Section, section.id)
        assert (s.heading, s.text) == ("Điều 2. Đối tượng", "Mọi người dân trong phường.")
        assert "moi nguoi dan" in db.session.get(Consultation, cid).search_folded
    r = client.post(url, data={"heading": "x" * 501, "text": "Giữ nguyên chữ đã gõ"})
    assert r.status_code == 400
    assert "Giữ nguyên chữ đã gõ" in r.get_data(as_text=True)
    assert client.get(f"/consultations/{cid}/sections/999999/edit").status_code == 404


def test_articles_of_an_open_consultation_cannot_be_edited(app, client, auth, world, make):
    cid = make.consultation("open")
    section = get(app, cid).sections[1]
    auth.login(world.email("official"))
    r = client.post(
        f"/consultations/{cid}/sections/{section.id}/edit", data={"heading": "x", "text": "y"}
    )
    assert r.status_code == 409


# --- open, extend, close ----------------------------------------------------------------------


@pytest.mark.postgres
def test_opening_a_draft_makes_it_public(app, client, auth, world, make):
    cid = make.consultation("draft", title="Sắp mở")
    assert client.get(f"/consultations/{cid}").status_code == 404
    auth.login(world.email("official"))
    r = client.post(f"/consultations/{cid}/open")
    assert r.status_code == 302
    assert get(app, cid).status == Status.open
    auth.logout()
    r = client.get(f"/consultations/{cid}")
    assert r.status_code == 200
    assert "Draft –" not in r.get_data(as_text=True)
    assert "Sắp mở" in client.get("/").get_data(as_text=True)
    auth.login(world.email("official"))
    assert client.post(f"/consultations/{cid}/open").status_code == 409


def test_opening_without_text_is_refused_with_a_message(app, client, auth, world, make):
    cid = make.consultation("draft", text="")
    auth.login(world.email("official"))
    r = client.post(f"/consultations/{cid}/open")
    assert r.status_code == 400
    assert "Add the draft text before opening the consultation." in r.get_data(as_text=True)
    assert get(app, cid).status == Status.draft


def test_residents_cannot_open_close_or_extend(client, auth, world, make):
    cid = make.consultation("open")
    auth.login(world.email("resident"))
    assert client.post(f"/consultations/{cid}/close", data={"reason": "x"}).status_code == 403
    assert (
        client.post(f"/consultations/{cid}/extend", data={"closes_at": "2099-01-01"}).status_code
        == 403
    )
    auth.logout()
    assert client.post(f"/consultations/{cid}/close", data={"reason": "x"}).status_code == 302


def test_closing_early_needs_a_public_reason(app, client, auth, world, make):
    cid = make.consultation("open")
    auth.login(world.email("official"))
    page = client.get(f"/consultations/{cid}").get_data(as_text=True)
    assert f'action="/consultations/{cid}/close"' in page
    assert f'action="/consultations/{cid}/extend"' in page

    r = client.post(f"/consultations/{cid}/close", data={"reason": "  "})
    assert r.status_code == 400
    assert 'id="close-reason-error"' in r.get_data(as_text=True)
    assert get(app, cid).status == Status.open

    reason = "Dự án được cấp trên điều chỉnh, sẽ lấy ý kiến lại."
    assert client.post(f"/consultations/{cid}/close", data={"reason": reason}).status_code == 302
    c = get(app, cid)
    assert c.status == Status.closed
    assert c.close_reason == reason
    auth.logout()
    html = client.get(f"/consultations/{cid}").get_data(as_text=True)
    assert "Why this consultation was closed early" in html
    assert reason in html
    auth.login(world.email("official"))
    assert client.post(f"/consultations/{cid}/close", data={"reason": reason}).status_code == 409


def test_extending_moves_the_last_day_later_only(app, client, auth, world, make):
    cid = make.consultation("open")
    before = get(app, cid).closes_at
    auth.login(world.email("official"))
    earlier = (closing_date(before) - timedelta(days=1)).isoformat()
    r = client.post(f"/consultations/{cid}/extend", data={"closes_at": earlier})
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "The new closing date must be later than the current one." in html
    assert f'value="{earlier}"' in html
    for bad in ("soon", " ", "", "9999-12-31"):
        assert (
            client.post(f"/consultations/{cid}/extend", data={"closes_at": bad}).status_code == 400
        )

    later = closing_date(before) + timedelta(days=10)
    assert (
        client.post(
            f"/consultations/{cid}/extend", data={"closes_at": later.isoformat()}
        ).status_code
        == 302
    )
    assert get(app, cid).closes_at == local_day_end(later)


@pytest.mark.parametrize("state", ["closed", "concluded"])
def test_a_closed_consultation_cannot_be_extended_or_closed_again(client, auth, world, make, state):
    cid = make.consultation(state)
    auth.login(world.email("official"))
    assert (
        client.post(f"/consultations/{cid}/extend", data={"closes_at": "2099-01-01"}).status_code
        == 409
    )
    assert client.post(f"/consultations/{cid}/close", data={"reason": "x"}).status_code == 409
    assert client.post(f"/consultations/{cid}/open").status_code == 409


def test_legal_basis_and_meetings_are_stored_and_shown_again(app, client, auth, world):
    auth.login(world.email("official"))
    basis, meetings = (
        "Luật Thực hiện dân chủ ở cơ sở ngày 10 tháng 11 năm 2022\nLuật Đất đai",
        "Hội nghị cử tri tổ 1",
    )
    r = client.post("/consultations/new", data=form_data(legal_basis=basis, meetings=meetings))
    assert r.status_code == 302
    cid = int(r.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    c = get(app, cid)
    assert (c.legal_basis, c.meetings) == (basis, meetings)
    html = client.get(f"/consultations/{cid}/edit").get_data(as_text=True)
    assert 'name="legal_basis"' in html
    assert basis.split("\n")[1] in html
    assert meetings in html
    r = client.post(
        f"/consultations/{cid}/edit", data=form_data(legal_basis="x" * 5001, meetings="Giữ lại")
    )
    assert r.status_code == 400
    assert "Giữ lại" in r.get_data(as_text=True)
    assert get(app, cid).legal_basis == basis
