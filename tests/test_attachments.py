"""Documents attached to a draft: checked by content, downloaded as attachments."""

import io

import sqlalchemy as sa

from consultations.models import Attachment
from core.extensions import db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _login(auth, who="official"):
    auth.login(f"{who}@example.vn")


def test_official_attaches_a_pdf_and_anyone_downloads_it(app, client, auth, make):
    cid = make.consultation("open")
    _login(auth)
    response = client.post(
        f"/consultations/{cid}/attachments",
        data={"file": (io.BytesIO(PDF), "Bản đồ quy hoạch.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    with app.app_context():
        attachment = db.session.scalar(sa.select(Attachment))
        assert attachment.consultation_id == cid
        assert attachment.content_type == "application/pdf"
        aid = attachment.id
    page = client.get(f"/consultations/{cid}").get_data(as_text=True)
    assert f"/attachments/{aid}" in page
    auth.logout()
    download = app.test_client().get(f"/attachments/{aid}")
    try:
        assert download.status_code == 200
        assert download.data == PDF
        assert download.headers["Content-Disposition"].startswith("attachment;")
    finally:
        download.close()


def test_a_file_that_is_not_what_it_claims_is_refused(app, client, auth, make):
    cid = make.consultation("draft")
    _login(auth)
    response = client.post(
        f"/consultations/{cid}/attachments",
        data={"file": (io.BytesIO(b"<script>alert(1)</script>"), "plan.pdf")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert response.status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0


def test_only_the_locality_officials_attach_and_drafts_stay_hidden(app, client, auth, make):
    cid = make.consultation("draft")
    _login(auth, "resident")
    data = {"file": (io.BytesIO(PDF), "a.pdf")}
    assert (
        client.post(
            f"/consultations/{cid}/attachments", data=data, content_type="multipart/form-data"
        ).status_code
        == 404
    )
    open_id = make.consultation("open")
    data = {"file": (io.BytesIO(PDF), "a.pdf")}
    assert (
        client.post(
            f"/consultations/{open_id}/attachments", data=data, content_type="multipart/form-data"
        ).status_code
        == 403
    )


def test_closed_consultations_take_no_new_files(app, client, auth, make):
    cid = make.consultation("closed")
    _login(auth)
    data = {"file": (io.BytesIO(PDF), "a.pdf")}
    assert (
        client.post(
            f"/consultations/{cid}/attachments", data=data, content_type="multipart/form-data"
        ).status_code
        == 409
    )
