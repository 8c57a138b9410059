"""Consultations, their draft text, and the opinions on them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    case,
    false,
    literal,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auth.models import User
from consultations.authors import public_author, staff_author
from consultations.enums import Category, Channel, Kind, OpinionStatus, Outcome, Stance, Status
from core.extensions import db
from core.timeutil import UTCDateTime, utcnow
from localities.models import Locality


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, validate_strings=True)


class Consultation(db.Model):
    __table_args__ = (
        # The public list filters and sorts on the status as of now (status and dates) and the
        # locality: read from this narrow index, not from rows heavy with summaries (bench/).
        Index("ix_consultation_listing", "status", "opens_at", "closes_at", "locality_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    locality_id: Mapped[int] = mapped_column(ForeignKey("locality.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[Kind] = mapped_column(_enum(Kind), default=Kind.comment)
    category: Mapped[Category] = mapped_column(_enum(Category), default=Category.other)
    #: The status set by hand; ``status`` below also follows the dates.
    stored_status: Mapped[Status] = mapped_column("status", _enum(Status), default=Status.draft)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Exclusive: opinions are accepted while now < closes_at.
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_early_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Public reason for closing before ``closes_at``.
    close_reason: Mapped[str | None] = mapped_column(Text)
    #: The "Căn cứ …" lines of the record, one per line.
    legal_basis: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: Meetings planned or held (one per line: date, place), printed on the notice and the record.
    meetings: Mapped[str] = mapped_column(Text, default="", server_default="")
    concluded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    #: Title, summary and text folded (no diacritics, đ→d, lower case) for search. Only the
    #: database reads it (search.py): deferred, so loading a consultation does not drag the
    #: whole folded draft along.
    search_folded: Mapped[str] = mapped_column(Text, default="", deferred=True)
    #: Opinions received, kept up to date by a trigger on ``opinion`` (tally.py), never recounted.
    opinion_count: Mapped[int] = mapped_column(Integer, default=0)
    #: Bumped by triggers whenever what the page shows of its opinions or draft changes
    #: (consultations/pageversion.py); with opinion_count, the key of its shared part.
    page_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    locality: Mapped[Locality] = relationship(lazy="joined")
    created_by: Mapped[User | None] = relationship()
    sections: Mapped[list[Section]] = relationship(
        back_populates="consultation", order_by="Section.position", cascade="all, delete-orphan"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="consultation", order_by="Attachment.id", cascade="all, delete-orphan"
    )

    @property
    def matters(self) -> list[Section]:
        """What a decide consultation puts to the vote: its articles. A preamble without a
        heading is none; a draft without articles is one matter, the whole text."""
        titled = [s for s in self.sections if s.heading]
        return titled or list(self.sections)

    @hybrid_property
    def status(self) -> Status:
        """The status as of now: an open consultation closes by itself at ``closes_at``,
        and one opened for a future date stays a draft until ``opens_at``."""
        if self.stored_status == Status.open:
            now = utcnow()
            if now >= self.closes_at:
                return Status.closed
            if now < self.opens_at:
                return Status.draft
        return self.stored_status

    @status.inplace.expression
    @classmethod
    def _status_expression(cls):
        now = utcnow()
        return case(
            (
                and_(cls.stored_status == Status.open, cls.closes_at <= now),
                literal(Status.closed.value),
            ),
            (
                and_(cls.stored_status == Status.open, cls.opens_at > now),
                literal(Status.draft.value),
            ),
            else_=cls.stored_status,
        )

    @property
    def is_scheduled(self) -> bool:
        """Opened by hand for a date still to come."""
        return self.stored_status == Status.open and utcnow() < self.opens_at


class Section(db.Model):
    """One article ("Điều N.") of the draft; position 0 is a preamble when there is one."""

    __table_args__ = (UniqueConstraint("consultation_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    heading: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text, default="")

    consultation: Mapped[Consultation] = relationship(back_populates="sections")


class Attachment(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    #: Random name under instance/uploads; never derived from user input.
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    consultation: Mapped[Consultation] = relationship(back_populates="attachments")


class TrackingCounter(db.Model):
    """The last tracking number handed out per year: numbers are unique and gapless."""

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


#: The columns a new opinion always starts without, for inserts that skip the ORM (posting,
#: the demo's bulk data): the row is then complete and needs no defaults or reload.
NEW_OPINION_BLANKS: dict = {
    "edited_at": None,
    "withdrawn_at": None,
    "hidden_at": None,
    "hidden_by_id": None,
    "hidden_reason": None,
    "flag_count": 0,
    "response_id": None,
}


class Opinion(db.Model):
    __table_args__ = (
        # Pages and exports of every opinion, by id, without sorting them all (bench/).
        Index("ix_opinion_consultation", "consultation_id", "id"),
        # The consultation page lists published opinions per section, newest first.
        Index("ix_opinion_page", "consultation_id", "section_id", "id"),
        # Stance counts of published opinions, read from the index alone in GROUP BY order.
        Index("ix_opinion_counts", "consultation_id", "status", "section_id", "stance"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id"))
    #: Null for an opinion on the whole draft.
    section_id: Mapped[int | None] = mapped_column(ForeignKey("section.id"))
    #: The resident who wrote it; null for offline opinions and once an account is deleted.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    #: For offline opinions: the person who gave it (meeting, paper ballot, hotline…).
    contributor_name: Mapped[str | None] = mapped_column(String(120))
    #: The offline contributor agreed to be named in public (the official ticked it; who and
    #: when are in the audit trail). Until then the public sees the channel and the village.
    contributor_name_public: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    #: The official who typed an offline opinion in.
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: Where the author lives (village when known), for participation figures.
    locality_id: Mapped[int | None] = mapped_column(ForeignKey("locality.id"))
    channel: Mapped[Channel] = mapped_column(_enum(Channel), default=Channel.online)
    stance: Mapped[Stance] = mapped_column(_enum(Stance))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[OpinionStatus] = mapped_column(
        _enum(OpinionStatus), default=OpinionStatus.published
    )
    #: YK-<year>-<6 digits>, unique forever.
    tracking_number: Mapped[str] = mapped_column(String(20), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: For offline opinions, when it was received (before the close).
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: Shown publicly in place of the text.
    hidden_reason: Mapped[str | None] = mapped_column(Text)
    flag_count: Mapped[int] = mapped_column(Integer, default=0)
    response_id: Mapped[int | None] = mapped_column(ForeignKey("response.id"), index=True)

    consultation: Mapped[Consultation] = relationship()
    section: Mapped[Section | None] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    entered_by: Mapped[User | None] = relationship(foreign_keys=[entered_by_id])
    hidden_by: Mapped[User | None] = relationship(foreign_keys=[hidden_by_id])
    locality: Mapped[Locality | None] = relationship()
    response: Mapped[Response | None] = relationship(back_populates="opinions")
    revisions: Mapped[list[OpinionRevision]] = relationship(
        back_populates="opinion", order_by="OpinionRevision.id", cascade="all, delete-orphan"
    )

    @property
    def public_author(self) -> str:
        """What the public may see of the author (consultations/authors.py decides)."""
        return public_author(self)

    @property
    def staff_author(self) -> str:
        """What the staff see: the display name, or the offline contributor's name."""
        return staff_author(self)


class OpinionRevision(db.Model):
    """The text and stance of an opinion before each edit."""

    id: Mapped[int] = mapped_column(primary_key=True)
    opinion_id: Mapped[int] = mapped_column(ForeignKey("opinion.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    stance: Mapped[Stance] = mapped_column(_enum(Stance))
    #: When this version was replaced.
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    opinion: Mapped[Opinion] = relationship(back_populates="revisions")


class Flag(db.Model):
    """A reader's report that an opinion breaks the rules."""

    __table_args__ = (UniqueConstraint("opinion_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    opinion_id: Mapped[int] = mapped_column(ForeignKey("opinion.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    opinion: Mapped[Opinion] = relationship()


class Response(db.Model):
    """The authority's answer (tiếp thu, giải trình) to one opinion or a group of alike ones."""

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id"), index=True)
    outcome: Mapped[Outcome] = mapped_column(_enum(Outcome))
    explanation: Mapped[str] = mapped_column(Text)
    #: The moderator's summary of the opinions answered, printed in the record instead of their text.
    summary: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    author: Mapped[User | None] = relationship()
    opinions: Mapped[list[Opinion]] = relationship(back_populates="response")


class Record(db.Model):
    """The record of consultation; frozen once published."""

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id"), unique=True)
    conclusion: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: Who signs for the People's Committee, printed in the signature block.
    signer_name: Mapped[str | None] = mapped_column(String(200))
    signer_title: Mapped[str | None] = mapped_column(String(200))
    #: SHA-256 of ``canonical``, printed on the record.
    content_hash: Mapped[str] = mapped_column(String(64))
    #: The canonical serialisation that was hashed (JSON, sorted keys).
    canonical: Mapped[str] = mapped_column(Text)

    consultation: Mapped[Consultation] = relationship()


class Review(db.Model):
    """A formal review (phản biện) by the Fatherland Front."""

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id"), index=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    body: Mapped[str] = mapped_column(Text)
    attachment_name: Mapped[str | None] = mapped_column(String(255))
    attachment_stored: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reviewer: Mapped[User | None] = relationship()
