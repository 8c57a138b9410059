"""Business rules of consultations: creating and editing a draft, opening, extending, closing.

Each function checks that the consultation's state allows the action (the predicates of
auth/permissions.py), changes the objects, records an audit event and flushes; it never commits.
The view commits once, and mail queued here is sent only after that commit. A state that forbids
the action raises ``StateError`` (the views answer 409); bad values raise ``InvalidInput`` (400).
The rules of opinions are in consultations/opinions.py (re-exported here).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _

from audit.models import record as audit
from auth.models import User
from auth.permissions import (
    is_concluded,
    is_open_to_edits,
    is_open_to_extension,
    is_open_to_opinions,
    is_openable,
    is_opening_fixed,
)
from consultations import tally
from consultations.drafttext import ARTICLE_LINE, DraftSection, draft_text, split_sections  # noqa: F401 - re-exported
from consultations.models import Category, Consultation, Kind, Section, Status
from consultations.opinions import (  # noqa: F401 - re-exported: tests, bench/ and the demo call them here
    BODY_MAX,
    check_author_can_change,
    edit_opinion,
    flag_opinion,
    next_tracking_number,
    post_opinion,
    withdraw_opinion,
)
from consultations.search import index_text
from core.errors import InvalidInput, StateError
from core.extensions import db
from core.textutil import clean_text
from core.timeutil import local_date, local_day_start, utcnow
from localities.models import Locality
from notifications import services as notifications


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
    if not is_open_to_edits(c):
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
    if not is_open_to_edits(c):
        raise StateError(_("Only a draft can be edited."))
    section.heading, section.text = clean_text(heading)[:500], clean_text(text)
    c.search_folded = _folded_search_text(c, c.sections)
    db.session.flush()
    audit("section.edit", section, by=by, locality_id=c.locality_id, consultation_id=c.id)
    return section


def open_consultation(c: Consultation, *, by: User) -> Consultation:
    """Publish a draft: it opens now, or on ``opens_at`` when that is still to come."""
    if not is_openable(c):
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
    notifications.consultation_opened(c, by=by)  # a scheduled one: notify_openings, on its date
    return c


def extend_consultation(c: Consultation, *, by: User, closes_at: datetime) -> Consultation:
    """Move the closing date later; the only way to shorten is to close early with a reason."""
    if not is_open_to_extension(c):
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
    notifications.consultation_changed(c, by=by, detail="extended")
    return c


def close_consultation(c: Consultation, *, by: User, reason: str | None) -> Consultation:
    """Close an open consultation; before its closing date a public reason is required."""
    if not is_open_to_opinions(c):
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
    if c.closed_early_at is not None:
        notifications.consultation_changed(c, by=by, detail="closed_early")
    return c


def ensure_not_concluded(c: Consultation) -> None:
    if is_concluded(c):
        raise StateError(
            _("The record of this consultation is published and can no longer change.")
        )


def stance_counts(consultation_id: int) -> dict[int | None, dict[str, int]]:
    """Published opinions per section (None = whole draft) and stance, from the tally."""
    return tally.read(consultation_id).stance_counts()
