"""What a person follows, what they were told, and how they want to hear of it."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auth.models import User
from consultations.models import Consultation, Opinion
from core.extensions import db
from core.timeutil import UTCDateTime, utcnow
from localities.models import Locality


class NotificationType(enum.StrEnum):
    consultation_opened = "consultation_opened"  #: in a followed locality or below
    closing_soon = "closing_soon"  #: a followed consultation closes within 3 days
    opinion_answered = "opinion_answered"  #: one's own opinion
    opinion_moderated = "opinion_moderated"  #: one's own opinion hidden or restored
    record_published = "record_published"  #: of a followed consultation
    consultation_changed = "consultation_changed"  #: extended or closed early


class Frequency(enum.StrEnum):
    instant = "instant"
    daily = "daily"
    weekly = "weekly"
    off = "off"


#: What a person gets until they choose otherwise.
DEFAULTS: dict[NotificationType, Frequency] = {
    NotificationType.consultation_opened: Frequency.daily,
    NotificationType.closing_soon: Frequency.instant,
    NotificationType.opinion_answered: Frequency.instant,
    NotificationType.opinion_moderated: Frequency.instant,
    NotificationType.record_published: Frequency.instant,
    NotificationType.consultation_changed: Frequency.instant,
}

#: About one's own opinions: part of taking part, mailed without the ``notifications`` consent.
#: Their instant e-mail is the account mail moderation/services.py already sends.
TAKING_PART = frozenset({NotificationType.opinion_answered, NotificationType.opinion_moderated})

#: ``Notification.mailed``: how it went out, or "skipped" (off, or no consent when it was due).
SKIPPED = "skipped"


class Follow(db.Model):
    """A person follows one consultation, or one locality (and the units under it)."""

    __table_args__ = (
        UniqueConstraint("user_id", "consultation_id", name="uq_follow_user_consultation"),
        UniqueConstraint("user_id", "locality_id", name="uq_follow_user_locality"),
        CheckConstraint("(consultation_id IS NULL) <> (locality_id IS NULL)", name="one_target"),
        Index("ix_follow_consultation", "consultation_id"),
        Index("ix_follow_locality", "locality_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultation.id"))
    locality_id: Mapped[int | None] = mapped_column(ForeignKey("locality.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    consultation: Mapped[Consultation | None] = relationship()
    locality: Mapped[Locality | None] = relationship()


class Notification(db.Model):
    """One thing that happened, told to one person."""

    __table_args__ = (
        # /me/notifications, newest first, and the unread count in the header.
        Index("ix_notification_user", "user_id", "id"),
        Index("ix_notification_unread", "user_id", "read_at"),
        # "Once per person per consultation, ever" (closing_soon, consultation_opened).
        Index("ix_notification_consultation", "consultation_id", "type"),
        # The digests' pending rows.
        Index("ix_notification_pending", "delivery", "mailed"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    #: e.g. "hidden" or "restored", "extended" or "closed_early".
    detail: Mapped[str | None] = mapped_column(String(16))
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultation.id"))
    opinion_id: Mapped[int | None] = mapped_column(ForeignKey("opinion.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The person's choice for this type when it happened: instant, daily, weekly or off.
    delivery: Mapped[str] = mapped_column(String(8))
    #: How it went out: "instant", "daily", "weekly" (the digest it was in) or "skipped";
    #: null while a digest is still to take it.
    mailed: Mapped[str | None] = mapped_column(String(8))
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
    consultation: Mapped[Consultation | None] = relationship()
    opinion: Mapped[Opinion | None] = relationship()


class NotificationSetting(db.Model):
    """A person's choice for one type; without a row, ``DEFAULTS`` applies."""

    __table_args__ = (
        UniqueConstraint("user_id", "type", name="uq_notification_setting_user_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    frequency: Mapped[str] = mapped_column(String(8))


class DigestMark(db.Model):
    """When a person's last daily (weekly) digest went out: the next is due from there."""

    __tablename__ = "digest_mark"
    __table_args__ = (
        UniqueConstraint("user_id", "frequency", name="uq_digest_mark_user_frequency"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    frequency: Mapped[str] = mapped_column(String(8))
    last_sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
