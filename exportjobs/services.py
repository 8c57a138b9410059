"""Exports made by a job: find or start the one job for a file, run it, expire its file.

The rule of which exports are made this way is ``consultations.exports.runs_as_job``. One row
of ``export_job`` per (consultation, format, audience) — a unique constraint — so a double click
or two staff members asking at once find the same job. Every write here is a short transaction
of its own (``db.engine.begin()``), committed before the job is enqueued: the claim must be
seen by the other web workers and by the worker at once, whatever the request does after, and
a compare-and-set on ``attempt`` lets only one request restart a job. A run of an older
attempt (a job enqueued twice, a worker killed and its job run again) changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, func, insert, select
from sqlalchemy.exc import IntegrityError

from audit.models import AuditEvent
from consultations.models import Consultation, Opinion, Record, Response, Review
from core.extensions import db
from core.timeutil import utcnow
from exportjobs.jobs import FOLDER, build_export, set_if
from exportjobs.models import DONE, FAILED, INTERNAL, QUEUED, ExportJob
from infra import storage


def find(consultation_id: int, fmt: str, audience: str = INTERNAL) -> ExportJob | None:
    """The job of this file, read afresh from the database."""
    return db.session.scalars(
        select(ExportJob)
        .where(
            ExportJob.consultation_id == consultation_id,
            ExportJob.format == fmt,
            ExportJob.audience == audience,
        )
        .execution_options(populate_existing=True)
    ).first()


def last_change(consultation_id: int) -> datetime | None:
    """When the data an export holds last changed: the consultation, its opinions (posted,
    edited, withdrawn, hidden), answers, formal reviews and record."""
    o = Opinion
    times = list(
        db.session.execute(
            select(
                func.max(o.created_at),
                func.max(o.edited_at),
                func.max(o.withdrawn_at),
                func.max(o.hidden_at),
            ).where(o.consultation_id == consultation_id)
        ).one()
    )
    times.append(db.session.get(Consultation, consultation_id).updated_at)
    for column, key in (
        (Response.updated_at, Response.consultation_id),
        (Review.created_at, Review.consultation_id),
        (Record.published_at, Record.consultation_id),
    ):
        times.append(db.session.scalar(select(func.max(column)).where(key == consultation_id)))
    known = [t for t in times if t is not None]
    return max(known) if known else None


def _changed_since(consultation_id: int, since: datetime) -> bool:
    """A restore clears hidden_at: the audit trail says when an opinion changed that way."""
    if (changed := last_change(consultation_id)) is not None and changed >= since:
        return True
    opinions = select(Opinion.id).where(Opinion.consultation_id == consultation_id)
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    AuditEvent.at >= since,
                    AuditEvent.object_type == "opinion",
                    AuditEvent.object_id.in_(opinions),
                )
            )
        )
    )


def is_current(job: ExportJob) -> bool:
    """Done, not expired, its file still there, and nothing changed since it began reading."""
    if job.status != DONE or not job.stored_name or job.started_at is None:
        return False
    if job.expires_at is None or job.expires_at <= utcnow():
        return False
    if not storage.exists(job.stored_name, folder=FOLDER):
        return False
    return not _changed_since(job.consultation_id, job.started_at)


def request_export(c: Consultation, fmt: str, *, by, audience: str = INTERNAL) -> ExportJob:
    """The job making this file: the current one, or one started now (once, however many ask
    at the same time). A failed job stays failed until someone asks to :func:`retry` it."""
    job = find(c.id, fmt, audience)
    if job is None:
        _start(c, fmt, audience, by)
    elif job.status == DONE and not is_current(job):
        _restart(job, by=by, expected=(DONE,))
    return find(c.id, fmt, audience)


def retry(job: ExportJob, *, by) -> bool:
    """Start a failed job again; whether this call did (a second click finds it queued)."""
    return _restart(job, by=by, expected=(FAILED,))


def _start(c: Consultation, fmt: str, audience: str, by) -> None:
    now = utcnow()
    try:
        with db.engine.begin() as conn:
            job_id = conn.execute(
                insert(ExportJob).values(
                    consultation_id=c.id,
                    format=fmt,
                    audience=audience,
                    requested_by_id=getattr(by, "id", None),
                    status=QUEUED,
                    attempt=1,
                    done=0,
                    total=c.opinion_count or 0,
                    created_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key[0]
    except IntegrityError:
        return  # another request claimed it first: its job is the one
    build_export(job_id, 1)


def _restart(job: ExportJob, *, by, expected: tuple[str, ...]) -> bool:
    now = utcnow()
    old_file = job.stored_name
    total = db.session.scalar(
        select(Consultation.opinion_count).where(Consultation.id == job.consultation_id)
    )
    if not set_if(
        job.id,
        job.attempt,
        when=expected,
        status=QUEUED,
        attempt=job.attempt + 1,
        requested_by_id=getattr(by, "id", None),
        done=0,
        total=total or 0,
        stored_name=None,
        size=None,
        error=None,
        created_at=now,
        updated_at=now,
        started_at=None,
        finished_at=None,
        expires_at=None,
    ):
        return False
    if old_file:
        storage.delete(old_file, folder=FOLDER)
    build_export(job.id, job.attempt + 1)
    return True
