"""The append-only audit trail: every change of state, who made it and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.timeutil import UTCDateTime, utcnow


class AuditEvent(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: Who acted; null for the system (e.g. a transition on a date).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: Dotted verb, e.g. "consultation.open", "opinion.hide".
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int | None] = mapped_column()
    #: The locality the object belongs to, so reviewers can read their locality's trail.
    locality_id: Mapped[int | None] = mapped_column(ForeignKey("locality.id"), index=True)
    #: What changed (never a password, e-mail or phone).
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


#: A Core insert built once: the ORM's insert cost four times as much on the busiest write (bench/).
_INSERT_EVENT = AuditEvent.__table__.insert()


def _fields(
    action: str, obj: Any, by: Any, locality_id: int | None, data: dict[str, Any]
) -> dict[str, Any]:
    return {
        "action": action,
        "object_type": type(obj).__name__.lower(),
        "object_id": getattr(obj, "id", None),
        "actor_id": getattr(by, "id", None),
        "locality_id": locality_id,
        "data": data,
    }


def record_now(
    action: str, obj: Any, *, by: Any = None, locality_id: int | None = None, **data: Any
) -> None:
    """The same event as :func:`record`, inserted at once in the caller's transaction without an
    ORM object (the busiest writes, e.g. posting an opinion, skip the unit of work for it)."""
    db.session.execute(_INSERT_EVENT, _fields(action, obj, by, locality_id, data))


def record(
    action: str, obj: Any, *, by: Any = None, locality_id: int | None = None, **data: Any
) -> AuditEvent:
    """Add an audit event to the session; the caller commits with the change itself."""
    event = AuditEvent(**_fields(action, obj, by, locality_id, data))
    db.session.add(event)
    return event
