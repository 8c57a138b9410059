"""The page of an export being made (progress, then the file), its retry, and the progress
as JSON for the page's script. The download itself keeps its address
(``/consultations/<id>/export.<fmt>``, records/views.py), which hands over to :func:`respond`."""

from __future__ import annotations

from flask import jsonify, redirect, render_template, url_for
from flask_babel import ngettext
from flask_login import current_user

from auth import permissions as can
from consultations import exports
from consultations.models import Consultation
from core.templating import number
from core.web import acting_user, download, get_or_404, login_required, refuse
from exportjobs import bp, services
from exportjobs.jobs import FOLDER
from exportjobs.models import DONE, FAILED, ExportJob
from infra import storage

FORMATS = "<any(csv, xlsx, json, docx, pdf):fmt>"
#: Seconds between reloads of the progress page without JavaScript.
REFRESH_SECONDS = 3


def respond(c: Consultation, fmt: str, *, filename: str):
    """The export made by a job: the file once it is ready, else the page of its progress
    (the caller has checked that the user may export ``c``)."""
    job = services.request_export(c, fmt, by=acting_user())
    if job is None or job.status != DONE:
        return _page(c, fmt, job)
    response = download(
        storage.chunks(job.stored_name, folder=FOLDER),
        filename=filename,
        content_type=exports.CONTENT_TYPES[fmt],
        public=False,
    )
    response.headers["Content-Length"] = str(job.size)
    # A stored file is never run as a page of this site (as infra.storage.send does).
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _count_text(job: ExportJob | None) -> str:
    done, total = (job.done, job.total) if job is not None else (0, 0)
    return ngettext(
        "%(done)s of %(total)s opinion written",
        "%(done)s of %(total)s opinions written",
        total,
        done=number(done),
        total=number(total),
    )


def _page(c: Consultation, fmt: str, job: ExportJob | None):
    download_url = url_for("records.export", consultation_id=c.id, fmt=fmt)
    return render_template(
        "exportjobs/progress.html",
        c=c,
        fmt=fmt,
        job=job,
        failed=job is not None and job.status == FAILED,
        count_text=_count_text(job),
        download_url=download_url,
        status_url=url_for("exportjobs.progress", consultation_id=c.id, fmt=fmt),
        refresh=REFRESH_SECONDS,
    )


def _exportable(consultation_id: int) -> Consultation:
    c = get_or_404(Consultation, consultation_id)
    if not can.can_view_consultation(current_user, c):
        refuse(404)  # a draft is hidden as on its public page
    if not can.can_export(current_user, c):
        refuse(403)
    return c


def _consultation_url(consultation_id: int, fmt: str) -> str:
    return url_for("consultations.show", consultation_id=consultation_id)


@bp.post(f"/consultations/<int:consultation_id>/export.{FORMATS}/retry")
@login_required(back_to=_consultation_url)
def retry(consultation_id: int, fmt: str):
    """Try again to make an export whose job failed."""
    c = _exportable(consultation_id)
    job = services.find(c.id, fmt)
    if job is not None and job.status == FAILED:
        services.retry(job, by=acting_user())
    return redirect(url_for("records.export", consultation_id=c.id, fmt=fmt), 303)


@bp.get(f"/consultations/<int:consultation_id>/exports/{FORMATS}/progress")
@login_required
def progress(consultation_id: int, fmt: str):
    """Report how far the job making an export has got (read by the progress page's script)."""
    c = _exportable(consultation_id)
    job = services.find(c.id, fmt)
    response = jsonify(
        status=job.status if job is not None else "none",
        done=job.done if job is not None else 0,
        total=job.total if job is not None else 0,
        text=_count_text(job),
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
