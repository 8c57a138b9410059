"""Groups of alike opinions, what the grouping keeps of each opinion, and the moderator's
decisions that a recomputation respects."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consultations.models import Consultation, Opinion, Section
from core.extensions import db
from core.timeutil import UTCDateTime, utcnow


class OpinionGroup(db.Model):
    """Two or more opinions of one consultation and article that say the same thing. Its id
    is the ``similar_group`` of the exports."""

    __tablename__ = "opinion_group"
    __table_args__ = (Index("ix_opinion_group_consultation", "consultation_id", "section_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id"))
    #: The article; null for the whole draft.
    section_id: Mapped[int | None] = mapped_column(ForeignKey("section.id"))
    #: The opinion whose text stands for the group (the earliest of its most copied text).
    representative_id: Mapped[int] = mapped_column(ForeignKey("opinion.id"))
    #: Members, kept with every change of membership (the pages sort and show it).
    size: Mapped[int] = mapped_column(Integer, default=0)
    #: Near-identical texts from many accounts in a short time (``similarity.is_campaign``).
    campaign: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: A group answer is being recorded by the worker since then (``services.answer_group``);
    #: a second click finds it set and is refused.
    answering_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    consultation: Mapped[Consultation] = relationship()
    section: Mapped[Section | None] = relationship()
    representative: Mapped[Opinion] = relationship()


class OpinionAlike(db.Model):
    """What the grouping keeps of one opinion: its group, the key its copies share, its
    signature; one row per opinion once the worker has seen it."""

    __tablename__ = "opinion_alike"
    __table_args__ = (
        Index("ix_opinion_alike_key", "consultation_id", "text_key"),
        Index("ix_opinion_alike_group", "group_id", "opinion_id"),
    )

    opinion_id: Mapped[int] = mapped_column(ForeignKey("opinion.id"), primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("opinion_group.id"))
    #: A hash of the folded text: copies, with or without diacritics and punctuation, share it.
    text_key: Mapped[str] = mapped_column(String(32))
    #: The MinHash signature of the text's shingles (``similarity.signature``).
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    #: The moderator took it out of its group: never grouped automatically again (a merge by
    #: hand still may put it with others).
    apart: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    opinion: Mapped[Opinion] = relationship()
    group: Mapped[OpinionGroup | None] = relationship()


class AlikeBand(db.Model):
    """One band of an opinion's signature (locality-sensitive hashing kept in the database):
    a new opinion's candidates are the opinions sharing a band with it, one indexed query.
    Copies of a text already banded add no bands."""

    __tablename__ = "alike_band"
    __table_args__ = (Index("ix_alike_band_key", "consultation_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id"))
    key: Mapped[int] = mapped_column(BigInteger)
    opinion_id: Mapped[int] = mapped_column(ForeignKey("opinion.id"), index=True)


class AlikeLink(db.Model):
    """The moderator merged two groups: these two opinions belong together, whatever a
    recomputation finds."""

    __tablename__ = "alike_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id"), index=True)
    opinion_id: Mapped[int] = mapped_column(ForeignKey("opinion.id"))
    other_opinion_id: Mapped[int] = mapped_column(ForeignKey("opinion.id"))
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
