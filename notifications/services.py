"""Following, and the notifications each event leaves for the followers.

Like the other services, these functions change rows and flush; they never commit. The caller's
transaction holds the change and its notifications together (and the instant e-mail, queued
through infra/mail.py in the same transaction). The person who did something is never told of
it. One call per event, from the service that makes the change (``consultation_opened`` from
consultations/services.py and so on); ``notify_openings`` and ``notify_closing_soon`` are the
sweeps the worker runs, each safe to run again at any time.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import g
from sqlalchemy import and_, bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from auth.models import User
from consultations.enums import Status
from consultations.models import Consultation, Opinion
from core.extensions import db
from core.timeutil import utcnow
from localities.models import Locality
from notifications import mailing, pagestate
from notifications.models import (
    DEFAULTS,
    SKIPPED,
    TAKING_PART,
    Follow,
    Frequency,
    Notification,
    NotificationSetting,
    NotificationType,
)

#: "Closes soon": within this of ``closes_at``.
CLOSING_SOON = timedelta(days=3)


# --- following -------------------------------------------------------------------------------


def _insert_ignore(values: dict) -> None:
    # A second click (or two tabs at once) finds the first row: nothing stored twice, no error.
    db.session.execute(_follow_insert(db.session.get_bind().dialect.name), values)


@functools.cache
def _follow_insert(dialect: str):
    # Built once: every opinion posted follows its consultation.
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    columns = ("user_id", "consultation_id", "locality_id", "created_at")
    return (
        insert(Follow).values({name: bindparam(name) for name in columns}).on_conflict_do_nothing()
    )


def follow(
    user: User, *, consultation: Consultation | None = None, locality: Locality | None = None
) -> None:
    """Follow a consultation, or a locality and the units under it (idempotent)."""
    if consultation is not None and locality is None:
        held = pagestate.held_follow_state(user, consultation)
        if held is not None and held[0]:
            return  # read with the consultation in this request: already followed
    _insert_ignore(
        {
            "user_id": user.id,
            "consultation_id": consultation.id if consultation is not None else None,
            "locality_id": locality.id if locality is not None else None,
            "created_at": utcnow(),
        }
    )


def unfollow(
    user: User, *, consultation: Consultation | None = None, locality: Locality | None = None
) -> None:
    """Stop following (nothing happens when one was not following)."""
    target = (
        Follow.consultation_id == consultation.id
        if consultation is not None
        else Follow.locality_id == (locality.id if locality is not None else None)
    )
    db.session.execute(delete(Follow).where(Follow.user_id == user.id, target))


def follow_state(user: User, c: Consultation) -> tuple[bool, bool]:
    """Whether ``user`` follows ``c``, and ``c``'s locality: one query."""
    params = {"user_id": user.id, "consultation_id": c.id, "locality_id": c.locality_id}
    rows = db.session.execute(_follow_state_stmt(), params).all()
    return any(r[0] == c.id for r in rows), any(r[1] == c.locality_id for r in rows)


@functools.cache
def _follow_state_stmt():
    # Built once: it is on every consultation page a logged-in visitor opens.
    return select(Follow.consultation_id, Follow.locality_id).where(
        Follow.user_id == bindparam("user_id"),
        (Follow.consultation_id == bindparam("consultation_id"))
        | (Follow.locality_id == bindparam("locality_id")),
    )


def follows_locality(user: User, locality: Locality) -> bool:
    return (
        db.session.scalar(
            select(Follow.id).where(Follow.user_id == user.id, Follow.locality_id == locality.id)
        )
        is not None
    )


def following(user: User) -> list[Follow]:
    """What ``user`` follows, newest first."""
    return list(
        db.session.scalars(
            select(Follow).where(Follow.user_id == user.id).order_by(Follow.id.desc())
        )
    )


def _consultation_followers(c: Consultation) -> list[int]:
    return list(db.session.scalars(select(Follow.user_id).where(Follow.consultation_id == c.id)))


# --- settings --------------------------------------------------------------------------------


def settings(user_ids: Iterable[int]) -> dict[int, dict[str, Frequency]]:
    """Each person's choice per type, defaults filled in: one query."""
    ids = list(user_ids)
    out = {uid: {str(t): f for t, f in DEFAULTS.items()} for uid in ids}
    if ids:
        rows = db.session.execute(
            select(
                NotificationSetting.user_id,
                NotificationSetting.type,
                NotificationSetting.frequency,
            ).where(NotificationSetting.user_id.in_(ids))
        )
        for uid, type_, frequency in rows:
            if type_ in out[uid] and frequency in Frequency.__members__:
                out[uid][type_] = Frequency(frequency)
    return out


def _choices(user_ids: list[int], type_: NotificationType) -> dict[int, Frequency]:
    """Each person's choice for one type: a group answer asks it of thousands at once."""
    out = dict.fromkeys(user_ids, DEFAULTS[type_])
    rows = db.session.execute(
        select(NotificationSetting.user_id, NotificationSetting.frequency).where(
            NotificationSetting.user_id.in_(user_ids), NotificationSetting.type == str(type_)
        )
    )
    for uid, frequency in rows:
        if frequency in Frequency.__members__:
            out[uid] = Frequency(frequency)
    return out


def set_frequency(user: User, type_: NotificationType | str, frequency: Frequency | str) -> None:
    row = db.session.scalar(
        select(NotificationSetting).where(
            NotificationSetting.user_id == user.id, NotificationSetting.type == str(type_)
        )
    )
    if row is None:
        row = NotificationSetting(user_id=user.id, type=str(type_))
        db.session.add(row)
    row.frequency = str(Frequency(frequency))
    db.session.flush()


def mails_instantly(user: User, type_: NotificationType) -> bool:
    """Whether the account mail of a type that is part of taking part (an answer, a hiding)
    goes out now: the person's choice is ``instant`` (the default). ``notify`` has usually
    looked it up already, for every author at once."""
    known = g.get("_gopy_instant", {})
    key = (user.id, str(type_))
    if key not in known:
        known[key] = settings([user.id])[user.id][str(type_)] == Frequency.instant
    return known[key]


# --- the one way to notify -------------------------------------------------------------------


def notify(
    type_: NotificationType,
    targets: Iterable[tuple[int | None, int | None]],
    *,
    by: User | None,
    consultation: Consultation,
    detail: str | None = None,
    at: datetime | None = None,
) -> int:
    """Tell each ``(user_id, opinion_id)`` of ``targets`` that ``type_`` happened (``at``, by
    default now), except ``by``; mail at once those who want it now (and may be mailed).
    Returns how many were told."""
    actor = by.id if by is not None else None
    pairs = [(u, o) for u, o in dict.fromkeys(targets) if u is not None and u != actor]
    if not pairs:
        return 0
    user_ids = sorted({u for u, _ in pairs})
    choices = _choices(user_ids, type_)
    now = utcnow()
    happened = at or now
    mailed: set[int] = set()
    if type_ in TAKING_PART:
        # The instant e-mail of these is the account mail the caller sends next (mails_instantly).
        cache = g.setdefault("_gopy_instant", {})
        for uid, choice in choices.items():
            cache[(uid, str(type_))] = choice == Frequency.instant
        mailed = {uid for uid, choice in choices.items() if choice == Frequency.instant}
    else:
        now_ids = [uid for uid, choice in choices.items() if choice == Frequency.instant]
        mailed = mailing.send_instant(type_, now_ids, consultation=consultation, detail=detail)
    rows = []
    for uid, opinion_id in pairs:
        choice = choices[uid]
        if choice == Frequency.instant:
            state = str(Frequency.instant) if uid in mailed else SKIPPED
        else:
            state = SKIPPED if choice == Frequency.off else None
        rows.append(
            {
                "user_id": uid,
                "type": str(type_),
                "detail": detail,
                "consultation_id": consultation.id,
                "opinion_id": opinion_id,
                "created_at": happened,
                "read_at": None,
                "delivery": str(choice),
                "mailed": state,
                "emailed_at": now if state == str(Frequency.instant) else None,
            }
        )
    db.session.execute(Notification.__table__.insert(), rows)
    return len(rows)


def _not_yet_told(type_: NotificationType, c: Consultation, user_ids: list[int]) -> list[int]:
    """Those of ``user_ids`` never told ``type_`` about ``c`` (once per person, ever)."""
    if not user_ids:
        return []
    told = set(
        db.session.scalars(
            select(Notification.user_id).where(
                Notification.consultation_id == c.id,
                Notification.type == str(type_),
                Notification.user_id.in_(user_ids),
            )
        )
    )
    return [u for u in user_ids if u not in told]


# --- the events ------------------------------------------------------------------------------


def consultation_opened(c: Consultation, *, by: User | None) -> int:
    """A consultation opened: its locality's followers (and those of every unit above) are told,
    once. One opened for a date still to come is told on that date (``notify_openings``)."""
    if c.status != Status.open:
        return 0
    followers = list(
        db.session.scalars(
            select(Follow.user_id)
            .where(Follow.locality_id.in_(c.locality.ancestor_ids()))
            # Who followed before it opened: a new follower is not told of old consultations.
            .where(Follow.created_at <= c.opens_at)
            .distinct()
        )
    )
    # Posting follows a consultation, so its own followers come too when they follow the place.
    users = _not_yet_told(NotificationType.consultation_opened, c, followers)
    return notify(
        NotificationType.consultation_opened, ((u, None) for u in users), by=by, consultation=c
    )


def notify_openings() -> int:
    """Tell the followers of consultations that opened on their date by themselves (scheduled
    by hand earlier). Safe to run at any time: each person is told once per consultation."""
    now = utcnow()
    due = db.session.scalars(
        select(Consultation).where(
            Consultation.stored_status == Status.open,
            Consultation.opens_at <= now,
            Consultation.closes_at > now,
            # Scheduled: opened by hand before its date. Opened at once: told there and then.
            Consultation.opened_at < Consultation.opens_at,
        )
    )
    return sum(consultation_opened(c, by=c.created_by) for c in due)


def notify_closing_soon() -> int:
    """Tell the followers of every open consultation that closes within 3 days; once per
    person per consultation, ever (an extension does not tell them again)."""
    now = utcnow()
    soon = db.session.scalars(
        select(Consultation).where(
            and_(
                Consultation.stored_status == Status.open,
                Consultation.opens_at <= now,
                Consultation.closes_at > now,
                Consultation.closes_at <= now + CLOSING_SOON,
            )
        )
    )
    told = 0
    for c in soon:
        users = _not_yet_told(NotificationType.closing_soon, c, _consultation_followers(c))
        told += notify(
            NotificationType.closing_soon, ((u, None) for u in users), by=None, consultation=c
        )
    return told


def opinions_answered(
    opinions: Iterable[Opinion], *, by: User | None, at: datetime | None = None
) -> int:
    """Each author of an answered opinion is told (one notification per opinion); ``at`` is
    when it was answered (the worker tells them a little later)."""
    ops = list(opinions)
    if not ops:
        return 0
    return notify(
        NotificationType.opinion_answered,
        ((op.author_id, op.id) for op in ops),
        by=by,
        consultation=ops[0].consultation,
        at=at,
    )


def opinion_moderated(opinion: Opinion, *, by: User, detail: str) -> int:
    """The author of an opinion hidden ("hidden") or shown again ("restored") is told."""
    return notify(
        NotificationType.opinion_moderated,
        [(opinion.author_id, opinion.id)],
        by=by,
        consultation=opinion.consultation,
        detail=detail,
    )


def record_published(c: Consultation, *, by: User) -> int:
    """The followers of a consultation are told its record is published."""
    return notify(
        NotificationType.record_published,
        ((u, None) for u in _consultation_followers(c)),
        by=by,
        consultation=c,
    )


def consultation_changed(c: Consultation, *, by: User, detail: str) -> int:
    """The followers are told a consultation was extended ("extended") or closed early
    ("closed_early")."""
    return notify(
        NotificationType.consultation_changed,
        ((u, None) for u in _consultation_followers(c)),
        by=by,
        consultation=c,
        detail=detail,
    )


#: The account mail moderation/services.py sends about one's own opinion, and its type.
_ACCOUNT_MAIL_TYPES = {
    "opinion_answered": NotificationType.opinion_answered,
    "opinion_hidden": NotificationType.opinion_moderated,
    "opinion_restored": NotificationType.opinion_moderated,
}


def account_mail_wanted(user: User, template: str) -> bool:
    """Whether the account mail ``template`` about one's own opinion goes now: it IS the
    instant e-mail of its type, so it goes unless the person chose a digest or no e-mail."""
    type_ = _ACCOUNT_MAIL_TYPES.get(template)
    return type_ is None or mails_instantly(user, type_)
