"""Files in an S3-compatible store (STORAGE_URL=s3://BUCKET/PREFIX), against moto's S3 server
in its own process: attachments, reviews' PDFs, generated exports and the households' letters
go to the bucket and come back from it; nothing is left on the app server's disk."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from support import dispose, new_app

from consultations.models import Attachment, Review
from core.extensions import db
from households import letterjobs
from households.models import Household
from infra import storage, stores

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def bucket(s3):
    return s3.new_bucket()


@pytest.fixture
def app(database_url, tmp_path, bucket):
    app = new_app(database_url, tmp_path, STORAGE_URL=f"s3://{bucket}/site", EXPORT_INLINE_MAX=2)
    yield app
    dispose(app)


def _disk(app) -> list[Path]:
    folder = Path(app.config["UPLOAD_DIR"])
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_an_attachment_is_stored_in_the_bucket_and_served_from_it(
    app, client, auth, make, s3, bucket
):
    cid = make.consultation("open")
    auth.login("official@example.vn")
    response = client.post(
        f"/consultations/{cid}/attachments",
        data={"file": (io.BytesIO(PDF), "Bản đồ.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    with app.app_context():
        attachment = db.session.scalar(sa.select(Attachment))
        aid, name = attachment.id, attachment.stored_name
    assert s3.keys(bucket) == {f"site/{name}": PDF}
    assert _disk(app) == []  # nothing on this server's disk

    with app.test_client().get(f"/attachments/{aid}") as download:
        assert download.status_code == 200
        assert download.get_data() == PDF
        assert download.headers["Content-Length"] == str(len(PDF))
        assert download.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert download.headers["Content-Disposition"].startswith("attachment;")

    s3.client().delete_object(Bucket=bucket, Key=f"site/{name}")
    assert app.test_client().get(f"/attachments/{aid}").status_code == 404


def test_a_reviews_signed_pdf_goes_to_the_bucket(app, client, auth, make, s3, bucket):
    cid = make.consultation("open")
    auth.login("reviewer@example.vn")
    response = client.post(
        f"/consultations/{cid}/reviews",
        data={
            "body": "Ủy ban MTTQ đề nghị làm rõ Điều 3.",
            "attachment": (io.BytesIO(PDF), "a.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    with app.app_context():
        review = db.session.scalar(sa.select(Review))
        rid, name = review.id, review.attachment_stored
    assert s3.keys(bucket, "site/") == {f"site/{name}": PDF}
    with client.get(f"/reviews/{rid}/attachment") as download:
        assert download.status_code == 200
        assert download.mimetype == "application/pdf"
        assert download.get_data() == PDF


def test_an_export_made_by_the_job_is_kept_in_the_bucket(app, client, auth, make, s3, bucket):
    cid = make.consultation("closed")
    for i in range(3):  # more than EXPORT_INLINE_MAX: made by a job
        make.opinion(cid, body=f"Ý kiến số {i + 1} về việc lát lại vỉa hè.")
    auth.login("reviewer@example.vn")
    url = f"/consultations/{cid}/export.csv"
    response = client.get(url)
    if response.mimetype == "text/html":  # the progress page, then the file
        response = client.get(url)
    with response:
        body = response.get_data()
    assert response.mimetype == "text/csv"
    assert "Ý kiến số 3 về việc lát lại vỉa hè.".encode() in body
    [key] = list(s3.keys(bucket, "site/exports/"))
    assert key.endswith(".csv")
    assert s3.keys(bucket, "site/exports/")[key] == body
    assert response.headers["Content-Length"] == str(len(body))
    assert _disk(app) == []


def test_letters_pass_through_the_bucket_and_leave_it_once_taken(
    app, client, auth, world, s3, bucket
):
    with app.app_context():
        db.session.add(
            Household(locality_id=world.village_ids[0], code="H001", representative_name="A")
        )
        db.session.commit()
    auth.login(world.email("official"))
    response = client.post("/households/letters", data={"village": "00004-T1"})
    assert response.status_code == 303
    token = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    assert set(s3.keys(bucket, "site/letters/")) == {
        f"site/letters/{token}.json",
        f"site/letters/{token}.pdf",
    }
    pdf = client.get(response.headers["Location"] + ".pdf")
    assert pdf.status_code == 200
    assert pdf.data.startswith(b"%PDF")
    assert s3.keys(bucket, "site/letters/") == {}  # it holds the keys: deleted once taken


def test_the_sweep_lists_the_bucket(app, s3, bucket):
    with app.app_context():
        storage.put("a" * 32 + ".json", b"{}", folder=letterjobs.FOLDER)
        assert letterjobs.sweep(now=time.time()) == 0
        assert letterjobs.sweep(now=time.time() + letterjobs.TTL + 60) == 1
    assert s3.keys(bucket) == {}


def test_a_storage_url_without_a_bucket_is_refused(app):
    app.config["STORAGE_URL"] = "s3:///prefix"
    with app.app_context(), pytest.raises(RuntimeError, match="needs a bucket"):
        stores.store()
    app.config["STORAGE_URL"] = "ftp://example/x"
    with app.app_context(), pytest.raises(RuntimeError, match="must be s3://"):
        stores.store()


def test_backup_copies_the_stored_uploads_out_of_the_bucket(app, runner, s3, bucket, tmp_path):
    with app.app_context():
        first = storage.save(_upload(PDF, "a.pdf"))
        storage.write_generated("exports", "csv", lambda out: out.write(b"x"))  # left out
    output = tmp_path / "backups" / "gopy.sqlite"
    result = runner.invoke(args=["backup", "--output", str(output)])
    assert result.exit_code == 0, result.output
    folder = output.with_name("gopy.sqlite.files")
    assert [p.name for p in folder.iterdir()] == [first.stored_name]
    assert (folder / first.stored_name).read_bytes() == PDF
    assert "1 copied, 1 in all" in result.output

    with app.app_context():
        second = storage.save(_upload(b"\x89PNG\r\n\x1a\n" + b"0" * 20, "b.png"))
    again = runner.invoke(args=["backup", "--output", str(output)])
    assert "1 copied, 2 in all" in again.output  # only what the folder lacked
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [first.stored_name, second.stored_name]
    )


def _upload(data: bytes, name: str):
    from werkzeug.datastructures import FileStorage

    return FileStorage(stream=io.BytesIO(data), filename=name)
