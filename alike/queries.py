"""Read-only queries of the pages of groups of alike opinions: a consultation's groups, a
group's members, the mark of an opinion that belongs to a group.

Each page costs a fixed number of queries whatever the size of the groups: lists are
paginated, and counts of a page's groups are read together in one grouped query.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from alike.models import OpinionAlike, OpinionGroup
from consultations.models import Opinion, OpinionStatus
from core.extensions import db
from core.pagination import Page, paginate
from moderation.services import needs_answer_clause

GROUPS_PER_PAGE = 20
MEMBERS_PER_PAGE = 50


def _pending_clause():
    """A member still waiting for an answer: not answered, not withdrawn."""
    return needs_answer_clause() & Opinion.response_id.is_(None)


def consultation_groups(
    consultation_id: int,
    *,
    section_id: int | None = None,
    whole_draft: bool = False,
    campaign: bool = False,
    page: int = 1,
) -> Page[OpinionGroup]:
    """One page of a consultation's groups, the largest first, with their representative."""
    stmt = select(OpinionGroup).where(OpinionGroup.consultation_id == consultation_id)
    if whole_draft:
        stmt = stmt.where(OpinionGroup.section_id.is_(None))
    elif section_id is not None:
        stmt = stmt.where(OpinionGroup.section_id == section_id)
    if campaign:
        stmt = stmt.where(OpinionGroup.campaign.is_(True))
    stmt = stmt.options(
        joinedload(OpinionGroup.representative), joinedload(OpinionGroup.section)
    ).order_by(OpinionGroup.size.desc(), OpinionGroup.id)
    return paginate(stmt, page, GROUPS_PER_PAGE)


def pending_counts(group_ids: list[int]) -> dict[int, int]:
    """How many members of each group still need an answer, in one grouped query."""
    if not group_ids:
        return {}
    rows = db.session.execute(
        select(OpinionAlike.group_id, func.count())
        .join(Opinion, Opinion.id == OpinionAlike.opinion_id)
        .where(OpinionAlike.group_id.in_(group_ids), _pending_clause())
        .group_by(OpinionAlike.group_id)
    ).all()
    counts = dict.fromkeys(group_ids, 0)
    counts.update(dict(rows))
    return counts


def member_counts(group_id: int) -> dict[str, int]:
    """A group's members: all of them, those to answer, those answered, those withdrawn."""
    answered = func.count(Opinion.response_id).filter(needs_answer_clause())
    withdrawn = func.count().filter(Opinion.status == OpinionStatus.withdrawn)
    pending = func.count().filter(_pending_clause())
    row = db.session.execute(
        select(func.count(), pending, answered, withdrawn)
        .select_from(OpinionAlike)
        .join(Opinion, Opinion.id == OpinionAlike.opinion_id)
        .where(OpinionAlike.group_id == group_id)
    ).one()
    total, to_answer, done, gone = (int(v or 0) for v in row)
    return {"total": total, "pending": to_answer, "answered": done, "withdrawn": gone}


def group_members(group_id: int, page: int) -> Page[Opinion]:
    """One page of a group's members, oldest first, with their answer and author."""
    stmt = (
        select(Opinion)
        .join(OpinionAlike, OpinionAlike.opinion_id == Opinion.id)
        .where(OpinionAlike.group_id == group_id)
        .options(
            joinedload(Opinion.author),
            joinedload(Opinion.response),
            joinedload(Opinion.consultation),
        )
        .order_by(Opinion.id)
    )
    return paginate(stmt, page, MEMBERS_PER_PAGE)


def groups_of(opinion_ids: list[int]) -> dict[int, OpinionGroup]:
    """The group of each opinion of a page that belongs to one (the mark on the queue)."""
    if not opinion_ids:
        return {}
    rows = db.session.execute(
        select(OpinionAlike.opinion_id, OpinionGroup)
        .join(OpinionGroup, OpinionGroup.id == OpinionAlike.group_id)
        .where(OpinionAlike.opinion_id.in_(opinion_ids))
    ).all()
    return dict(rows)


def overview(consultation_id: int) -> dict[str, Any]:
    """A consultation's groups at a glance: how many, how many opinions they hold, campaigns."""
    row = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(OpinionGroup.size), 0),
            func.count().filter(OpinionGroup.campaign.is_(True)),
        ).where(OpinionGroup.consultation_id == consultation_id)
    ).one()
    groups, grouped, campaigns = (int(v or 0) for v in row)
    return {"groups": groups, "grouped": grouped, "campaigns": campaigns}


def find_group(consultation_id: int, number: int | None) -> OpinionGroup | None:
    """The group of this number in this consultation (another consultation's is not found)."""
    if number is None:
        return None
    group = db.session.get(OpinionGroup, number)
    if group is None or group.consultation_id != consultation_id:
        return None
    return group
