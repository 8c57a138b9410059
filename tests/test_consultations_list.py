"""The list of consultations: what the public sees, officials' drafts, filters, search, pages."""

import re

import pytest

from consultations import services
from consultations.models import Consultation
from core.extensions import db


@pytest.fixture(autouse=True)
def english(client):
    """Pages in English, so the assertions do not depend on the translations."""
    client.set_cookie("lang", "en")


SCHOOL_TEXT = "Điều 1. Trường học\nXây mới trường mầm non cho trẻ em trong phường."


def titles(response) -> list[str]:
    """Titles of the consultations listed in the results (not the drafts block)."""
    html = response.get_data(as_text=True)
    results = html.split('id="results-title"', 1)[-1]
    return re.findall(r'<h2><a href="/consultations/\d+">([^<]+)</a></h2>', results)


@pytest.mark.postgres
def test_the_public_sees_open_and_closed_consultations_but_no_draft(client, make):
    make.consultation("open", title="Đang lấy ý kiến", category="transport", text=SCHOOL_TEXT)
    make.consultation("closed", title="Đã kết thúc", text=SCHOOL_TEXT)
    make.consultation("concluded", title="Đã công bố biên bản", text=SCHOOL_TEXT)
    make.consultation("draft", title="Bản nháp bí mật", text=SCHOOL_TEXT)

    r = client.get("/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert sorted(titles(r)) == sorted(["Đang lấy ý kiến", "Đã kết thúc", "Đã công bố biên bản"])
    assert "Bản nháp bí mật" not in html
    assert "Your drafts" not in html
    # Status badges, locality, category, closing date and opinion count on each card.
    assert 'class="badge status-open"' in html
    assert 'class="badge status-closed"' in html
    assert 'class="badge status-concluded"' in html
    assert "Phường Ba Đình" in html
    assert "Transport" in html
    assert "Opinions until" in html
    assert "0 opinions" in html


def test_the_opinion_count_is_shown_on_the_card(client, make):
    cid = make.consultation("open", text=SCHOOL_TEXT)
    make.opinion(cid)
    assert "1 opinion<" in client.get("/").get_data(as_text=True)


def test_officials_see_their_drafts_in_a_block_of_their_own(client, auth, world, make):
    make.consultation("draft", title="Bản nháp của phường", text=SCHOOL_TEXT)

    auth.login(world.email("official"))
    r = client.get("/")
    html = r.get_data(as_text=True)
    assert "Your drafts" in html
    assert "Bản nháp của phường" in html
    assert titles(r) == []  # not mixed into the public results

    auth.logout()
    for who in ("official_other", "resident", "moderator"):
        auth.login(world.email(who))
        html = client.get("/").get_data(as_text=True)
        assert "Bản nháp của phường" not in html, who
        auth.logout()


@pytest.mark.postgres
def test_search_without_diacritics_finds_vietnamese_words(client, make):
    make.consultation(
        "open", title="Quy hoạch đất đai", text="Điều 1. Đất ở\nGiao đất cho hộ gia đình."
    )
    make.consultation("open", title="Xây trường mầm non", text=SCHOOL_TEXT)

    assert titles(client.get("/?q=dat+dai")) == ["Quy hoạch đất đai"]
    assert titles(client.get("/?q=ĐẤT ĐAI")) == ["Quy hoạch đất đai"]
    assert titles(client.get("/?q=quy hoach dat")) == ["Quy hoạch đất đai"]
    # Every word must match.
    r = client.get("/?q=dat+dai+xyzzy")
    assert titles(r) == []
    assert "No consultation matches your search" in r.get_data(as_text=True)
    # The draft text is searched too.
    assert titles(client.get("/?q=mam non")) == ["Xây trường mầm non"]


@pytest.mark.postgres
def test_search_follows_edits_of_the_text(app, client, world, make):
    cid = make.consultation("draft", title="Tên cũ", text=SCHOOL_TEXT)
    with app.test_request_context():
        from auth.models import User

        c = db.session.get(Consultation, cid)
        official = db.session.get(User, world.ids["official"])
        services.update_consultation(
            c,
            by=official,
            title="Chỉnh trang vỉa hè",
            summary="",
            kind=c.kind,
            category=c.category,
            locality=c.locality,
            opens_at=c.opens_at,
            closes_at=c.closes_at,
            text=None,
        )
        services.open_consultation(c, by=official)
        db.session.commit()
    assert titles(client.get("/?q=via he")) == ["Chỉnh trang vỉa hè"]
    assert titles(client.get("/?q=ten cu")) == []


@pytest.mark.parametrize(
    "q",
    ['"dat', "dat OR dai", "NEAR(a b)", "*", "a_b%", "'; DROP TABLE consultation; --", "đ" * 300],
)
def test_search_syntax_in_the_query_is_plain_text(client, make, q):
    make.consultation("open")
    r = client.get("/", query_string={"q": q})
    assert r.status_code == 200


@pytest.mark.postgres
def test_filters_by_status_category_and_locality(client, world, make):
    make.consultation("open", title="Phường mở", category="land", text=SCHOOL_TEXT)
    make.consultation(
        "open",
        title="Tổ dân phố mở",
        category="education",
        text=SCHOOL_TEXT,
        locality_id=world.village_ids[0],
    )
    make.consultation("closed", title="Phường đóng", category="land", text=SCHOOL_TEXT)

    assert sorted(titles(client.get("/?status=closed"))) == ["Phường đóng"]
    assert sorted(titles(client.get("/?status=open"))) == ["Phường mở", "Tổ dân phố mở"]
    assert sorted(titles(client.get("/?category=education"))) == ["Tổ dân phố mở"]
    # A commune's code includes the villages under it; a village's code only itself.
    assert sorted(titles(client.get("/?locality=00004"))) == [
        "Phường mở",
        "Phường đóng",
        "Tổ dân phố mở",
    ]
    assert sorted(titles(client.get("/?locality=00004-T1"))) == ["Tổ dân phố mở"]
    assert titles(client.get("/?locality=00008")) == []
    # Filters combine.
    assert titles(client.get("/?locality=00004&status=open&category=land")) == ["Phường mở"]
    # Unknown values: an unknown status or category is ignored, an unknown locality finds nothing.
    assert len(titles(client.get("/?status=draft&category=nonsense"))) == 3
    r = client.get("/?locality=99999")
    assert titles(r) == []
    assert "There is no locality with the code 99999" in r.get_data(as_text=True)


def test_ten_a_page_with_page_links_that_keep_the_filters(client, make):
    for i in range(12):
        make.consultation("open", title=f"Dự thảo số {i:02d}", text=SCHOOL_TEXT)

    first = client.get("/?category=land")
    assert len(titles(first)) == 10
    html = first.get_data(as_text=True)
    assert "12 consultations" in html
    assert 'href="/?category=land&amp;page=2"' in html
    second = client.get("/?category=land&page=2")
    assert len(titles(second)) == 2
    assert set(titles(first)).isdisjoint(titles(second))
    assert client.get("/?page=abc").status_code == 200
    assert titles(client.get("/?page=99")) == []


def test_an_empty_list_says_so(client, world):
    r = client.get("/")
    assert r.status_code == 200
    assert "There is no public consultation yet" in r.get_data(as_text=True)


def test_old_locality_links_follow_merges(app, client, world):
    from localities.models import Locality, LocalityKind

    with app.app_context():
        old = Locality(
            code="00007",
            name="Phường cũ",
            kind=LocalityKind.commune,
            merged_into_id=world.commune_id,
        )
        db.session.add(old)
        db.session.commit()

    r = client.get("/localities/00007")
    assert r.status_code == 302
    assert r.headers["Location"].endswith("/?locality=00004")
    r = client.get("/localities/00004")
    assert r.headers["Location"].endswith("/?locality=00004")
    assert client.get("/localities/nope").status_code == 404


@pytest.mark.postgres
def test_create_all_builds_the_search_index(app, db_backend):
    import sqlalchemy as sa

    with app.app_context():
        if db_backend == "sqlite":
            names = db.session.scalars(sa.text("SELECT name FROM sqlite_master")).all()
            assert {
                "consultation_fts",
                "consultation_fts_ai",
                "consultation_fts_au",
                "consultation_fts_ad",
            } <= set(names)
        else:
            names = db.session.scalars(
                sa.text("SELECT indexname FROM pg_indexes WHERE tablename = 'consultation'")
            ).all()
            assert "ix_consultation_search_vector" in names


@pytest.mark.postgres
def test_postgresql_searches_through_the_index_once_analyzed(app, make, db_backend):
    """After ANALYZE the planner still reads the search index rather than folding every draft
    again (PostgreSQL once priced that as cheap: 1.3 s a search over 5,000 consultations)."""
    import sqlalchemy as sa

    from consultations.models import Consultation
    from consultations.search import search_condition

    for i in range(12):
        make.consultation("open", title=f"Quy hoạch đất đai đợt {i}")
    # Not every consultation matches (when all 12 did, a sequential read was rightly cheaper once
    # the indexed text held the exact and pair tokens of consultations/search.py).
    for i in range(40):
        make.consultation(
            "open", title=f"Sửa chữa nhà văn hóa số {i}", text="Điều 1. Phạm vi\nNội dung."
        )
    with app.app_context():
        db.session.execute(sa.text("ANALYZE consultation"))
        stmt = sa.select(sa.func.count(Consultation.id)).where(search_condition("đất đai"))
        compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
        if db_backend == "sqlite":
            rows = db.session.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")).all()
            plan, index = " ".join(str(r[-1]) for r in rows), "consultation_fts"
        else:
            plan, index = (
                "\n".join(db.session.scalars(sa.text(f"EXPLAIN {compiled}"))),
                "ix_consultation_search_vector",
            )
        assert index in plan, plan
        assert db.session.scalar(stmt) >= 12
