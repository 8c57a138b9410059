"""The ballots of a large community, made by a job of the worker (infra/queue.py).

WeasyPrint sets a ballot in a fraction of a second, so a commune of thousands of households
is no work for a request: above ``BALLOTS_INLINE_MAX`` households the file is made in the
background, a hundred ballots at a time (the progress the page shows), and kept in storage
as the exports are. The job is a row of ``export_job`` of format ``ballots`` (exportjobs/):
one per consultation, claimed and advanced by the same compare-and-set (``set_if``), its file
expired by the same sweep. The numbers are given in the request, before the job starts
(decisions/ballots.py), so the file holds exactly the ballots numbered then.
"""

from __future__ import annotations

import io

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from consultations import queries
from consultations.models import Consultation
from consultations.pdf import render_pdf
from core.extensions import db
from core.timeutil import utcnow
from decisions import ballots
from decisions.models import Ballot
from exportjobs.jobs import FOLDER, set_if, ttl
from exportjobs.models import DONE, FAILED, INTERNAL, QUEUED, RUNNING, ExportJob
from households.models import Household
from households.queries import in_community
from infra import queue, storage

#: The ``format`` of the ballots' job in ``export_job``.
FORMAT = "ballots"
#: Ballots set by WeasyPrint at a time: the job reports its progress after each batch.
BATCH = 100


def inline_max() -> int:
    """Up to this many households the ballots are made in the request: WeasyPrint sets one in
    about 0.12 s on the 2-core server (200 took 23 to 26 s, too long for a request; 50, 6 s)."""
    return int(current_app.config["BALLOTS_INLINE_MAX"])


def find(consultation_id: int) -> ExportJob | None:
    return db.session.scalars(
        select(ExportJob)
        .where(
            ExportJob.consultation_id == consultation_id,
            ExportJob.format == FORMAT,
            ExportJob.audience == INTERNAL,
        )
        .execution_options(populate_existing=True)
    ).first()


def is_current(job: ExportJob, c: Consultation) -> bool:
    """Done, not expired, its file there, and no ballot numbered nor household changed since."""
    if job.status != DONE or not job.stored_name or job.started_at is None:
        return False
    if job.expires_at is None or job.expires_at <= utcnow():
        return False
    if not storage.exists(job.stored_name, folder=FOLDER):
        return False
    numbered = db.session.scalar(
        select(func.max(Ballot.printed_at)).where(Ballot.consultation_id == c.id)
    )
    changed = db.session.scalar(
        select(func.max(Household.updated_at)).where(in_community(c.locality_id))
    )
    times = [t for t in (numbered, changed, c.updated_at) if t is not None]
    return all(t < job.started_at for t in times)


def request_ballots(c: Consultation, *, by, total: int) -> ExportJob | None:
    """The job making the ballots of ``c``: the current one, or one started now (once, however
    many ask at the same time). Call it after the numbers are committed."""
    job = find(c.id)
    if job is None:
        _start(c, by, total)
    elif job.status == DONE and not is_current(job, c):
        _restart(job, by=by, total=total, expected=(DONE,))
    return find(c.id)


def retry(job: ExportJob, *, by, total: int) -> bool:
    return _restart(job, by=by, total=total, expected=(FAILED,))


def _start(c: Consultation, by, total: int) -> None:
    now = utcnow()
    try:
        with db.engine.begin() as conn:
            job_id = conn.execute(
                insert(ExportJob).values(
                    consultation_id=c.id,
                    format=FORMAT,
                    audience=INTERNAL,
                    requested_by_id=getattr(by, "id", None),
                    status=QUEUED,
                    attempt=1,
                    done=0,
                    total=total,
                    created_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key[0]
    except IntegrityError:
        return  # another request claimed it first: its job is the one
    build_ballots(job_id, 1)


def _restart(job: ExportJob, *, by, total: int, expected: tuple[str, ...]) -> bool:
    now, old_file = utcnow(), job.stored_name
    if not set_if(
        job.id,
        job.attempt,
        when=expected,
        status=QUEUED,
        attempt=job.attempt + 1,
        requested_by_id=getattr(by, "id", None),
        done=0,
        total=total,
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
    build_ballots(job.id, job.attempt + 1)
    return True


@queue.task(retries=0)
def build_ballots(job_id: int, attempt: int) -> None:
    """Write the numbered ballots of ``job_id``'s consultation into storage."""
    run(job_id, attempt)


def run(job_id: int, attempt: int) -> None:
    from pypdf import PdfReader, PdfWriter  # lazy: only the worker's large ballots need it

    now = utcnow()
    if not set_if(job_id, attempt, when=QUEUED, status=RUNNING, started_at=now, updated_at=now):
        return  # running elsewhere, restarted since, or deleted
    job = db.session.get(ExportJob, job_id, populate_existing=True)
    c = queries.load_consultation(job.consultation_id, attachments=False)
    rows = ballots.community_ballots(c)

    def write(fh) -> None:
        writer = PdfWriter()
        for start in range(0, len(rows), BATCH):
            pdf = render_pdf(ballots.ballots_html(c, rows[start : start + BATCH]))
            writer.append(PdfReader(io.BytesIO(pdf)))
            done = min(start + BATCH, len(rows))
            set_if(job_id, attempt, when=RUNNING, done=done, updated_at=utcnow())
        writer.write(fh)

    try:
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            stored_name, size = storage.write_generated(FOLDER, "pdf", write)
    except Exception as exc:  # any failure is the job's, shown on its page with a retry
        current_app.logger.exception("ballots job %s failed", job_id)
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
    if not set_if(
        job_id,
        attempt,
        when=RUNNING,
        status=DONE,
        stored_name=stored_name,
        size=size,
        done=len(rows),
        total=len(rows),
        finished_at=finished,
        expires_at=finished + ttl(),
        updated_at=finished,
    ):
        storage.delete(stored_name, folder=FOLDER)  # superseded while it ran
