"""The moderator's decisions about groups of alike opinions. Like the other services: lock the
consultation, check, change, audit, flush; never commit.

- ``remove``: an opinion that does not belong is taken out of its group and kept apart, so a
  recomputation (``grouping.recompute``) never puts it back by itself.
- ``merge``: two groups of one consultation and article become one; an AlikeLink between
  their representatives keeps them together on recomputation.
- ``answer_group``: one answer for every member still waiting for one, written by the worker
  (``group_answer`` fan-out): the request writes one row, whatever the size of the group.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, or_, select, update

from alike import grouping
from alike.models import AlikeLink, OpinionAlike, OpinionGroup
from audit.models import record as audit
from auth.models import User
from consultations.locking import lock_consultation
from consultations.models import Opinion, Outcome
from consultations.services import InvalidInput, StateError, ensure_not_concluded
from core.extensions import db
from core.textutil import clean_text
from core.timeutil import utcnow
from infra import mail
from moderation import services as moderation
from moderation.services import needs_answer_clause

log = logging.getLogger(__name__)

#: The fan-out row a group answer writes (``mail.queue_fanout``), expanded by the worker.
GROUP_ANSWER = "group_answer"
#: A group answer still marked as being recorded after this long was lost (its fan-out row
#: failed for good): the group may be answered again. A double click comes within seconds.
ANSWERING_STALE = timedelta(minutes=30)


def _reread(group: OpinionGroup) -> OpinionGroup:
    """The group read again under the consultation's lock (another request may have changed
    it, or dissolved it, meanwhile)."""
    fresh = db.session.scalars(
        select(OpinionGroup)
        .where(OpinionGroup.id == group.id)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if fresh is None:
        raise StateError(_("This group no longer exists: the opinions were grouped again."))
    return fresh


def is_answering(group: OpinionGroup) -> bool:
    """A group answer is being recorded by the worker (the group page says so)."""
    at = group.answering_at
    return at is not None and at > utcnow() - ANSWERING_STALE


def _being_answered(group_id: int) -> StateError:
    return StateError(
        _(
            "The group %(number)d is being answered. Wait until every opinion of it has "
            "the answer, then try again.",
            number=group_id,
        )
    )


def _not_answering(group: OpinionGroup) -> None:
    if is_answering(group):
        raise _being_answered(group.id)


def _lock(group: OpinionGroup) -> OpinionGroup:
    c = lock_consultation(group.consultation_id)
    ensure_not_concluded(c)
    return _reread(group)


# --- removing and merging --------------------------------------------------------------------


def remove(group: OpinionGroup, opinion: Opinion, *, by: User) -> OpinionGroup | None:
    """Take ``opinion`` out of ``group`` (kept apart on recomputation); the group, or None
    when it was dissolved."""
    group = _lock(group)
    _not_answering(group)
    row = db.session.scalars(
        select(OpinionAlike)
        .where(OpinionAlike.opinion_id == opinion.id)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if row is None or row.group_id != group.id:
        raise InvalidInput(
            _(
                "The opinion %(tracking)s is not in the group %(number)d.",
                tracking=opinion.tracking_number,
                number=group.id,
            )
        )
    row.group_id = None
    row.apart = True
    links = list(
        db.session.scalars(
            select(AlikeLink).where(
                or_(AlikeLink.opinion_id == opinion.id, AlikeLink.other_opinion_id == opinion.id)
            )
        )
    )
    db.session.flush()
    gid, cid, locality_id = group.id, group.consultation_id, group.consultation.locality_id
    kept = grouping.refresh(group)
    # A merge by hand linked this opinion to another group: the link now holds the group by
    # its (new) representative, or goes with the group.
    anchor = kept.representative_id if kept is not None else None
    for link in links:
        other = link.other_opinion_id if link.opinion_id == opinion.id else link.opinion_id
        if anchor is None or anchor == other:
            db.session.delete(link)
        elif link.opinion_id == opinion.id:
            link.opinion_id = anchor
        else:
            link.other_opinion_id = anchor
    db.session.flush()
    audit(
        "alike.remove",
        opinion,
        by=by,
        locality_id=locality_id,
        consultation_id=cid,
        tracking_number=opinion.tracking_number,
        group=gid,
        count=kept.size if kept is not None else 0,
    )
    return kept


def merge(group: OpinionGroup, other: OpinionGroup, *, by: User) -> OpinionGroup:
    """Put ``other``'s members into ``group`` (an AlikeLink keeps it on recomputation)."""
    group = _lock(group)
    if other.id == group.id:
        raise InvalidInput(_("Give the number of another group than this one."), "other_group")
    if other.consultation_id != group.consultation_id:
        raise InvalidInput(
            _("There is no group %(number)d in this consultation.", number=other.id),
            "other_group",
        )
    other = _reread(other)
    if other.section_id != group.section_id:
        raise InvalidInput(
            _(
                "The group %(number)d is about another article: only groups of the same "
                "article can be merged.",
                number=other.id,
            ),
            "other_group",
        )
    _not_answering(group)
    _not_answering(other)
    moved = db.session.execute(
        update(OpinionAlike)
        .where(OpinionAlike.group_id == other.id)
        .values(group_id=group.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.add(
        AlikeLink(
            consultation_id=group.consultation_id,
            opinion_id=group.representative_id,
            other_opinion_id=other.representative_id,
            by_id=by.id,
        )
    )
    merged_id, merged_size = other.id, other.size
    db.session.execute(
        delete(OpinionGroup)
        .where(OpinionGroup.id == other.id)
        .execution_options(synchronize_session=False)
    )
    db.session.expunge(other)
    db.session.flush()
    kept = grouping.refresh(group) or group
    audit(
        "alike.merge",
        kept,
        by=by,
        locality_id=kept.consultation.locality_id,
        consultation_id=kept.consultation_id,
        group=kept.id,
        merged_group=merged_id,
        count=moved or merged_size,
    )
    return kept


# --- answering a whole group -----------------------------------------------------------------


def _pending_query(group_id: int, *columns: Any):
    """The members still waiting for an answer (not answered, not withdrawn)."""
    return (
        select(*columns)
        .select_from(Opinion)
        .join(OpinionAlike, OpinionAlike.opinion_id == Opinion.id)
        .where(
            OpinionAlike.group_id == group_id,
            Opinion.response_id.is_(None),
            needs_answer_clause(),
        )
    )


def _still_pending(ids: list[int]) -> list[Opinion]:
    """Those of ``ids`` still waiting for an answer, whatever became of their group."""
    out: list[Opinion] = []
    for start in range(0, len(ids), 500):
        out.extend(
            db.session.scalars(
                select(Opinion)
                .where(
                    Opinion.id.in_(ids[start : start + 500]),
                    Opinion.response_id.is_(None),
                    needs_answer_clause(),
                )
                .order_by(Opinion.id)
            )
        )
    return out


def _checked(outcome: Any, explanation: str | None, summary: str | None) -> tuple[str, str, str]:
    """The answer's fields as ``moderation.services.respond`` will take them, checked now so
    that the moderator is told beside the field, not the worker later."""
    try:
        chosen = Outcome(outcome)
    except ValueError:
        raise InvalidInput(_("Choose the outcome of the answer."), "outcome") from None
    explanation = clean_text(explanation or "")
    if not explanation:
        raise InvalidInput(_("Write the explanation of the answer."), "explanation")
    if len(explanation) > moderation.EXPLANATION_MAX:
        raise InvalidInput(
            _("The explanation can be at most %(n)d characters.", n=moderation.EXPLANATION_MAX),
            "explanation",
        )
    summary = clean_text(summary or "")
    if len(summary) > moderation.SUMMARY_MAX:
        raise InvalidInput(
            _("The summary can be at most %(n)d characters.", n=moderation.SUMMARY_MAX),
            "summary",
        )
    return chosen.value, explanation, summary


def answer_group(
    group: OpinionGroup,
    *,
    by: User,
    outcome: Outcome | str,
    explanation: str,
    summary: str | None = None,
) -> int:
    """Validate, then write one durable fan-out row (infra.mail.queue_fanout "group_answer")
    that the worker expands into ``moderation.services.respond`` over the group's members
    needing an answer. Returns how many opinions the answer will cover."""
    chosen, explanation, summary = _checked(outcome, explanation, summary)
    group = _lock(group)
    # The opinions the moderator answers are those waiting now: named in the row, they are
    # answered even if the group changes or dissolves before the worker comes.
    named = list(db.session.scalars(_pending_query(group.id, Opinion.id).order_by(Opinion.id)))
    pending = len(named)
    if not pending:
        raise StateError(_("Every opinion of this group already has an answer."))
    now = utcnow()
    # The conditional UPDATE is the guard against a double click: the second finds it set.
    won = db.session.execute(
        update(OpinionGroup)
        .where(
            OpinionGroup.id == group.id,
            or_(
                OpinionGroup.answering_at.is_(None),
                OpinionGroup.answering_at < now - ANSWERING_STALE,
            ),
        )
        .values(answering_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        raise _being_answered(group.id)
    db.session.expire(group, ["answering_at"])
    mail.queue_fanout(
        GROUP_ANSWER,
        {
            "group_id": group.id,
            "consultation_id": group.consultation_id,
            "opinion_ids": named,
            "by_id": by.id,
            "outcome": chosen,
            "explanation": explanation,
            "summary": summary or None,
        },
    )
    audit(
        "alike.answer",
        group,
        by=by,
        locality_id=group.consultation.locality_id,
        consultation_id=group.consultation_id,
        group=group.id,
        count=pending,
        outcome=chosen,
        explanation=explanation,
        summary=summary or None,
    )
    return pending


@mail.fanout(GROUP_ANSWER)
def _answer_members(
    group_id: int,
    by_id: int,
    outcome: str,
    explanation: str,
    summary: str | None,
    consultation_id: int | None = None,
    opinion_ids: list[int] | None = None,
) -> None:
    """The worker's half of ``answer_group``: one answer (``moderation.services.respond``,
    which tells each author in turn) for the opinions it named that are still waiting, even
    if their group was changed or dissolved meanwhile; then the group's mark cleared. A
    consultation concluded meanwhile: nothing is answered."""
    group = db.session.get(OpinionGroup, group_id)
    if consultation_id is None:  # a row written before the ids were named in it
        if group is None:
            log.warning("group answer: the group %s was dissolved before its answer", group_id)
            return
        consultation_id = group.consultation_id
    by = db.session.get(User, by_id)
    try:
        if by is None:
            raise StateError("the moderator's account is gone")
        lock_consultation(consultation_id)
        if opinion_ids is None:
            opinion_ids = list(db.session.scalars(_pending_query(group_id, Opinion.id)))
        ops = _still_pending(opinion_ids)  # under the lock: none is withdrawn behind our back
        if ops:
            moderation.respond(
                ops, by=by, outcome=outcome, explanation=explanation, summary=summary
            )
    except (StateError, InvalidInput) as exc:
        # respond refuses before it writes: clearing the mark is all there is to keep.
        log.warning("group answer of the group %s given up: %s", group_id, exc)
    if group is not None:
        group.answering_at = None
        db.session.flush()
