"""Formal reviews (phản biện) by the Fatherland Front, with an optional signed PDF."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa

from audit.models import AuditEvent
from consultations.models import Consultation, Review, Status
from core.extensions import db
from core.timeutil import utcnow

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def post_review(client, cid, body="Ủy ban MTTQ phường đề nghị làm rõ Điều 3.", attachment=None):
    data = {"body": body}
    if attachment is not None:
        content, name = attachment
        data["attachment"] = (io.BytesIO(content), name)
    return client.post(
        f"/consultations/{cid}/reviews", data=data, content_type="multipart/form-data"
    )


def set_status(app, cid, status):
    with app.app_context():
        c = db.session.get(Consultation, cid)
        c.stored_status = status
        if status != Status.open:
            c.closes_at = min(c.closes_at, utcnow())
        db.session.commit()


@pytest.mark.postgres
def test_reviewer_adds_a_review_with_a_pdf(app, client, auth, make):
    cid = make.consultation("open")
    auth.login("reviewer@example.vn")
    assert 'name="attachment"' in client.get(f"/consultations/{cid}/reviews").get_data(as_text=True)
    response = post_review(client, cid, attachment=(PDF, "Phản biện số 1/2026.pdf"))
    assert response.status_code == 302
    with app.app_context():
        review = db.session.scalar(sa.select(Review))
        assert review.body == "Ủy ban MTTQ phường đề nghị làm rõ Điều 3."
        assert review.attachment_name == "Phản biện số 1/2026.pdf"
        stored = Path(app.config["UPLOAD_DIR"]) / review.attachment_stored
        assert stored.read_bytes() == PDF
        assert "Phản" not in review.attachment_stored  # a random name, never the user's
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "review.create"))
        assert event.object_id == review.id
        review_id = review.id

    # Sent from the stored file (infra.storage), which stays open until the response is closed.
    with client.get(f"/reviews/{review_id}/attachment") as response:
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith('attachment; filename="phan-bien-so-1-2026.pdf"; ')
        assert "filename*=UTF-8''Ph%E1%BA%A3n%20bi%E1%BB%87n%20s%E1%BB%91%201" in disposition
        assert "sandbox" in response.headers["Content-Security-Policy"]
        assert response.get_data() == PDF


def test_review_is_shown_in_the_record_with_its_link(app, client, auth, make):
    cid = make.consultation("open")
    auth.login("reviewer@example.vn")
    post_review(client, cid, body="Đồng thuận với dự thảo.", attachment=(PDF, "pb.pdf"))
    set_status(app, cid, Status.closed)
    html = client.get(f"/consultations/{cid}/record").get_data(as_text=True)
    assert "Đồng thuận với dự thảo." in html
    with app.app_context():
        review_id = db.session.scalar(sa.select(Review.id))
    assert f"/reviews/{review_id}/attachment" in html


@pytest.mark.parametrize(
    ("content", "name"),
    [(b"<html>not a pdf</html>", "fake.pdf"), (b"MZ\x90\x00", "virus.pdf")],
)
def test_only_pdf_content_is_accepted(app, client, auth, make, content, name):
    cid = make.consultation("open")
    client.set_cookie("lang", "en")
    auth.login("reviewer@example.vn")
    response = post_review(client, cid, body="Giữ lại văn bản này.", attachment=(content, name))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Only PDF files can be attached." in html
    assert "Giữ lại văn bản này." in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Review)) == 0
    uploads = Path(app.config["UPLOAD_DIR"])
    assert not uploads.exists() or not any(uploads.iterdir())  # nothing stored


def test_a_pdf_over_the_limit_is_refused(app, client, auth, make):
    app.config["UPLOAD_MAX_BYTES"] = 1024
    cid = make.consultation("open")
    auth.login("reviewer@example.vn")
    response = post_review(client, cid, attachment=(PDF + b"0" * 2048, "big.pdf"))
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Review)) == 0


def test_a_review_needs_a_text(client, auth, make):
    cid = make.consultation("open")
    auth.login("reviewer@example.vn")
    assert post_review(client, cid, body="  ").status_code == 400


def test_only_reviewers_of_the_locality_add_reviews(app, client, auth, make):
    cid = make.consultation("open")
    for who in ("resident", "official", "moderator", "official_other"):
        auth.login(f"{who}@example.vn")
        assert post_review(client, cid).status_code == 403, who
        auth.logout()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Review)) == 0


def test_anonymous_is_sent_to_login(client, make):
    cid = make.consultation("open")
    response = post_review(client, cid)
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_no_review_once_concluded(app, client, auth, make):
    cid = make.consultation("concluded")
    auth.login("reviewer@example.vn")
    assert post_review(client, cid).status_code == 409
    assert 'name="body"' not in client.get(f"/consultations/{cid}/reviews").get_data(as_text=True)


def test_attachment_is_staff_only_until_the_record_is_published(app, client, auth, make):
    cid = make.consultation("open")
    auth.login("reviewer@example.vn")
    post_review(client, cid, attachment=(PDF, "pb.pdf"))
    with app.app_context():
        review_id = db.session.scalar(sa.select(Review.id))
    url = f"/reviews/{review_id}/attachment"

    def status() -> int:
        with client.get(url) as response:  # a file sent from disk stays open until closed
            return response.status_code

    assert status() == 200
    auth.logout()
    assert status() == 302
    auth.login("resident@example.vn")
    assert status() == 403
    auth.logout()
    set_status(app, cid, Status.concluded)
    assert status() == 200
    assert client.get("/reviews/999/attachment").status_code == 404
