"""Daily and weekly digests, from each person's own last-sent mark, never from a clock window.

A person's digest of a frequency is due when it holds something new (notifications of that
frequency not yet mailed) and their last one of that frequency went out on an earlier calendar
day in Asia/Ho_Chi_Minh (a week: seven days earlier or more), or never. What is pending stays
pending until a digest takes it, so a run a few minutes early, late or missed loses nothing
(Decidim lost days when cron ran early: decidim PR #9599), and sending marks the rows, so a
second run sends nothing twice. Items are grouped per consultation, newest first.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import groupby

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from auth.models import User
from auth.services import NOTIFICATIONS, active_consent
from core.extensions import db
from core.timeutil import local_date, utcnow
from notifications import mailing
from notifications.models import SKIPPED, TAKING_PART, DigestMark, Frequency, Notification
from notifications.services import settings

PERIODS = {Frequency.daily: timedelta(days=1), Frequency.weekly: timedelta(days=7)}


def is_due(last_sent_at: datetime | None, now: datetime, frequency: Frequency) -> bool:
    """Due from the person's own mark, counted in Vietnamese calendar days."""
    if last_sent_at is None:
        return True
    return local_date(now) - local_date(last_sent_at) >= PERIODS[frequency]


def _group(items: list[Notification]) -> list[dict]:
    """Per consultation, the one with the newest item first; in each, newest first."""
    items = sorted(items, key=lambda n: n.id, reverse=True)
    groups: dict[int | None, list[Notification]] = {}
    for n in items:
        groups.setdefault(n.consultation_id, []).append(n)
    return [{"consultation": rows[0].consultation, "items": rows} for rows in groups.values()]


def send_digests(frequency: Frequency | str, *, now: datetime | None = None) -> int:
    """Send every digest of ``frequency`` that is due; return how many went out."""
    frequency = Frequency(frequency)
    now = now or utcnow()
    pending = list(
        db.session.scalars(
            select(Notification)
            .where(Notification.delivery == str(frequency), Notification.mailed.is_(None))
            .options(selectinload(Notification.consultation), selectinload(Notification.opinion))
            .order_by(Notification.user_id, Notification.id)
        )
    )
    if not pending:
        return 0
    by_user = {uid: list(rows) for uid, rows in groupby(pending, key=lambda n: n.user_id)}
    marks = {
        m.user_id: m
        for m in db.session.scalars(
            select(DigestMark).where(
                DigestMark.frequency == str(frequency), DigestMark.user_id.in_(list(by_user))
            )
        )
    }
    due = [
        uid
        for uid in by_user
        if is_due(marks[uid].last_sent_at if uid in marks else None, now, frequency)
    ]
    if not due:
        return 0
    users = {
        u.id: u
        for u in db.session.scalars(
            select(User).where(User.id.in_(due)).options(selectinload(User.consents))
        )
    }
    choices = settings(due)
    sent = 0
    for uid in due:
        user, items = users[uid], by_user[uid]
        consent = active_consent(user, NOTIFICATIONS) is not None
        mailable = []
        for n in items:
            # Turned off since (the unsubscribe link), or no consent now: never mailed.
            if choices[uid].get(n.type) == Frequency.off or not (consent or n.type in TAKING_PART):
                n.mailed = SKIPPED
            else:
                mailable.append(n)
        if not mailable or not user.email or not user.is_active:
            for n in mailable:
                n.mailed = SKIPPED
            continue
        mailing.send_digest(user, str(frequency), _group(mailable))
        for n in mailable:
            n.mailed, n.emailed_at = str(frequency), now
        mark = marks.get(uid)
        if mark is None:
            db.session.add(DigestMark(user_id=uid, frequency=str(frequency), last_sent_at=now))
        else:
            mark.last_sent_at = now
        sent += 1
    db.session.flush()
    return sent
