"""The background side of exportjobs: the job that writes an export into storage, reporting
its progress as it goes, and the periodic sweep that deletes expired files and picks up jobs a
dead worker or a lost queue left behind (infra/queue.py)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import delete, or_, select, update

from consultations import exports
from core.extensions import db
from core.timeutil import utcnow
from exportjobs.models import DONE, FAILED, QUEUED, RUNNING, ExportJob
from infra import queue, storage

log = logging.getLogger("gopy.exportjobs")

#: The subfolder of UPLOAD_DIR the files are written to (infra.storage).
FOLDER = "exports"
#: A running job without progress for this long has lost its worker: it is marked failed
#: (the PDF reports only at its end, and 100,000 opinions take WeasyPrint long).
STALLED_AFTER = timedelta(hours=1)
#: A queued job not started after this long was lost by the queue's store: enqueued again.
LOST_AFTER = timedelta(minutes=10)
#: Shown (under a polite message) when the worker stopped in the middle of a job.
STALLED_ERROR = "The worker stopped before the file was finished."


def ttl() -> timedelta:
    return timedelta(hours=float(current_app.config["EXPORT_TTL_HOURS"]))


def set_if(job_id: int, current: int, /, *, when: str | tuple[str, ...], **values) -> bool:
    """Update the job, in a short transaction of its own, if it is still at attempt
    ``current`` and in a status of ``when``; whether it was."""
    statuses = (when,) if isinstance(when, str) else when
    with db.engine.begin() as conn:
        result = conn.execute(
            update(ExportJob)
            .where(
                ExportJob.id == job_id,
                ExportJob.attempt == current,
                ExportJob.status.in_(statuses),
            )
            .values(**values)
        )
        return result.rowcount == 1


@queue.task(retries=0)
def build_export(job_id: int, attempt: int) -> None:
    """Write the export of ``job_id`` into storage (a run of an older attempt does nothing)."""
    run(job_id, attempt)


def run(job_id: int, attempt: int) -> None:
    now = utcnow()
    if not set_if(job_id, attempt, when=QUEUED, status=RUNNING, started_at=now, updated_at=now):
        return  # running elsewhere, restarted since, or deleted
    job = db.session.get(ExportJob, job_id, populate_existing=True)
    consultation_id, fmt = job.consultation_id, job.format
    written = [0]

    def progress(n: int) -> None:
        written[0] = n
        set_if(job_id, attempt, when=RUNNING, done=n, updated_at=utcnow())

    def write(fh) -> None:
        exports.write_export(consultation_id, fmt, fh, progress)

    try:
        # Every staff member gets the same file: in the site's language, not the asker's.
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            stored_name, size = storage.write_generated(FOLDER, fmt, write)
    except Exception as exc:  # any failure is the job's, shown on its page with a retry
        log.exception("export job %s (%s) failed", job_id, fmt)
        set_if(
            job_id,
            attempt,
            when=RUNNING,
            status=FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=utcnow(),
            updated_at=utcnow(),
        )
        return
    finished = utcnow()
    # The PDF is rendered whole and reports nothing on the way; the others count their rows.
    done = job.total if fmt == "pdf" else written[0]
    if not set_if(
        job_id,
        attempt,
        when=RUNNING,
        status=DONE,
        stored_name=stored_name,
        size=size,
        done=done,
        total=done,
        error=None,
        finished_at=finished,
        expires_at=finished + ttl(),
        updated_at=finished,
    ):
        storage.delete(stored_name, folder=FOLDER)  # superseded while it ran


def expire(now: datetime | None = None) -> int:
    """Delete expired files and their rows (and failed jobs as old), fail jobs whose worker
    died, enqueue again jobs the queue lost; returns how many rows were deleted."""
    now = now or utcnow()
    old = db.session.execute(
        select(ExportJob.id, ExportJob.attempt, ExportJob.stored_name).where(
            or_(
                (ExportJob.status == DONE) & (ExportJob.expires_at <= now),
                (ExportJob.status == FAILED) & (ExportJob.updated_at <= now - ttl()),
            )
        )
    ).all()
    deleted = 0
    for job_id, attempt, stored_name in old:
        with db.engine.begin() as conn:
            gone = conn.execute(
                delete(ExportJob).where(ExportJob.id == job_id, ExportJob.attempt == attempt)
            ).rowcount
        if gone:
            deleted += 1
            if stored_name:
                storage.delete(stored_name, folder=FOLDER)
    with db.engine.begin() as conn:
        conn.execute(
            update(ExportJob)
            .where(ExportJob.status == RUNNING, ExportJob.updated_at <= now - STALLED_AFTER)
            .values(status=FAILED, error=STALLED_ERROR, finished_at=now, updated_at=now)
        )
    lost = db.session.execute(
        select(ExportJob.id, ExportJob.attempt).where(
            ExportJob.status == QUEUED, ExportJob.updated_at <= now - LOST_AFTER
        )
    ).all()
    for job_id, attempt in lost:
        if set_if(job_id, attempt, when=QUEUED, updated_at=now):
            build_export(job_id, attempt)
    return deleted


@queue.periodic(queue.crontab(minute="*/10"))
def expire_exports() -> None:
    """Delete the export files that have expired (every ten minutes)."""
    expire()
