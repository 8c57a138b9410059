"""Heavy exports leave the web workers (issue 14): the PDF export, and exports of more than
EXPORT_INLINE_MAX opinions, are made by a job into storage. The download's address stays; it
answers with a progress page until the file is ready, then with the file.

These tests run the real queue: Huey on a SQLite store under tmp_path, its jobs done by
``queue.run_due()`` (what ``worker --burst`` does). EXPORT_INLINE_MAX is 5 here, so six
opinions make a "large" export."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from support import PASSWORD, Client, dispose, new_app

from consultations import exports
from core.extensions import db
from core.timeutil import utcnow
from exportjobs import jobs
from exportjobs.models import DONE, FAILED, QUEUED, RUNNING, ExportJob
from infra import queue

INLINE_MAX = 5


@pytest.fixture
def app(database_url, tmp_path):
    """The suite's app, with a real queue store instead of the immediate mode."""
    app = new_app(
        database_url,
        tmp_path,
        QUEUE_IMMEDIATE=False,
        QUEUE_URL=f"sqlite:///{tmp_path / 'queue.sqlite'}",
        EXPORT_INLINE_MAX=INLINE_MAX,
    )
    yield app
    dispose(app)


@pytest.fixture
def consultation(app, make):
    """A closed consultation with two opinions (small: only its PDF is a job)."""
    cid = make.consultation("closed")
    make.opinion(cid, body="Đồng ý mở rộng ngõ lên 4 mét.")
    make.opinion(cid, body="Đề nghị giữ nguyên hiện trạng.", stance="disagree")
    return cid


@pytest.fixture
def large(app, make):
    """A consultation with more opinions than EXPORT_INLINE_MAX."""
    cid = make.consultation("open")
    for i in range(INLINE_MAX + 1):
        make.opinion(cid, body=f"Ý kiến số {i + 1} về việc lát lại vỉa hè.")
    return cid


def _jobs(app) -> list[ExportJob]:
    with app.app_context():
        rows = db.session.scalars(sa.select(ExportJob).order_by(ExportJob.id)).all()
        db.session.expunge_all()
        return rows


def _fetch(client, url: str):
    """GET ``url`` and read it in full, closing the file a download holds open."""
    with client.get(url) as response:
        response.get_data()
        return response


def _pending_exports() -> int:
    """Export jobs waiting in the queue (the mail of the opinions posted waits there too)."""
    return sum(1 for task in queue.huey.pending() if task.name == jobs.build_export.name)


def _is_progress_page(response) -> bool:
    html = response.get_data(as_text=True)
    return (
        response.status_code == 200
        and response.mimetype == "text/html"
        and re.search(r"<progress[^>]*max=\"\d+\"[^>]*value=\"\d+\"", html) is not None
        and re.search(r'<meta http-equiv="refresh" content="[23]">', html) is not None
    )


def _fonts(pdf: bytes, tmp_path) -> list[str]:
    path = tmp_path / "job.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdffonts", str(path)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return [line.split()[0] for line in out.splitlines()[2:]]


def test_the_pdf_export_is_a_job_then_the_file_in_the_shipped_typeface(
    app, client, auth, consultation, tmp_path
):
    auth.login("reviewer@example.vn")
    url = f"/consultations/{consultation}/export.pdf"
    first = client.get(url)
    assert _is_progress_page(first)
    assert "Preparing the file…" in first.get_data(as_text=True)
    assert client.get(url).status_code == 200  # asked again while queued: the same job
    [job] = _jobs(app)
    assert (job.format, job.audience, job.status) == ("pdf", "internal", QUEUED)
    assert _pending_exports() == 1

    assert queue.run_due() >= 1
    [job] = _jobs(app)
    assert job.status == DONE
    assert job.size > 0
    assert job.expires_at - job.finished_at == timedelta(hours=24)
    assert (_exports_dir(app) / job.stored_name).exists()

    pdf = _fetch(client, url)
    assert pdf.status_code == 200
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith("attachment")
    assert pdf.headers["Cache-Control"] == "private, no-store"
    body = pdf.get_data()
    assert body.startswith(b"%PDF-")
    fonts = _fonts(body, tmp_path)
    assert fonts
    assert all(re.fullmatch(r"[A-Z]{6}\+Gopy-Serif(-Bold)?(-Italic)?", f) for f in fonts), fonts


def test_the_progress_page_speaks_vietnamese(app, client, auth, consultation):
    auth.login("reviewer@example.vn")
    client.set_cookie("lang", "vi")
    html = client.get(f"/consultations/{consultation}/export.pdf").get_data(as_text=True)
    assert "Đang chuẩn bị tệp…" in html
    assert '<html lang="vi">' in html


def test_a_large_export_goes_through_the_job_and_small_ones_stay_inline(
    app, client, auth, make, large, runner, tmp_path
):
    auth.login("moderator@example.vn")
    small = make.consultation("open")
    make.opinion(small)
    inline = client.get(f"/consultations/{small}/export.csv")
    assert inline.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert _jobs(app) == []  # streamed as before

    url = f"/consultations/{large}/export.csv"
    page = client.get(url)
    assert _is_progress_page(page)
    assert "0 of 6 opinions written" in page.get_data(as_text=True)
    status = client.get(f"/consultations/{large}/exports/csv/progress").get_json()
    assert status == {"status": "queued", "done": 0, "total": 6, "text": "0 of 6 opinions written"}

    assert queue.run_due() >= 1
    response = _fetch(client, url)
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    data = response.get_data()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == exports.COLUMNS
    assert len(rows) == 1 + INLINE_MAX + 1
    assert client.get(f"/consultations/{large}/exports/csv/progress").get_json()["done"] == 6

    # The command still writes the file itself, the same bytes, and starts no job.
    out = tmp_path / "out.csv"
    result = runner.invoke(args=["export", str(large), "--format", "csv", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == data
    assert len(_jobs(app)) == 1
    assert _pending_exports() == 0


def test_a_finished_file_is_reused_until_the_consultation_changes(app, client, auth, make, large):
    auth.login("official@example.vn")
    url = f"/consultations/{large}/export.xlsx"
    client.get(url)
    queue.run_due()
    assert _fetch(client, url).mimetype == exports.MIMETYPES["xlsx"]
    [job] = _jobs(app)
    # Another staff member, later: the same file, no new job.
    auth.logout()
    auth.login("reviewer@example.vn")
    assert _fetch(client, url).mimetype == exports.MIMETYPES["xlsx"]
    assert _pending_exports() == 0
    assert _jobs(app)[0].stored_name == job.stored_name

    make.opinion(large, body="Một ý kiến mới sau khi tệp đã được tạo.")
    assert _is_progress_page(client.get(url))
    [again] = _jobs(app)
    assert (again.id, again.attempt, again.status) == (job.id, 2, QUEUED)
    assert not (_exports_dir(app) / job.stored_name).exists()
    queue.run_due()
    assert _jobs(app)[0].done == INLINE_MAX + 2


def _concurrent_gets(app, world, url: str, who: list[str]) -> list[int]:
    """GET ``url`` from one client per user, all released at the same moment."""
    clients = []
    for role in who:
        c = app.test_client()
        assert isinstance(c, Client)
        c.post("/auth/login", data={"email": world.email(role), "password": PASSWORD})
        clients.append(c)
    barrier = threading.Barrier(len(clients))
    codes: list[int] = []
    errors: list[BaseException] = []

    def get(c):
        try:
            barrier.wait(timeout=10)
            codes.append(c.get(url).status_code)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=get, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    return codes


@pytest.mark.postgres
def test_concurrent_requests_start_one_job(app, world, consultation):
    who = ["reviewer", "moderator", "official", "reviewer", "moderator", "official"]
    codes = _concurrent_gets(app, world, f"/consultations/{consultation}/export.pdf", who)
    assert codes == [200] * len(who)
    assert len(_jobs(app)) == 1
    assert _pending_exports() == 1


@pytest.mark.postgres
def test_concurrent_requests_restart_a_stale_file_once(app, world, make, large):
    url = f"/consultations/{large}/export.json"
    _concurrent_gets(app, world, url, ["reviewer"])
    queue.run_due()
    make.opinion(large, body="Ý kiến mới: tệp cũ không còn đúng.")
    _concurrent_gets(app, world, url, ["reviewer", "moderator", "official", "reviewer"])
    [job] = _jobs(app)
    assert (job.attempt, job.status) == (2, QUEUED)
    assert _pending_exports() == 1


def test_an_expired_file_is_deleted_with_its_row(app, client, auth, consultation, large):
    auth.login("reviewer@example.vn")
    client.get(f"/consultations/{consultation}/export.pdf")
    client.get(f"/consultations/{large}/export.docx")
    queue.run_due()
    old, kept = _jobs(app)
    with app.app_context():
        db.session.execute(
            sa.update(ExportJob)
            .where(ExportJob.id == old.id)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        db.session.commit()
    queue.run_due()  # the periodic sweep runs with every burst
    assert [j.id for j in _jobs(app)] == [kept.id]
    assert not (_exports_dir(app) / old.stored_name).exists()
    assert (_exports_dir(app) / kept.stored_name).exists()
    # Asked again: a new job, not a missing file.
    assert _is_progress_page(client.get(f"/consultations/{consultation}/export.pdf"))


def test_a_failed_job_shows_its_error_and_can_be_retried(app, client, auth, large, monkeypatch):
    auth.login("reviewer@example.vn")
    url = f"/consultations/{large}/export.docx"
    client.get(url)

    def broken(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(exports, "write_export", broken)
    queue.run_due()
    [job] = _jobs(app)
    assert job.status == FAILED
    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "an error stopped the file" in html
    assert "No space left on device" in html
    assert 'http-equiv="refresh"' not in html  # nothing to wait for
    retry = f"/consultations/{large}/export.docx/retry"
    assert f'action="{retry}"' in html
    assert not list(_exports_dir(app).glob("*.partial"))  # nothing half-written left

    monkeypatch.undo()
    answer = client.post(retry)
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(url)
    assert client.post(retry).status_code == 303  # a second click starts nothing more
    assert _pending_exports() == 1
    queue.run_due()
    done = _fetch(client, url)
    assert done.mimetype == exports.MIMETYPES["docx"]


def _exports_dir(app) -> Path:
    return Path(app.config["UPLOAD_DIR"]) / jobs.FOLDER


def test_a_job_whose_worker_died_is_failed_by_the_sweep(app, client, auth, large):
    auth.login("reviewer@example.vn")
    client.get(f"/consultations/{large}/export.csv")
    with app.app_context():
        db.session.execute(
            sa.update(ExportJob).values(
                status=RUNNING, updated_at=utcnow() - jobs.STALLED_AFTER - timedelta(minutes=1)
            )
        )
        db.session.commit()
        queue.huey.flush()  # the worker took the job off the queue, then was killed
        jobs.expire()
    [job] = _jobs(app)
    assert (job.status, job.error) == (FAILED, jobs.STALLED_ERROR)


@pytest.mark.parametrize("who", ["resident", "official_other", "admin"])
def test_only_the_localitys_staff_reach_the_job(app, client, auth, world, large, who):
    auth.login(world.email(who))
    assert client.get(f"/consultations/{large}/export.pdf").status_code == 403
    assert client.get(f"/consultations/{large}/export.csv").status_code == 403
    assert client.get(f"/consultations/{large}/exports/csv/progress").status_code == 403
    assert client.post(f"/consultations/{large}/export.csv/retry").status_code == 403
    assert _jobs(app) == []


def test_visitors_are_asked_to_log_in(app, client, large):
    response = client.get(f"/consultations/{large}/export.pdf")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]
    assert _jobs(app) == []
