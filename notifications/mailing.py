"""The e-mail of notifications: the instant message, the digest, and the one-click unsubscribe.

Every message is a ``notification`` (infra/mail.py kinds): it needs the person's active
``notifications`` consent, checked when it is queued, except what is part of taking part
(answers to and moderation of one's own opinions, models.TAKING_PART). Every one carries
``List-Unsubscribe`` (an absolute URL under BASE_URL, a signed token naming the person and
the type) and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058), and links to
the settings page.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import current_app, url_for
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from auth.models import User
from auth.services import NOTIFICATIONS, active_consent
from consultations.models import Consultation
from core.extensions import db
from infra import mail
from notifications.models import TAKING_PART, NotificationType

_SALT = "gopy-unsubscribe"
#: The token of a digest names its frequency instead of a type: it turns that digest off.
DIGEST_PREFIX = "digest:"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def unsubscribe_token(user_id: int, what: str) -> str:
    """A token naming a person and a type (or ``digest:daily``); it does not expire, as a
    link in an old e-mail must still work."""
    return _serializer().dumps([user_id, str(what)])


def read_token(token: str) -> tuple[int, str] | None:
    try:
        user_id, what = _serializer().loads(token)
    except (BadData, TypeError, ValueError):
        return None
    if not isinstance(user_id, int) or not isinstance(what, str):
        return None
    return user_id, what


def absolute(endpoint: str, **values: Any) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + url_for(endpoint, **values)


def unsubscribe_url(user_id: int, what: str) -> str:
    return absolute("notifications.unsubscribe", token=unsubscribe_token(user_id, what))


def headers(url: str) -> dict[str, str]:
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def may_mail(user: User, type_: NotificationType | None = None) -> bool:
    """Whether this person may receive a notification mail (of ``type_``) now."""
    if not user.email or not user.is_active:
        return False
    if type_ is not None and type_ in TAKING_PART:
        return True
    return active_consent(user, NOTIFICATIONS) is not None


def _users(user_ids: Iterable[int]) -> list[User]:
    ids = list(user_ids)
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(User).where(User.id.in_(ids)).options(selectinload(User.consents))
        )
    )


def send_instant(
    type_: NotificationType,
    user_ids: Iterable[int],
    *,
    consultation: Consultation,
    detail: str | None,
) -> set[int]:
    """Queue the instant message of ``type_`` to each of ``user_ids`` who may be mailed;
    return who was."""
    sent = set()
    for user in _users(user_ids):
        if not may_mail(user, type_):
            continue
        url = unsubscribe_url(user.id, str(type_))
        mail.queue(
            "notification",
            to=user.email,
            locale=user.locale or "vi",
            kind="notification",
            headers=headers(url),
            user=user,
            consultation=consultation,
            type=str(type_),
            detail=detail,
            unsubscribe_url=url,
            preferences_url=absolute("notifications.settings"),
        )
        sent.add(user.id)
    return sent


def send_digest(user: User, frequency: str, groups: list[dict[str, Any]]) -> None:
    """Queue one digest: ``groups`` of notifications per consultation, newest first."""
    url = unsubscribe_url(user.id, DIGEST_PREFIX + frequency)
    mail.queue(
        "digest",
        to=user.email,
        locale=user.locale or "vi",
        kind="notification",
        headers=headers(url),
        user=user,
        frequency=frequency,
        groups=groups,
        unsubscribe_url=url,
        preferences_url=absolute("notifications.settings"),
    )
