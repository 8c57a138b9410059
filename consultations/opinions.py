"""Business rules of opinions: giving one (online, or entered by an official), changing and
withdrawing it, reporting it.

As in services.py, each function checks the state (auth/permissions.py), changes the objects,
records an audit event and flushes; the view commits once, and the receipt is mailed only after
that commit. A state that forbids the action raises ``StateError`` (409), bad values
``InvalidInput`` (400).
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import make_transient_to_detached

from alike import jobs as alike_jobs
from audit.models import record as audit
from audit.models import record_now as audit_now
from auth.models import User
from auth.permissions import (
    is_open_to_offline_opinions,
    is_open_to_opinions,
    is_open_to_reports,
    is_reportable,
)
from consultations.locking import insert_if_open, lock_consultation, lock_for_posting, reread
from consultations.models import (
    NEW_OPINION_BLANKS,
    Channel,
    Consultation,
    Flag,
    Opinion,
    OpinionRevision,
    OpinionStatus,
    Section,
    Stance,
    TrackingCounter,
)
from core.errors import InvalidInput, StateError
from core.extensions import db
from core.textutil import clean_text
from core.timeutil import LOCAL_TZ, to_local, utcnow
from infra import mail
from localities.models import Locality
from notifications import services as notifications

BODY_MAX = 5000


def next_tracking_number(year: int) -> str:
    """Hand out the next number of the year. The counter row is updated in the caller's
    transaction, so numbers are unique and, once committed, without gaps."""
    dialect = db.session.get_bind().dialect.name
    number = db.session.execute(_next_number_stmt(dialect), {"year": year}).scalar_one()
    return f"YK-{year}-{number:06d}"


@functools.cache
def _next_number_stmt(dialect: str):
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # One statement: the year's first number creates the row, every other one bumps it (the
    # row lock it takes serialises concurrent posters until they commit).
    t = TrackingCounter.__table__
    return (
        insert(t)
        .values(year=bindparam("year"), last=1)
        .on_conflict_do_update(index_elements=[t.c.year], set_={"last": t.c.last + 1})
        .returning(t.c.last)
    )


#: Built once and on the table: through the ORM's unit of work the insert was most of a
#: post's cost (bench/).
_INSERT_OPINION = Opinion.__table__.insert().returning(Opinion.__table__.c.id)


def _check_body(body: str) -> str:
    body = clean_text(body)
    if not body:
        raise InvalidInput(_("Write your opinion."), "body")
    if len(body) > BODY_MAX:
        raise InvalidInput(_("An opinion can be at most %(n)d characters.", n=BODY_MAX), "body")
    return body


def _check_section(c: Consultation, section: Section | None) -> None:
    if section is not None and section.consultation_id != c.id:
        raise InvalidInput(_("This article does not belong to the consultation."), "section_id")


def post_opinion(
    c: Consultation,
    *,
    by: User,
    body: str,
    stance: Stance,
    section: Section | None = None,
    channel: Channel = Channel.online,
    contributor_name: str | None = None,
    received_at: datetime | None = None,
    contributor_locality: Locality | None = None,
    contributor_name_public: bool = False,
) -> Opinion:
    """Record an opinion: online by a resident while open, or offline entered by an official
    (meeting, paper ballot, hotline…) for one received before the close.

    An offline contributor is shown in public by channel and village (``contributor_locality``);
    their name only when ``contributor_name_public``: the official ticked that they agreed, and
    the audit event keeps who recorded that agreement and when (consultations/authors.py)."""
    body = _check_body(body)
    _check_section(c, section)
    now = utcnow()
    offline = channel != Channel.online
    # PostgreSQL: the lock, the check, the number and the insert in one statement (locking.py).
    in_one_statement = not offline and db.session.get_bind().dialect.name == "postgresql"
    if offline:
        # Allowed while closed, so it could race with publishing the record: serialised
        # (consultations/locking.py).
        c = lock_consultation(c.id)
        if not is_open_to_offline_opinions(c):
            raise StateError(
                _(
                    "Offline opinions can be entered only while the consultation is open or closed, before the record is published."
                )
            )
        contributor_name = clean_text(contributor_name)[:120]
        if not contributor_name:
            raise InvalidInput(
                _("Enter the name of the person who gave this opinion."), "contributor_name"
            )
        received_at = min(received_at or now, now)
        if received_at >= c.closes_at:
            raise InvalidInput(
                _("Only opinions received before the close can be entered."), "received_at"
            )
        # The day it opened counts whole: a paper handed in that morning, before the hour the
        # consultation was opened on the site, is still an opinion of this consultation.
        opened = min((d for d in (c.opened_at, c.opens_at) if d is not None), default=None)
        if opened is not None and to_local(received_at).date() < to_local(opened).date():
            raise InvalidInput(
                _(
                    "An opinion cannot have been received before the consultation opened (%(date)s).",
                    date=f"{to_local(opened).day}/{to_local(opened).month}/{to_local(opened).year}",
                ),
                "received_at",
            )
    else:
        if not in_one_statement:
            # Read again under the row lock: a close or a publish either ran before (and this
            # post is refused) or waits for this post (and counts it).
            c = lock_for_posting(c.id)
            if not is_open_to_opinions(c):
                raise StateError(_("This consultation is not open for opinions."))
        # Posting follows the consultation (on PostgreSQL before the lock: it needs none).
        notifications.follow(by, consultation=c)

    year = now.astimezone(LOCAL_TZ).year
    values = {
        "consultation_id": c.id,
        "section_id": section.id if section else None,
        "author_id": None if offline else by.id,
        "entered_by_id": by.id if offline else None,
        "contributor_name": contributor_name if offline else None,
        "locality_id": (contributor_locality.id if contributor_locality else None)
        if offline
        else by.locality_id,
        "contributor_name_public": bool(contributor_name_public) if offline else False,
        "channel": channel,
        "stance": stance,
        "body": body,
        "status": OpinionStatus.published,
        "created_at": now,
        "received_at": received_at if offline else None,
        **NEW_OPINION_BLANKS,
    }
    if in_one_statement:
        inserted = insert_if_open(values, year=year, now=now)
        if inserted is None:
            raise StateError(_("This consultation is not open for opinions."))
        opinion_id, values["tracking_number"] = inserted
    else:
        values["tracking_number"] = next_tracking_number(year)
        opinion_id = db.session.execute(_INSERT_OPINION, values).scalar_one()
    # The row as an ORM object, attached as if loaded, for the caller and the receipt.
    opinion = Opinion(
        id=opinion_id,
        consultation=c,
        section=section,
        author=None if offline else by,
        entered_by=by if offline else None,
        **values,
    )
    make_transient_to_detached(opinion)
    db.session.add(opinion)
    db.session.expire(c, ["opinion_count"])  # the insert trigger counted it (tally.py)
    audit_now(
        "opinion.create",
        opinion,
        by=by,
        locality_id=c.locality_id,
        consultation_id=c.id,
        tracking_number=opinion.tracking_number,
        channel=channel.value,
        **({"contributor_name_public": bool(contributor_name_public)} if offline else {}),
    )
    alike_jobs.schedule(opinion)  # alike opinions: grouped by the worker after the commit
    if not offline:
        # The receipt is written by the worker (_receipt below): no letter drawn in the request.
        mail.queue_later("opinion_receipt", [(by.email, {"opinion_id": opinion_id})])
    return opinion


@mail.builder("opinion_receipt")
def _receipt(opinion_id: int) -> dict[str, Any] | None:
    """The receipt of an opinion given online, for its author (built by the worker)."""
    opinion = db.session.get(Opinion, opinion_id)
    author = opinion.author if opinion is not None else None
    if author is None or not author.email or not author.is_active:
        return None  # the account was deleted meanwhile: no one to write to
    return {
        "to": author.email,
        "locale": author.locale,
        "user": author,
        "opinion": opinion,
        "consultation": opinion.consultation,
        "section": opinion.section,
    }


def _lock_opinion(opinion: Opinion) -> Opinion:
    """Take the lock of the opinion's consultation and read both again (consultations/locking.py)."""
    lock_consultation(opinion.consultation_id)
    reread(Opinion, [opinion.id])
    return opinion


def _check_open_for_author(opinion: Opinion) -> None:
    if not is_open_to_opinions(opinion.consultation):
        raise StateError(_("Opinions can be changed only while the consultation is open."))
    if opinion.status == OpinionStatus.withdrawn:
        raise StateError(_("This opinion has been withdrawn."))
    if opinion.status == OpinionStatus.hidden:
        raise StateError(_("This opinion was hidden by a moderator and can no longer be changed."))


def check_author_can_change(opinion: Opinion) -> None:
    """Raise ``StateError`` when the author may no longer edit or withdraw ``opinion``
    (lets a view refuse before showing a form that could not be saved)."""
    _check_open_for_author(opinion)


def edit_opinion(opinion: Opinion, *, by: User, body: str, stance: Stance) -> Opinion:
    """Change an opinion while the consultation is open; the earlier text is kept."""
    _check_open_for_author(_lock_opinion(opinion))
    body = _check_body(body)
    if body == opinion.body and stance == opinion.stance:
        return opinion
    now = utcnow()
    db.session.add(
        OpinionRevision(
            opinion=opinion,
            body=opinion.body,
            stance=opinion.stance,
            replaced_at=now,
            replaced_by_id=by.id,
        )
    )
    opinion.body, opinion.stance, opinion.edited_at = body, stance, now
    db.session.flush()
    alike_jobs.schedule(opinion)  # regrouped from its new text
    audit(
        "opinion.edit",
        opinion,
        by=by,
        locality_id=opinion.consultation.locality_id,
        tracking_number=opinion.tracking_number,
    )
    return opinion


def withdraw_opinion(opinion: Opinion, *, by: User) -> Opinion:
    """Withdraw an opinion; it stays in the data, marked withdrawn, its text no longer public."""
    _check_open_for_author(_lock_opinion(opinion))
    opinion.status = OpinionStatus.withdrawn
    opinion.withdrawn_at = utcnow()
    db.session.flush()
    audit(
        "opinion.withdraw",
        opinion,
        by=by,
        locality_id=opinion.consultation.locality_id,
        tracking_number=opinion.tracking_number,
    )
    return opinion


def flag_opinion(opinion: Opinion, *, by: User, reason: str) -> Flag | None:
    """Report an opinion to the moderators; a second report by the same person is ignored."""
    reason = clean_text(reason)
    if not reason:
        raise InvalidInput(_("Say why this opinion should be reviewed."), "reason")
    # Under the lock, a second report by the same person finds the first one (never the
    # UNIQUE constraint's error).
    _lock_opinion(opinion)
    if not is_open_to_reports(opinion):
        raise StateError(
            _(
                "The record of this consultation is published: its opinions can no longer be reported."
            )
        )
    if not is_reportable(opinion):
        raise StateError(_("Only a published opinion can be reported."))
    existing = db.session.scalar(
        select(Flag).where(Flag.opinion_id == opinion.id, Flag.user_id == by.id)
    )
    if existing is not None:
        return None
    flag = Flag(opinion=opinion, user_id=by.id, reason=reason[:1000])
    db.session.add(flag)
    opinion.flag_count = Opinion.flag_count + 1
    db.session.flush()
    audit(
        "opinion.flag",
        opinion,
        by=by,
        locality_id=opinion.consultation.locality_id,
        reason=flag.reason,
    )
    return flag
