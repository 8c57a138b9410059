"""What a page shows of the visitor's notifications, read with rows the page reads anyway, so it
costs no query of its own: the header's count of unread notifications with the person of every
request (auth/sessions.read_with_user), and a consultation page's follow buttons with the
consultation (consultations/views/common.visible). notifications/views.py's
``unread_notifications`` and ``follow_state`` read them first."""

from __future__ import annotations

from flask import g
from sqlalchemy import ColumnElement, bindparam, exists, func, select

from auth import sessions
from auth.models import User
from consultations.models import Consultation
from notifications.models import Follow, Notification


def unread_of_user() -> ColumnElement:
    """The unread notifications of the person a request is for (a column of their row)."""
    return (
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == User.id, Notification.read_at.is_(None))
        .correlate(User)
        .scalar_subquery()
    )


def follow_columns() -> tuple[ColumnElement, ...]:
    """Whether the person ``user_id`` follows the consultation and its locality (columns of
    the consultation's row)."""
    mine = Follow.user_id == bindparam("user_id")
    return (
        exists().where(mine, Follow.consultation_id == Consultation.id).correlate(Consultation),
        exists()
        .where(mine, Follow.locality_id == Consultation.locality_id)
        .correlate(Consultation),
    )


def hold_follow_state(user: User, c: Consultation, values: tuple) -> None:
    follows_c, follows_place = values
    g._gopy_follow_state = (user.id, c.id, (bool(follows_c), bool(follows_place)))


def held_follow_state(user: User, c: Consultation) -> tuple[bool, bool] | None:
    held = g.get("_gopy_follow_state")
    return held[2] if held is not None and held[:2] == (user.id, c.id) else None


def init_app(app) -> None:
    sessions.read_with_user("unread", unread_of_user)
