"""The rules of the service layer: splitting drafts, the life cycle, tracking numbers."""

import pytest
import sqlalchemy as sa

from consultations import services
from consultations.models import Consultation, Opinion, Status
from core.extensions import db


def test_split_sections_finds_articles_and_preamble():
    text = "Lời nói đầu.\n\nĐiều 1. Phạm vi\nNội dung một.\nĐiều 2: Đối tượng\nNội dung hai.\nArticle 3. Scope\nThree."
    sections = services.split_sections(text)
    assert [s.heading for s in sections] == [
        "",
        "Điều 1. Phạm vi",
        "Điều 2: Đối tượng",
        "Article 3. Scope",
    ]
    assert sections[1].text == "Nội dung một."
    assert sections[0].text == "Lời nói đầu."


def test_split_sections_without_articles_is_one_section():
    sections = services.split_sections("Chỉ một đoạn văn.\nHai dòng.")
    assert len(sections) == 1
    assert sections[0].heading == ""


def test_a_line_mentioning_dieu_inside_text_does_not_split():
    sections = services.split_sections("Điều 1. A\nTheo Điều 5 của luật.\n  điều 2. B\nx")
    assert [s.heading for s in sections] == ["Điều 1. A", "điều 2. B"]


@pytest.mark.postgres
def test_tracking_numbers_are_sequential_and_unique(app, make):
    cid = make.consultation("open")
    ids = [make.opinion(cid, body=f"Ý kiến {i}") for i in range(3)]
    with app.app_context():
        numbers = [db.session.get(Opinion, i).tracking_number for i in ids]
        c = db.session.get(Consultation, cid)
        assert c.opinion_count == 3
    year = numbers[0].split("-")[1]
    assert numbers == [f"YK-{year}-{n:06d}" for n in (1, 2, 3)]


@pytest.mark.postgres
def test_status_follows_the_dates_without_cron(app, make):
    from core.timeutil import utcnow

    cid = make.consultation("open")
    with app.app_context():
        c = db.session.get(Consultation, cid)
        assert c.status == Status.open
        c.closes_at = utcnow()
        db.session.commit()
        assert db.session.get(Consultation, cid).status == Status.closed
        found = db.session.scalars(
            sa.select(Consultation.id).where(Consultation.status == Status.closed)
        ).all()
        assert found == [cid]
