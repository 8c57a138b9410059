"""Everything Góp ý holds about one person, for the download of Decree 13/2023 (right of access)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from audit.models import AuditEvent
from auth.models import User
from consultations.models import Flag, Opinion, OpinionRevision
from core.extensions import db
from notifications.models import Follow, Notification, NotificationSetting


def _when(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def _value(v: Any) -> Any:
    return getattr(v, "value", v)


def my_opinions_query(user: User):
    return (
        select(Opinion)
        .where(Opinion.author_id == user.id)
        .options(
            selectinload(Opinion.consultation),
            selectinload(Opinion.section),
            selectinload(Opinion.response),
        )
        .order_by(Opinion.id.desc())
    )


def count_my_opinions(user: User) -> int:
    return (
        db.session.scalar(select(func.count(Opinion.id)).where(Opinion.author_id == user.id)) or 0
    )


def personal_data(user: User) -> dict[str, Any]:
    """The person's account, consents, opinions with their history and answers, flags and the
    actions they took. Nothing about anyone else: responses carry no author."""
    opinions = db.session.scalars(my_opinions_query(user).order_by(None).order_by(Opinion.id)).all()
    opinion_ids = [o.id for o in opinions]
    by_id = {o.id: o for o in opinions}
    revisions = (
        db.session.scalars(
            select(OpinionRevision)
            .where(OpinionRevision.opinion_id.in_(opinion_ids))
            .order_by(OpinionRevision.id)
        ).all()
        if opinion_ids
        else []
    )
    flags = db.session.scalars(
        select(Flag)
        .where(Flag.user_id == user.id)
        .options(selectinload(Flag.opinion))
        .order_by(Flag.id)
    ).all()
    events = db.session.scalars(
        select(AuditEvent)
        .where(
            or_(
                AuditEvent.actor_id == user.id,
                (AuditEvent.object_type == "user") & (AuditEvent.object_id == user.id),
            )
        )
        .order_by(AuditEvent.id)
    ).all()
    loc = user.locality
    entered = db.session.execute(
        select(
            Opinion.tracking_number,
            Opinion.channel,
            Opinion.contributor_name_public,
            Opinion.created_at,
        )
        .where(Opinion.entered_by_id == user.id)
        .order_by(Opinion.id)
    ).all()
    return {
        "about": {
            "phone": _(
                "Your telephone number, when one was given: private, seen by you, the operator and the staff of your commune."
            ),
            "offline_contributors": _(
                "Opinions given offline (paper ballot, meeting, telephone…) are held by the People's "
                "Committee that received them, under the name the person gave, and are not linked to "
                "any account: ask that committee, with the tracking number, for your data in them."
            ),
        },
        "user": {
            "id": user.id,
            "email": user.email,
            "full_name": user.full_name,
            "display_name": user.display_name,
            "phone": user.phone,
            "locality": {"code": loc.code, "name": loc.full_name} if loc else None,
            "locale": user.locale,
            "email_verified_at": _when(user.email_verified_at),
            "created_at": _when(user.created_at),
            "roles": [
                {"role": _value(a.role), "locality": a.locality.code} for a in user.assignments
            ],
        },
        "consents": [
            {
                "purpose": c.purpose,
                "text_version": c.text_version,
                "granted_at": _when(c.granted_at),
                "withdrawn_at": _when(c.withdrawn_at),
            }
            for c in sorted(user.consents, key=lambda c: c.id or 0)
        ],
        "opinions": [
            {
                "tracking_number": o.tracking_number,
                "consultation": {"id": o.consultation_id, "title": o.consultation.title},
                "section": o.section.heading if o.section else None,
                "body": o.body,
                "stance": _value(o.stance),
                "channel": _value(o.channel),
                "status": _value(o.status),
                "created_at": _when(o.created_at),
                "edited_at": _when(o.edited_at),
                "withdrawn_at": _when(o.withdrawn_at),
                "hidden_at": _when(o.hidden_at),
                "hidden_reason": o.hidden_reason,
                "response": (
                    {
                        "outcome": _value(o.response.outcome),
                        "explanation": o.response.explanation,
                        "at": _when(o.response.created_at),
                    }
                    if o.response
                    else None
                ),
            }
            for o in opinions
        ],
        "revisions": [
            {
                "tracking_number": by_id[r.opinion_id].tracking_number,
                "body": r.body,
                "stance": _value(r.stance),
                "replaced_at": _when(r.replaced_at),
            }
            for r in revisions
        ],
        "flags": [
            {
                "tracking_number": f.opinion.tracking_number if f.opinion else None,
                "reason": f.reason,
                "created_at": _when(f.created_at),
                "resolved_at": _when(f.resolved_at),
            }
            for f in flags
        ],
        # Staff who typed in opinions received offline: which ones, and whether the person agreed
        # to be named in public (their names are their own data, not this person's).
        "offline_opinions_entered": [
            {
                "tracking_number": number,
                "channel": _value(channel),
                "contributor_name_public": bool(named),
                "created_at": _when(created_at),
            }
            for number, channel, named, created_at in entered
        ],
        "activity": [
            {
                "at": _when(e.at),
                "action": e.action,
                "object": e.object_type,
                "object_id": e.object_id,
            }
            for e in events
        ],
        "following": [
            {
                "consultation_id": f.consultation_id,
                "locality": f.locality.code if f.locality else None,
                "since": _when(f.created_at),
            }
            for f in db.session.scalars(
                select(Follow).where(Follow.user_id == user.id).order_by(Follow.id)
            )
        ],
        "notification_settings": {
            s.type: s.frequency
            for s in db.session.scalars(
                select(NotificationSetting).where(NotificationSetting.user_id == user.id)
            )
        },
        "notifications": [
            {
                "type": n.type,
                "consultation_id": n.consultation_id,
                "opinion_id": n.opinion_id,
                "at": _when(n.created_at),
                "read_at": _when(n.read_at),
                "emailed_at": _when(n.emailed_at),
            }
            for n in db.session.scalars(
                select(Notification)
                .where(Notification.user_id == user.id)
                .order_by(Notification.id)
            )
        ],
    }


def personal_data_csv(data: dict[str, Any]) -> str:
    """The same data as one CSV of (section, item, field, value) rows, which any spreadsheet opens."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "item", "field", "value"])

    def emit(section: str, item: int | str, obj: dict[str, Any], prefix: str = "") -> None:
        for key, value in obj.items():
            if isinstance(value, dict):
                emit(section, item, value, f"{prefix}{key}.")
            elif isinstance(value, list):
                for i, sub in enumerate(value, 1):
                    emit(
                        section,
                        item,
                        sub if isinstance(sub, dict) else {"": sub},
                        f"{prefix}{key}[{i}].",
                    )
            else:
                writer.writerow([section, item, f"{prefix}{key}".rstrip("."), _cell(value)])

    emit("about", 1, data["about"])
    emit("user", 1, data["user"])
    emit("notification_settings", 1, data["notification_settings"])
    for section in (
        "consents",
        "opinions",
        "revisions",
        "flags",
        "offline_opinions_entered",
        "activity",
        "following",
        "notifications",
    ):
        for i, row in enumerate(data[section], 1):
            emit(section, i, row)
    return out.getvalue()


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A cell starting with these would run as a formula in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
