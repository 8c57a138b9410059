"""Moderation and answers: hiding and restoring opinions, answering them, counting progress.

Like consultations/services.py, each function checks the consultation's state, changes the
objects, records an audit event and flushes; it never commits. Mail queued here leaves only
after the view's commit. Nothing is deleted: a hidden opinion keeps its text, a replaced
answer keeps its Response row.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, case, func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from audit.models import record as audit
from auth.models import User
from consultations import tally
from consultations.locking import lock_consultation, reread
from consultations.models import Flag, Opinion, OpinionStatus, Outcome, Response
from consultations.services import InvalidInput, StateError, ensure_not_concluded
from core.extensions import db
from core.textutil import clean_text
from core.timeutil import utcnow
from infra import mail
from moderation import telling
from moderation.forms import OUTCOME_LABELS
from notifications import services as notifications

REASON_MAX = 1000
EXPLANATION_MAX = 10_000
SUMMARY_MAX = 2000

__all__ = [
    "InvalidInput",
    "StateError",
    "answer_progress",
    "hide_opinion",
    "needs_answer",
    "needs_answer_clause",
    "progress_by_consultation",
    "respond",
    "restore_opinion",
]


# --- the rule shared with the record ---------------------------------------------------------


def needs_answer(opinion: Opinion) -> bool:
    """Every opinion needs an answer unless its author withdrew it (hidden ones too)."""
    return opinion.status != OpinionStatus.withdrawn


def needs_answer_clause():
    """``needs_answer`` as a SQL condition on Opinion."""
    return Opinion.status != OpinionStatus.withdrawn


# --- hiding and restoring ------------------------------------------------------------------


def _resolve_flags(opinion: Opinion, by: User) -> int:
    result = db.session.execute(
        update(Flag)
        .where(Flag.opinion_id == opinion.id, Flag.resolved_at.is_(None))
        .values(resolved_at=utcnow(), resolved_by_id=by.id)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def _mail_author(template: str, opinion: Opinion, **context: Any) -> None:
    author = opinion.author
    if author is None or not author.email or not author.is_active:
        return  # offline opinions and deleted accounts have no one to write to
    if not notifications.account_mail_wanted(author, template):
        return  # the author chose a digest, or no e-mail, for this (notifications/)
    mail.queue(
        template,
        to=author.email,
        locale=author.locale,
        user=author,
        opinion=opinion,
        consultation=opinion.consultation,
        section=opinion.section,
        outcome_labels=OUTCOME_LABELS,
        **context,
    )


def hide_opinion(op: Opinion, *, by: User, reason: str | None) -> Opinion:
    """Hide an opinion from the public with a reason shown in its place; its open reports are
    resolved and its author is told why."""
    c = lock_consultation(op.consultation_id)
    reread(Opinion, [op.id])
    ensure_not_concluded(c)
    if op.status == OpinionStatus.withdrawn:
        raise StateError(_("This opinion was withdrawn by its author; it is not shown publicly."))
    if op.status == OpinionStatus.hidden:
        raise StateError(_("This opinion is already hidden."))
    reason = clean_text(reason)
    if not reason:
        raise InvalidInput(
            _(
                "Give the reason for hiding this opinion; it is shown publicly in place of the text."
            ),
            "reason",
        )
    if len(reason) > REASON_MAX:
        raise InvalidInput(_("The reason can be at most %(n)d characters.", n=REASON_MAX), "reason")
    op.status = OpinionStatus.hidden
    op.hidden_at = utcnow()
    op.hidden_by_id = by.id
    op.hidden_reason = reason
    resolved = _resolve_flags(op, by)
    db.session.flush()
    audit(
        "opinion.hide",
        op,
        by=by,
        locality_id=c.locality_id,
        consultation_id=c.id,
        tracking_number=op.tracking_number,
        reason=reason,
        flags_resolved=resolved,
    )
    notifications.opinion_moderated(op, by=by, detail="hidden")
    _mail_author("opinion_hidden", op, reason=reason)
    return op


def restore_opinion(op: Opinion, *, by: User) -> Opinion:
    """Show a hidden opinion again; on a published opinion, dismiss its open reports."""
    c = lock_consultation(op.consultation_id)
    reread(Opinion, [op.id])
    ensure_not_concluded(c)
    if op.status == OpinionStatus.hidden:
        previous = op.hidden_reason
        op.status = OpinionStatus.published
        # The hiding stays in the audit trail; the opinion row shows today's state.
        op.hidden_at = op.hidden_by_id = op.hidden_reason = None
        resolved = _resolve_flags(op, by)
        db.session.flush()
        audit(
            "opinion.restore",
            op,
            by=by,
            locality_id=c.locality_id,
            consultation_id=c.id,
            tracking_number=op.tracking_number,
            hidden_reason=previous,
            flags_resolved=resolved,
        )
        notifications.opinion_moderated(op, by=by, detail="restored")
        _mail_author("opinion_restored", op)
        return op
    if op.status == OpinionStatus.published:
        resolved = _resolve_flags(op, by)
        if resolved:
            db.session.flush()
            audit(
                "opinion.keep",
                op,
                by=by,
                locality_id=c.locality_id,
                consultation_id=c.id,
                tracking_number=op.tracking_number,
                flags_resolved=resolved,
            )
            return op
        raise StateError(_("This opinion is not hidden."))
    raise StateError(_("This opinion was withdrawn by its author; it is not shown publicly."))


# --- answers ---------------------------------------------------------------------------------


def _outcome(value: Any) -> Outcome:
    try:
        return Outcome(value)
    except ValueError:
        raise InvalidInput(_("Choose the outcome of the answer."), "outcome") from None


def _reread_state(ops: list[Opinion]) -> None:
    """What decides an answer, read again under the lock (another request may have withdrawn
    or answered an opinion meanwhile): a few columns, not thousands of whole rows."""
    columns = (Opinion.status, Opinion.response_id, Opinion.withdrawn_at)
    by_id = {op.id: op for op in ops}
    ids = list(by_id)
    for start in range(0, len(ids), 500):
        rows = db.session.execute(
            select(Opinion.id, *columns).where(Opinion.id.in_(ids[start : start + 500]))
        )
        for oid, *values in rows:
            for column, value in zip(columns, values, strict=True):
                set_committed_value(by_id[oid], column.key, value)


def respond(
    opinions: Iterable[Opinion],
    *,
    by: User,
    outcome: Outcome | str,
    explanation: str | None,
    summary: str | None = None,
) -> Response:
    """Answer one opinion or a group of alike ones of the same consultation with one Response.

    An earlier answer of any of them is replaced: its row stays, the opinion is relinked and
    the change is in the audit trail. Each author is told the answer. ``summary``, optional,
    sums the opinions up for the record of consultation, which prints it in place of their text.
    """
    unique: dict[int, Opinion] = {}
    for op in opinions:
        unique.setdefault(op.id, op)
    ops = sorted(unique.values(), key=lambda o: o.id)
    if not ops:
        raise InvalidInput(_("Choose the opinions to answer."), "opinion_ids")
    c = ops[0].consultation
    if any(op.consultation_id != c.id for op in ops):
        raise InvalidInput(
            _("Opinions answered together must belong to the same consultation."), "opinion_ids"
        )
    # Under the lock an answer is either inside the published record's hash or refused.
    c = lock_consultation(c.id)
    _reread_state(ops)
    ensure_not_concluded(c)
    withdrawn = [op.tracking_number for op in ops if not needs_answer(op)]
    if withdrawn:
        raise StateError(
            _("A withdrawn opinion needs no answer: %(numbers)s.", numbers=", ".join(withdrawn))
        )
    chosen = _outcome(outcome)
    explanation = clean_text(explanation)
    if not explanation:
        raise InvalidInput(_("Write the explanation of the answer."), "explanation")
    if len(explanation) > EXPLANATION_MAX:
        raise InvalidInput(
            _("The explanation can be at most %(n)d characters.", n=EXPLANATION_MAX), "explanation"
        )

    summary = clean_text(summary or "")
    if len(summary) > SUMMARY_MAX:
        raise InvalidInput(
            _("The summary can be at most %(n)d characters.", n=SUMMARY_MAX), "summary"
        )
    response = Response(
        consultation_id=c.id,
        outcome=chosen,
        explanation=explanation,
        summary=summary or None,
        author_id=by.id,
    )
    db.session.add(response)
    db.session.flush()
    replaced = [(op, op.response_id) for op in ops if op.response_id is not None]
    # One UPDATE per 500 opinions, not one per opinion: a group answer to 5,000 alike opinions
    # stays well under a second (bench/mail.py). The objects are told what the row now holds.
    ids = [op.id for op in ops]
    for start in range(0, len(ids), 500):
        db.session.execute(
            update(Opinion)
            .where(Opinion.id.in_(ids[start : start + 500]))
            .values(response_id=response.id)
            .execution_options(synchronize_session=False)
        )
    for op in ops:
        set_committed_value(op, "response_id", response.id)
        set_committed_value(op, "response", response)
    audit(
        "response.create",
        response,
        by=by,
        locality_id=c.locality_id,
        consultation_id=c.id,
        outcome=chosen.value,
        explanation=explanation,
        summary=summary or None,
        opinion_ids=[op.id for op in ops],
        tracking_numbers=[op.tracking_number for op in ops],
    )
    for op, old in replaced:
        audit(
            "opinion.answer_replace",
            op,
            by=by,
            locality_id=c.locality_id,
            consultation_id=c.id,
            tracking_number=op.tracking_number,
            old_response_id=old,
            new_response_id=response.id,
        )
    # The authors are told by the worker: one durable row here, not a notification and a
    # message per author (bench/mail.py: a group answer to 5,000 opinions in under a second).
    mail.queue_fanout(
        telling.ANSWERED,
        {"response_id": response.id, "opinion_ids": ids, "by_id": by.id},
    )
    return response


# --- progress --------------------------------------------------------------------------------


def answer_progress(consultation_id: int, counts: tally.Tally | None = None) -> dict[str, Any]:
    """Opinions needing an answer and those answered, overall and per section (None is the
    whole draft), from the tally the triggers keep (``counts``, when the caller read it) (consultations/tally.py): a few rows
    however many opinions, where grouping 100,000 opinions took 20 ms a page."""
    sections: dict[int | None, dict[str, int]] = {}
    total = answered = 0
    counts = counts or tally.read(consultation_id)
    for (key, status, _stance, done), n in counts.rows.items():
        if status == OpinionStatus.withdrawn:  # needs_answer: every opinion but those
            continue
        bucket = sections.setdefault(key or None, {"total": 0, "answered": 0})
        bucket["total"] += n
        total += n
        if done:
            bucket["answered"] += n
            answered += n
    return {
        "total": total,
        "answered": answered,
        "remaining": total - answered,
        "complete": answered == total,
        "sections": sections,
    }


def progress_by_consultation(consultation_ids: list[int]) -> dict[int, dict[str, int]]:
    """For a page of consultations: to answer, answered and hidden, in one query of the tally."""
    if not consultation_ids:
        return {}
    t = tally.OpinionTally
    needs = t.status != OpinionStatus.withdrawn
    rows = db.session.execute(
        select(
            t.consultation_id,
            func.sum(case((needs, t.n), else_=0)),
            func.sum(case((and_(needs, t.answered), t.n), else_=0)),
            func.sum(case((t.status == OpinionStatus.hidden, t.n), else_=0)),
        )
        .where(t.consultation_id.in_(consultation_ids))
        .group_by(t.consultation_id)
    ).all()
    out = {cid: {"total": 0, "answered": 0, "hidden": 0} for cid in consultation_ids}
    for cid, n, done, n_hidden in rows:
        out[cid] = {"total": int(n or 0), "answered": int(done or 0), "hidden": int(n_hidden or 0)}
    return out
