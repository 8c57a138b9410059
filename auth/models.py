"""People and what they may do: users, role assignments, consent records."""

from __future__ import annotations

import enum
from datetime import datetime
from types import MappingProxyType

from flask_login import UserMixin
from sqlalchemy import Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from core.extensions import db
from core.timeutil import UTCDateTime, utcnow
from localities.models import Locality


class Role(enum.StrEnum):
    official = "official"
    moderator = "moderator"
    reviewer = "reviewer"
    admin = "admin"


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    #: Lower-cased; never shown publicly. Null once the account is deleted.
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(256))
    #: The legal name; private. Public pages show ``display_name``.
    full_name: Mapped[str] = mapped_column(String(120))
    #: What the public sees, chosen by the resident (default "Người dân", never the residence).
    display_name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(32))
    locality_id: Mapped[int | None] = mapped_column(ForeignKey("locality.id"), index=True)
    #: Preferred language for pages and e-mail.
    locale: Mapped[str] = mapped_column(String(8), default="vi")
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Set when the account was deleted; personal data is erased, opinions stay anonymised.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    #: The last time this person logged in (or proved the address); inactivity counts from it.
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the person was told that an inactive account will be erased (me/retention.py).
    inactivity_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    locality: Mapped[Locality | None] = relationship()
    assignments: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )
    consents: Mapped[list[Consent]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<User {self.id}>"

    #: The key of the login session this object was loaded for (auth/sessions.py); not stored.
    login_key = None
    #: What was read with it for this request (auth/sessions.read_with_user); not stored.
    read_with_session = MappingProxyType({})

    # Flask-Login keeps this in the cookie: the user and the server-side login session, so
    # logging out (or a password change) ends a session even if its cookie was copied.
    def get_id(self) -> str:
        return f"{self.id}:{self.login_key}"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:
        return self.deleted_at is None

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    def role_localities(self, role: Role) -> list[int]:
        return [a.locality_id for a in self.assignments if a.role == role]

    def has_role(self, role: Role) -> bool:
        return any(a.role == role for a in self.assignments)


class LoginSession(db.Model):
    """One logged-in browser. The cookie holds the key; only its SHA-256 is stored, so a copy of
    the database cannot be used to log in."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoleAssignment(db.Model):
    """A role held for a locality; it covers the localities under it."""

    __table_args__ = (UniqueConstraint("user_id", "role", "locality_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16))
    locality_id: Mapped[int] = mapped_column(ForeignKey("locality.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="assignments")
    locality: Mapped[Locality] = relationship(lazy="joined")


class Consent(db.Model):
    """One purpose the resident agreed to, with the exact text version, provable and withdrawable."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    #: e.g. "participation" (needed to take part), "notifications" (optional e-mail updates).
    purpose: Mapped[str] = mapped_column(String(32))
    #: Version of the consent text the person saw, e.g. "2026-11-v1".
    text_version: Mapped[str] = mapped_column(String(32))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user: Mapped[User] = relationship(back_populates="consents")
