"""What the moderation and record pages count: articles without the introduction, the opinions
still to answer (not the total), and a withdrawn opinion that needs no answer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from auth.models import User
from consultations.models import Opinion, Outcome
from core.extensions import db


@pytest.fixture
def vi(app, client, world):
    with app.app_context():
        db.session.execute(sa.update(User).values(locale="vi"))
        db.session.commit()
    client.set_cookie("lang", "vi")


def _answer(app, world, opinion_id):
    from moderation.services import respond

    with app.test_request_context():
        op = db.session.get(Opinion, opinion_id)
        respond(
            [op],
            by=db.session.get(User, world.ids["moderator"]),
            outcome=Outcome.noted,
            explanation="Ghi nhận",
        )
        db.session.commit()


def _withdraw(app, world, opinion_id):
    from consultations import services

    with app.test_request_context():
        op = db.session.get(Opinion, opinion_id)
        services.withdraw_opinion(op, by=db.session.get(User, world.ids["resident"]))
        db.session.commit()


@pytest.mark.postgres
def test_to_answer_counts_what_is_left_and_a_withdrawn_opinion_needs_no_answer(
    app, client, auth, world, make, vi
):
    cid = make.consultation("open")
    answered = make.opinion(cid, section_position=3, body="Một")
    make.opinion(cid, section_position=3, body="Hai")
    make.opinion(cid, section_position=3, body="Ba")
    withdrawn = make.opinion(cid, section_position=4, body="Bốn")
    _answer(app, world, answered)
    _withdraw(app, world, withdrawn)
    auth.login("moderator@example.vn")
    html = client.get(f"/moderation/consultations/{cid}?state=all").get_data(as_text=True)
    row = re.search(r"Điều 1\. Phạm vi điều chỉnh</a></th><td>(\d+)</td><td>(\d+)</td>", html)
    assert row is not None
    row = re.search(r"Điều 2\. Đối tượng áp dụng</a></th><td>(\d+)</td><td>(\d+)</td>", html)
    assert row.groups() == ("1", "2")  # 1 answered, 2 still to answer (not the total, 3)
    row = re.search(r"Điều 3\. Lộ giới đường ngõ</a></th><td>(\d+)</td><td>(\d+)</td>", html)
    assert row.groups() == ("0", "0")  # withdrawn: nothing to answer
    card = html.split(f'id="opinion-{withdrawn}"', 1)[1].split("</article>", 1)[0]
    assert "không cần trả lời" in card
    assert "Chưa được trả lời" not in card

    auth.logout()
    auth.login("resident@example.vn")
    mine = client.get("/me/opinions").get_data(as_text=True)
    assert mine.count("không cần trả lời") == 1
    assert mine.count("Chưa được trả lời.") == 2


def test_the_record_counts_articles_without_the_introduction(app, client, auth, world, make, vi):
    cid = make.consultation("closed")  # DRAFT_TEXT: an introduction, then Điều 1 to Điều 3
    auth.login("moderator@example.vn")
    html = client.get(f"/consultations/{cid}/record").get_data(as_text=True)
    assert re.search(r"<dt>Số điều</dt><dd>3 điều</dd>", html), re.findall(
        r"<dt>Số điều</dt><dd>[^<]*</dd>", html
    )


def test_the_queue_filter_takes_the_whole_row_on_a_phone(app, client, auth, world, make):
    make.opinion(make.consultation("open"))
    auth.login("moderator@example.vn")
    html = client.get("/moderation/").get_data(as_text=True)
    assert '<div class="field wide">\n<label for="filter-consultation">' in html
    css = Path(app.static_folder, "style.css").read_text(encoding="utf-8")
    assert ".filters .field.wide { grid-column: 1 / -1; }" in css
