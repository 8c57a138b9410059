"""A household of a village, its representative and its one-time key.

The representative's name and address are personal data (Decree 13/2023): staff of the
locality see them, the public never does. A resident becomes the representative by typing the
household's code and the one-time key of its printed letter; only the key's SHA-256 is kept.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auth.models import User
from core.extensions import db
from core.timeutil import UTCDateTime, utcnow
from localities.models import Locality


class Household(db.Model):
    __table_args__ = (
        UniqueConstraint("locality_id", "code", name="uq_household_locality_code"),
        # A person represents one household at most.
        UniqueConstraint("representative_id", name="uq_household_representative_id"),
        Index("ix_household_code", "code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The village or residential group (thôn, tổ dân phố) the household belongs to.
    locality_id: Mapped[int] = mapped_column(ForeignKey("locality.id"))
    code: Mapped[str] = mapped_column(String(32))
    representative_name: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    #: The account of the representative, once linked with the key or by an official.
    representative_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL")
    )
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: SHA-256 (hex) of the one-time key of the last letter; cleared once the key is used.
    key_hash: Mapped[str | None] = mapped_column(String(64))
    key_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Struck off the register (moved away, merged): kept for the votes it cast.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    locality: Mapped[Locality] = relationship()
    representative: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Household {self.code}>"
