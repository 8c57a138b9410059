"""Business rules of consultations and opinions.

Each function checks that the consultation's state allows the action, changes the objects,
records an audit event and flushes; it never commits. The view commits once, and mail queued
here is sent only after that commit. A state that forbids the action raises ``StateError``
(the views answer 409); bad values raise ``InvalidInput`` (400).
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, select
from sqlalchemy.orm import make_transient_to_detached

from audit.models import record as audit
from audit.models import record_now as audit_now
from auth.models import User
from auth.permissions import is_opening_fixed
from consultations import tally
from consultations.drafttext import ARTICLE_LINE, DraftSection, draft_text, split_sections  # noqa: F401 - re-exported
from consultations.locking import lock_consultation, reread
from consultations.models import (
    NEW_OPINION_BLANKS,
    Category,
    Channel,
    Consultation,
    Flag,
    Kind,
    Opinion,
    OpinionRevision,
    OpinionStatus,
    Section,
    Stance,
    Status,
    TrackingCounter,
)
from consultations.search import index_text
from core.errors import InvalidInput, StateError
from core.extensions import db
from core.textutil import clean_text
from core.timeutil import LOCAL_TZ, local_date, local_day_start, to_local, utcnow
from infra import mail
from localities.models import Locality

BODY_MAX = 5000


def _folded_search_text(c: Consultation, sections: list[Section] | list[DraftSection]) -> str:
    parts = [c.title, c.summary or ""] + [f"{s.heading}\n{s.text}" for s in sections]
    return index_text("\n".join(parts))


def _set_sections(c: Consultation, text: str) -> None:
    for old in list(c.sections):
        c.sections.remove(old)
    db.session.flush()
    drafts = split_sections(text)
    for position, draft in enumerate(drafts, start=1):
        c.sections.append(Section(position=position, heading=draft.heading, text=draft.text))
    c.search_folded = _folded_search_text(c, drafts)


# --- consultations ---------------------------------------------------------------------------


def min_days(kind: Kind) -> int:
    """The shortest comment period the law asks for this kind of consultation."""
    return int(current_app.config["MIN_COMMENT_DAYS"]) if kind in (Kind.comment, Kind.decide) else 0


def check_period(kind: Kind, opens_at: datetime, closes_at: datetime) -> None:
    if closes_at <= opens_at:
        raise InvalidInput(_("The closing date must be after the opening date."), "closes_at")
    days = min_days(kind)
    if days and closes_at - opens_at < timedelta(days=days):
        raise InvalidInput(
            _("The consultation must stay open at least %(days)d days.", days=days), "closes_at"
        )


def create_consultation(
    *,
    by: User,
    locality: Locality,
    title: str,
    summary: str,
    kind: Kind,
    category: Category,
    opens_at: datetime,
    closes_at: datetime,
    text: str,
    legal_basis: str = "",
    meetings: str = "",
) -> Consultation:
    """Create a consultation as a draft, its text split into articles."""
    check_period(kind, opens_at, closes_at)
    c = Consultation(
        locality=locality,
        title=clean_text(title),
        summary=clean_text(summary),
        legal_basis=clean_text(legal_basis),
        meetings=clean_text(meetings),
        kind=kind,
        category=category,
        opens_at=opens_at,
        closes_at=closes_at,
        stored_status=Status.draft,
        created_by=by,
    )
    db.session.add(c)
    _set_sections(c, text)
    db.session.flush()
    audit("consultation.create", c, by=by, locality_id=locality.id, title=c.title)
    return c


def update_consultation(
    c: Consultation,
    *,
    by: User,
    title: str,
    summary: str,
    kind: Kind,
    category: Category,
    locality: Locality,
    opens_at: datetime,
    closes_at: datetime,
    text: str | None,
    legal_basis: str = "",
    meetings: str = "",
) -> Consultation:
    """Edit a draft (or one opened for a date still to come); once open only the closing date
    may change (see ``extend_consultation``). A change of dates is kept in the audit trail."""
    if c.status != Status.draft:
        raise StateError(
            _("Only a draft can be edited. An open consultation can only be extended or closed.")
        )
    if is_opening_fixed(c):
        now = utcnow()
        if opens_at < local_day_start(local_date(now)):
            raise InvalidInput(
                _("This consultation has been opened: its opening date cannot be in the past."),
                "opens_at",
            )
        opens_at = max(opens_at, now)  # today: it opens now, as ``open_consultation`` does
    check_period(kind, opens_at, closes_at)
    old_dates = (c.opens_at, c.closes_at)
    c.title, c.summary = clean_text(title), clean_text(summary)
    c.legal_basis, c.meetings = clean_text(legal_basis), clean_text(meetings)
    c.kind, c.category, c.locality = kind, category, locality
    c.opens_at, c.closes_at = opens_at, closes_at
    if text is not None:
        _set_sections(c, text)
    else:
        c.search_folded = _folded_search_text(c, c.sections)
    db.session.flush()
    dates = {}
    if old_dates != (opens_at, closes_at):
        dates = {
            "old_opens_at": old_dates[0].isoformat(),
            "new_opens_at": opens_at.isoformat(),
            "old_closes_at": old_dates[1].isoformat(),
            "new_closes_at": closes_at.isoformat(),
        }
    audit("consultation.edit", c, by=by, locality_id=c.locality_id, **dates)
    return c


def update_section(section: Section, *, by: User, heading: str, text: str) -> Section:
    c = section.consultation
    if c.status != Status.draft:
        raise StateError(_("Only a draft can be edited."))
    section.heading, section.text = clean_text(heading)[:500], clean_text(text)
    c.search_folded = _folded_search_text(c, c.sections)
    db.session.flush()
    audit("section.edit", section, by=by, locality_id=c.locality_id, consultation_id=c.id)
    return section


def open_consultation(c: Consultation, *, by: User) -> Consultation:
    """Publish a draft: it opens now, or on ``opens_at`` when that is still to come."""
    if c.stored_status != Status.draft:
        raise StateError(_("This consultation has already been opened."))
    now = utcnow()
    if not c.sections:
        raise InvalidInput(_("Add the draft text before opening the consultation."), "text")
    opens_at = max(c.opens_at, now)
    if c.closes_at <= now:
        raise InvalidInput(
            _("The closing date has passed. Choose a later closing date."), "closes_at"
        )
    check_period(c.kind, opens_at, c.closes_at)
    c.opens_at = opens_at
    c.stored_status = Status.open
    c.opened_at = now
    db.session.flush()
    audit("consultation.open", c, by=by, locality_id=c.locality_id, opens_at=opens_at.isoformat())
    return c


def extend_consultation(c: Consultation, *, by: User, closes_at: datetime) -> Consultation:
    """Move the closing date later; the only way to shorten is to close early with a reason."""
    if c.status not in (Status.open, Status.draft) or c.stored_status != Status.open:
        raise StateError(_("Only an open consultation can be extended."))
    if closes_at <= c.closes_at:
        raise InvalidInput(
            _("The new closing date must be later than the current one."), "closes_at"
        )
    old = c.closes_at
    c.closes_at = closes_at
    db.session.flush()
    audit(
        "consultation.extend",
        c,
        by=by,
        locality_id=c.locality_id,
        old=old.isoformat(),
        new=closes_at.isoformat(),
    )
    return c


def close_consultation(c: Consultation, *, by: User, reason: str | None) -> Consultation:
    """Close an open consultation; before its closing date a public reason is required."""
    if c.status != Status.open:
        raise StateError(_("Only an open consultation can be closed."))
    reason = clean_text(reason)
    now = utcnow()
    if now < c.closes_at:
        if not reason:
            raise InvalidInput(
                _(
                    "Give the reason for closing before the planned date; it will be shown publicly."
                ),
                "reason",
            )
        c.closed_early_at = now
        c.close_reason = reason[:2000]
        c.closes_at = now
    c.stored_status = Status.closed
    db.session.flush()
    audit("consultation.close", c, by=by, locality_id=c.locality_id, reason=reason or None)
    return c


def ensure_not_concluded(c: Consultation) -> None:
    if c.status == Status.concluded:
        raise StateError(
            _("The record of this consultation is published and can no longer change.")
        )


# --- opinions --------------------------------------------------------------------------------


def next_tracking_number(year: int) -> str:
    """Hand out the next number of the year. The counter row is updated in the caller's
    transaction, so numbers are unique and, once committed, without gaps."""
    dialect = db.session.get_bind().dialect.name
    number = db.session.execute(_next_number_stmt(dialect), {"year": year}).scalar_one()
    return f"YK-{year}-{number:06d}"


@functools.cache
def _next_number_stmt(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
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
    if offline:
        # Allowed while closed, so it could race with publishing the record: serialised. An
        # online opinion needs an open consultation and takes no lock (consultations/locking.py).
        c = lock_consultation(c.id)
        if c.status not in (Status.open, Status.closed):
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
    elif c.status != Status.open:
        raise StateError(_("This consultation is not open for opinions."))

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
        "tracking_number": next_tracking_number(year),
        "created_at": now,
        "received_at": received_at if offline else None,
        **NEW_OPINION_BLANKS,
    }
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
    if not offline:
        mail.queue(
            "opinion_receipt",
            to=by.email,
            locale=by.locale,
            user=by,
            opinion=opinion,
            consultation=c,
            section=section,
        )
    return opinion


def _lock_opinion(opinion: Opinion) -> Opinion:
    """Take the lock of the opinion's consultation and read both again (consultations/locking.py)."""
    lock_consultation(opinion.consultation_id)
    reread(Opinion, [opinion.id])
    return opinion


def _check_open_for_author(opinion: Opinion) -> None:
    if opinion.consultation.status != Status.open:
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
    if opinion.status != OpinionStatus.published:
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


def stance_counts(consultation_id: int) -> dict[int | None, dict[str, int]]:
    """Published opinions per section (None = whole draft) and stance, from the tally."""
    return tally.read(consultation_id).stance_counts()
