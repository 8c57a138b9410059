"""A vote on the matters of a ``decide`` consultation: one per household per matter.

Each section of a ``decide`` consultation is a matter. ``Vote`` holds one row per (matter,
household) — a unique constraint, so whatever the channel and however close two entries come,
the first recorded one stands; a later one is refused and kept as a ``VoteConflict`` for the
counting committee. ``Ballot`` numbers the paper ballots printed, one per household.
``Decision`` holds the settings of the vote and its counting: the committee, the confirmed
reconciliation, the Fatherland Front's sign-off and the published, frozen results.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from consultations.models import Consultation, Section
from core.extensions import db
from core.timeutil import UTCDateTime, utcnow
from households.models import Household


class Choice(enum.StrEnum):
    agree = "agree"
    disagree = "disagree"
    #: Paper only: a ballot returned with nothing marked for the matter, or marked so it
    #: cannot be read; counted in the turnout, not for either side.
    blank = "blank"
    spoilt = "spoilt"


class VoteChannel(enum.StrEnum):
    online = "online"
    paper = "paper"
    meeting = "meeting"


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, validate_strings=True)


class Decision(db.Model):
    """The vote of one ``decide`` consultation: its settings, its counting, its results."""

    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultation.id", ondelete="CASCADE"), primary_key=True
    )
    #: Staff see which households voted, never how (the public only ever sees counts).
    secret: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The counting committee (tổ kiểm phiếu): [{"name": …, "title": …}], 3 to 5 members.
    committee: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    counted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    counted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: The reconciliation and results as confirmed by the committee.
    counted: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    sign_note: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: SHA-256 (hex) of the canonical published results, printed on the minutes.
    content_hash: Mapped[str | None] = mapped_column(String(64))
    content: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    #: ``Consultation.decision``: None until the vote of a decide consultation is set up.
    consultation: Mapped[Consultation] = relationship(
        backref=backref("decision", uselist=False, lazy="select")
    )


class Ballot(db.Model):
    """A numbered paper ballot printed for one household."""

    __table_args__ = (
        UniqueConstraint("consultation_id", "household_id", name="uq_ballot_household"),
        UniqueConstraint("consultation_id", "number", name="uq_ballot_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id", ondelete="CASCADE"))
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    number: Mapped[int] = mapped_column(Integer)
    printed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    household: Mapped[Household] = relationship()


class Vote(db.Model):
    """The vote of one household on one matter, through one channel."""

    __table_args__ = (
        UniqueConstraint("section_id", "household_id", name="uq_vote_section_household"),
        Index("ix_vote_consultation", "consultation_id", "section_id"),
        Index("ix_vote_household", "household_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id", ondelete="CASCADE"))
    section_id: Mapped[int] = mapped_column(ForeignKey("section.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    choice: Mapped[Choice] = mapped_column(_enum(Choice))
    channel: Mapped[VoteChannel] = mapped_column(_enum(VoteChannel))
    #: The representative who voted online.
    cast_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    #: The official who entered a paper ballot or a meeting's vote.
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    ballot_number: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: A correction by the counting committee, with its reason (audited, in the minutes).
    original_choice: Mapped[Choice | None] = mapped_column(_enum(Choice))
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    corrected_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    correction_reason: Mapped[str | None] = mapped_column(Text)

    household: Mapped[Household] = relationship()
    section: Mapped[Section] = relationship()


class VoteConflict(db.Model):
    """A vote refused because the household had already voted on the matter: both entries are
    listed for the counting committee."""

    __table_args__ = (Index("ix_vote_conflict_consultation", "consultation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id", ondelete="CASCADE"))
    section_id: Mapped[int] = mapped_column(ForeignKey("section.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    #: The vote that stands.
    vote_id: Mapped[int] = mapped_column(ForeignKey("vote.id"))
    choice: Mapped[Choice] = mapped_column(_enum(Choice))
    channel: Mapped[VoteChannel] = mapped_column(_enum(VoteChannel))
    cast_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    ballot_number: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    household: Mapped[Household] = relationship()
    section: Mapped[Section] = relationship()
    vote: Mapped[Vote] = relationship()
