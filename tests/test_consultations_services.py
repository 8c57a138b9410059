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
def test_tracking_numbers_grow_past_six_digits(app, make):
    from consultations.models import TrackingCounter
    from core.timeutil import LOCAL_TZ, utcnow

    cid = make.consultation("open")
    year = utcnow().astimezone(LOCAL_TZ).year
    with app.app_context():
        db.session.merge(TrackingCounter(year=year, last=999_998))
        db.session.commit()
    ids = [make.opinion(cid, body=f"Ý kiến {i}") for i in range(2)]
    with app.app_context():
        numbers = [db.session.get(Opinion, i).tracking_number for i in ids]
    assert numbers == [f"YK-{year}-999999", f"YK-{year}-1000000"]


@pytest.mark.postgres
def test_a_post_to_a_consultation_past_its_close_stores_nothing(app, make):
    """The close is checked under the lock (on PostgreSQL inside the insert): refused, no
    opinion, no number handed out, no follow kept."""
    from auth.models import User
    from consultations.models import Stance, TrackingCounter
    from core.errors import StateError
    from core.timeutil import utcnow
    from notifications.models import Follow

    cid = make.consultation("open")
    make.opinion(cid)
    with app.test_request_context():
        counter = db.session.scalar(sa.select(sa.func.max(TrackingCounter.last)))
        follows = db.session.scalar(sa.select(sa.func.count()).select_from(Follow))
        # Closed by the clock: the service reads the state under the lock, not from the page.
        db.session.execute(
            sa.update(Consultation).where(Consultation.id == cid).values(closes_at=utcnow())
        )
        db.session.commit()
        c = db.session.get(Consultation, cid)
        other = db.session.get(User, make.world.ids["admin"])  # follows nothing yet
        with pytest.raises(StateError):
            services.post_opinion(c, by=other, body="Muộn mất rồi.", stance=Stance.agree)
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Opinion)) == 1
        assert db.session.scalar(sa.select(sa.func.max(TrackingCounter.last))) == counter
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Follow)) == follows


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
