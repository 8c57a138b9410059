"""What a consultation page shows of the visitor's notifications, read in one query: the
header's count of unread notifications and the follow buttons' state, held for the request
(notifications/views.py's ``unread_notifications`` and ``follow_state`` read them first)."""

from __future__ import annotations

import functools

from flask import g
from sqlalchemy import bindparam, exists, func, select

from auth.models import User
from consultations.models import Consultation
from core.extensions import db
from notifications.models import Follow, Notification


def read_page_state(user: User, c: Consultation) -> None:
    """For a consultation page, in one query: ``user``'s unread notifications (the header's
    count) and whether they follow ``c`` and its locality (the follow buttons), held for this
    request (``held_unread``, ``held_follow_state``)."""
    params = {"user_id": user.id, "consultation_id": c.id, "locality_id": c.locality_id}
    unread, follows_c, follows_place = db.session.execute(_page_state_stmt(), params).one()
    g._gopy_page_state = (user.id, c.id, int(unread or 0), (bool(follows_c), bool(follows_place)))


def held_unread(user: User) -> int | None:
    held = g.get("_gopy_page_state")
    return held[2] if held is not None and held[0] == user.id else None


def held_follow_state(user: User, c: Consultation) -> tuple[bool, bool] | None:
    held = g.get("_gopy_page_state")
    return held[3] if held is not None and held[:2] == (user.id, c.id) else None


@functools.cache
def _page_state_stmt():
    # Built once; three scalar subqueries in one round trip.
    mine = Follow.user_id == bindparam("user_id")
    return select(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == bindparam("user_id"), Notification.read_at.is_(None))
        .scalar_subquery(),
        exists().where(mine, Follow.consultation_id == bindparam("consultation_id")),
        exists().where(mine, Follow.locality_id == bindparam("locality_id")),
    )
