"""Search ranks exact matches first: the diacritics typed, the words side by side, whole words,
before consultations that only match folded prefixes ("dat dai" also finds "đạt … đại học")."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from consultations.search import exact_token, index_text
from core.extensions import db

TEXT = "Điều 1. Phạm vi\nNội dung của dự thảo."


@pytest.fixture(autouse=True)
def english(client):
    client.set_cookie("lang", "en")


def titles(response) -> list[str]:
    html = response.get_data(as_text=True)
    results = html.split('id="results-title"', 1)[-1]
    return re.findall(r'<h2><a href="/consultations/\d+">([^<]+)</a></h2>', results)


def test_the_indexed_text_keeps_the_diacritics_and_the_pairs_as_tokens_of_their_own():
    assert exact_token("Đất") == "0d9a61t"
    assert exact_token("đạt") == "0d9a5t"
    assert exact_token("dat") is None
    indexed = index_text("Quản lý đất đai, đất ở")
    folded, exact, pairs = indexed.split("\n")
    assert folded == "quan ly dat dai, dat o"
    assert exact.split() == ["0qua3n", "0ly1", "0d9a61t", "0d9ai", "0o73"]  # each once
    assert pairs.split() == ["1quan0ly", "1ly0dat", "1dat0dai", "1dai0dat", "1dat0o"]


@pytest.mark.postgres
def test_dat_dai_lists_dat_dai_before_dat_and_dai_hoc(client, make):
    make.consultation("open", title="Quy hoạch sử dụng đất đai", text=TEXT)
    # Newer, so it would come first without the rank; its words are "đạt" and "đại" apart.
    make.consultation("open", title="Trường đạt chuẩn, liên kết đại học", text=TEXT)
    assert titles(client.get("/?q=dat+dai")) == [
        "Quy hoạch sử dụng đất đai",
        "Trường đạt chuẩn, liên kết đại học",
    ]


@pytest.mark.postgres
def test_the_diacritics_typed_rank_the_exact_words_first(client, make):
    make.consultation("open", title="Giao đất đai cho hộ gia đình", text=TEXT)
    make.consultation(
        "open", title="Lắp đặt đài truyền thanh thôn", text=TEXT
    )  # "dat dai" side by side too
    make.consultation("open", title="Trường đạt chuẩn, liên kết đại học", text=TEXT)
    assert titles(client.get("/?q=đất+đai")) == [
        "Giao đất đai cho hộ gia đình",
        "Lắp đặt đài truyền thanh thôn",
        "Trường đạt chuẩn, liên kết đại học",
    ]
    assert titles(client.get("/?q=đặt đài"))[0] == "Lắp đặt đài truyền thanh thôn"
    # Without diacritics both pairs tie and the list's own order (newest first) decides.
    assert titles(client.get("/?q=dat+dai"))[:2] == [
        "Lắp đặt đài truyền thanh thôn",
        "Giao đất đai cho hộ gia đình",
    ]


@pytest.mark.postgres
def test_whole_words_come_before_prefixes(client, make):
    make.consultation("open", title="Hỗ trợ hộ nghèo", text=TEXT)
    make.consultation("open", title="Sửa trường học", text=TEXT)  # "ho" only as the prefix of "hoc"
    assert titles(client.get("/?q=ho")) == ["Hỗ trợ hộ nghèo", "Sửa trường học"]


@pytest.mark.postgres
def test_the_ranked_list_still_reads_the_index(app, make, db_backend):
    from consultations.queries import Filters, public_consultations

    for i in range(12):
        make.consultation("open", title=f"Quy hoạch đất đai đợt {i}", text=TEXT)
    for i in range(40):  # most consultations are about something else, as in a real commune
        make.consultation("open", title=f"Sửa chữa nhà văn hóa số {i}", text=TEXT)
    with app.test_request_context():
        db.session.execute(
            sa.text("ANALYZE consultation" if db_backend == "postgresql" else "ANALYZE")
        )
        stmt = public_consultations(Filters(q="đất đai"))
        compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
        if db_backend == "sqlite":
            rows = db.session.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")).all()
            plan = " ".join(str(r[-1]) for r in rows)
            assert plan.count("consultation_fts") >= 4, plan  # the filter and the three levels
        else:
            plan = "\n".join(db.session.scalars(sa.text(f"EXPLAIN {compiled}")))
            assert plan.count("ix_consultation_search_vector") >= 4, plan
        assert len(db.session.scalars(stmt).all()) == 12
