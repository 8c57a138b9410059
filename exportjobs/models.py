"""One export made in the background: which file, how far along, where it is stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consultations.models import Consultation
from core.extensions import db
from core.timeutil import UTCDateTime, utcnow

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATUSES = (QUEUED, RUNNING, DONE, FAILED)
#: The staff's full list of opinions (every staff member of the locality gets the same file),
#: or a public document.
INTERNAL, PUBLIC = "internal", "public"


class ExportJob(db.Model):
    __tablename__ = "export_job"
    __table_args__ = (
        # One file per (consultation, format, audience): a double click, or two staff members
        # asking at once, find the same row instead of starting a second job.
        UniqueConstraint(
            "consultation_id", "format", "audience", name="uq_export_job_consultation_id"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id", ondelete="CASCADE"))
    #: csv, xlsx, json, docx or pdf.
    format: Mapped[str] = mapped_column(String(8))
    #: INTERNAL or PUBLIC.
    audience: Mapped[str] = mapped_column(String(16), default=INTERNAL)
    #: Who asked first for this run (null once their account is deleted).
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    #: queued -> running -> done | failed; a retry or a stale file starts it again.
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    #: Bumped each time the job is (re)started: a run of an older attempt changes nothing.
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    #: Opinions written so far, of ``total``.
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    #: The file under UPLOAD_DIR/exports/ (infra.storage), once done.
    stored_name: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    #: Why the last run failed (for the staff and the log; shown under a polite message).
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Last progress written (a running job whose heartbeat stops has lost its worker).
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When the run began reading the data: the file holds every change made before it.
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The file is deleted after this (EXPORT_TTL_HOURS after it was made).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    consultation: Mapped[Consultation] = relationship()

    @property
    def percent(self) -> int:
        if self.status == DONE:
            return 100
        return min(100, round(100 * self.done / self.total)) if self.total else 0
