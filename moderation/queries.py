"""Read-only queries of the moderation pages: the queue, a consultation's opinions, the dashboard.

Each page costs a fixed number of queries whatever the number of opinions: lists are paginated
and their related rows (consultation, article, author, answer, reports) loaded together.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import joinedload

from auth.models import Role, User
from consultations import tally
from consultations.models import Consultation, Flag, Opinion, OpinionStatus, Status
from core.extensions import db
from core.pagination import Page, paginate
from localities.models import descendant_ids
from moderation.services import needs_answer_clause

QUEUE_PER_PAGE = 20
DASHBOARD_PER_PAGE = 20

TABS = ("flagged", "unanswered", "hidden")
#: Filters of a consultation's moderation page.
STATES = ("all", "unanswered", "answered", "flagged", "hidden", "withdrawn")


def locality_ids_for(user: Any, roles: tuple[Role, ...]) -> list[int]:
    """The localities where ``user`` holds one of ``roles``, with every unit under them."""
    ids: set[int] = set()
    for role in roles:
        for lid in user.role_localities(role):
            if lid not in ids:
                ids.update(descendant_ids(lid))
    return sorted(ids)


def _open_flag_exists():
    return exists().where(Flag.opinion_id == Opinion.id, Flag.resolved_at.is_(None))


def _tab_condition(tab: str):
    if tab == "flagged":
        return and_(Opinion.status == OpinionStatus.published, _open_flag_exists())
    if tab == "hidden":
        return Opinion.status == OpinionStatus.hidden
    return and_(needs_answer_clause(), Opinion.response_id.is_(None))


def _queue_scope(locality_ids: list[int], consultation_id: int | None):
    """Opinions of the consultations being moderated (a published record is frozen)."""
    scope = select(Consultation.id).where(
        Consultation.locality_id.in_(locality_ids), Consultation.stored_status != Status.concluded
    )
    if consultation_id is not None:
        scope = scope.where(Consultation.id == consultation_id)
    return Opinion.consultation_id.in_(scope)


def _with_details(stmt, *, within: Consultation | None = None):
    # Authors and moderators are shown by name: their roles (User.assignments, selectin by
    # default) are not read.
    people = (
        joinedload(Opinion.author).lazyload(User.assignments),
        joinedload(Opinion.response),
        joinedload(Opinion.hidden_by).lazyload(User.assignments),
    )
    if within is not None:
        # One consultation's opinions: it and its articles are already in the session, where
        # each opinion finds them without a query (and without 20 copies of them in the rows).
        return stmt.options(*people)
    return stmt.options(joinedload(Opinion.consultation), joinedload(Opinion.section), *people)


def _opinions_page(
    stmt, page: int, *, within: Consultation | None = None, total: int | None = None
) -> Page[Opinion]:
    """A page of opinions with their related rows, read with the page."""
    return paginate(_with_details(stmt, within=within), page, QUEUE_PER_PAGE, total=total)


def queue_counts(locality_ids: list[int], consultation_id: int | None = None) -> dict[str, int]:
    """How many opinions each tab holds, in one query."""
    columns = [func.count().filter(_tab_condition(tab)).label(tab) for tab in TABS]
    row = db.session.execute(
        select(*columns).where(_queue_scope(locality_ids, consultation_id))
    ).one()
    return {tab: int(row._mapping[tab] or 0) for tab in TABS}


def queue_page(
    tab: str, locality_ids: list[int], consultation_id: int | None, page: int
) -> Page[Opinion]:
    """One page of a tab: reported opinions with the most open reports first, unanswered
    ones oldest first, hidden ones most recently hidden first."""
    stmt = select(Opinion).where(_queue_scope(locality_ids, consultation_id), _tab_condition(tab))
    if tab == "flagged":
        open_flags = (
            select(func.count())
            .where(Flag.opinion_id == Opinion.id, Flag.resolved_at.is_(None))
            .correlate(Opinion)
            .scalar_subquery()
        )
        stmt = stmt.order_by(open_flags.desc(), Opinion.id)
    elif tab == "hidden":
        stmt = stmt.order_by(Opinion.hidden_at.desc(), Opinion.id.desc())
    else:
        stmt = stmt.order_by(Opinion.id)
    return _opinions_page(stmt, page)


def queue_consultations(locality_ids: list[int]) -> list[Consultation]:
    """The consultations a moderator can filter the queue by (those with opinions)."""
    return list(
        db.session.scalars(
            select(Consultation)
            .where(
                Consultation.locality_id.in_(locality_ids),
                Consultation.stored_status != Status.concluded,
                Consultation.opinion_count > 0,
            )
            .order_by(Consultation.closes_at.desc(), Consultation.id.desc())
            .limit(200)
        )
    )


def open_flags(opinion_ids: list[int]) -> dict[int, list[Flag]]:
    """The open reports of a page of opinions, oldest first."""
    flags: dict[int, list[Flag]] = {}
    if not opinion_ids:
        return flags
    rows = db.session.scalars(
        select(Flag)
        .where(Flag.opinion_id.in_(opinion_ids), Flag.resolved_at.is_(None))
        .order_by(Flag.created_at, Flag.id)
    )
    for flag in rows:
        flags.setdefault(flag.opinion_id, []).append(flag)
    return flags


def consultation_opinions(
    c: Consultation,
    *,
    state: str,
    section_id: int | None,
    whole_draft: bool,
    page: int,
    counts: tally.Tally | None = None,
) -> Page[Opinion]:
    """One page of a consultation's opinions, filtered by state and article, oldest first."""
    stmt = select(Opinion).where(Opinion.consultation_id == c.id)
    if state in ("unanswered", "flagged", "hidden"):
        stmt = stmt.where(_tab_condition(state))
    elif state == "answered":
        stmt = stmt.where(needs_answer_clause(), Opinion.response_id.is_not(None))
    elif state == "withdrawn":
        stmt = stmt.where(Opinion.status == OpinionStatus.withdrawn)
    if whole_draft:
        stmt = stmt.where(Opinion.section_id.is_(None))
    elif section_id is not None:
        stmt = stmt.where(Opinion.section_id == section_id)
    c.sections  # noqa: B018 - loaded now (one query), so no opinion has to load its own
    total = _tally_total(counts or tally.read(c.id), state, 0 if whole_draft else section_id)
    return _opinions_page(stmt.order_by(Opinion.id), page, within=c, total=total)


#: The states a consultation's tally counts (reports are not in it: "flagged" is counted).
_TALLIED = {
    "all": lambda status, answered: True,
    "unanswered": lambda status, answered: status != OpinionStatus.withdrawn and not answered,
    "answered": lambda status, answered: status != OpinionStatus.withdrawn and answered,
    "hidden": lambda status, answered: status == OpinionStatus.hidden,
    "withdrawn": lambda status, answered: status == OpinionStatus.withdrawn,
}


def _tally_total(counts: tally.Tally, state: str, section_key: int | None) -> int | None:
    """The opinions of a state (and article; 0: the whole draft), from the tally the triggers
    keep: a COUNT over 100,000 opinions was 4 ms a page. None where the tally cannot say."""
    keep = _TALLIED.get(state)
    if keep is None:
        return None
    return sum(
        n
        for (key, status, _stance, answered), n in counts.rows.items()
        if (section_key is None or key == section_key) and keep(status, answered)
    )


def dashboard_page(locality_ids: list[int], status: str | None, page: int) -> Page[Consultation]:
    """Public consultations of the localities, the ones still running first."""
    stmt = select(Consultation).where(
        Consultation.locality_id.in_(locality_ids), Consultation.status != Status.draft
    )
    if status:
        stmt = stmt.where(Consultation.status == status)
    stmt = stmt.order_by(Consultation.closes_at.desc(), Consultation.id.desc())
    return paginate(stmt, page, DASHBOARD_PER_PAGE)


def open_flag_counts(consultation_ids: list[int]) -> dict[int, int]:
    """Opinions with open reports per consultation, in one query."""
    if not consultation_ids:
        return {}
    rows = db.session.execute(
        select(Opinion.consultation_id, func.count(func.distinct(Opinion.id)))
        .join(Flag, Flag.opinion_id == Opinion.id)
        .where(
            Opinion.consultation_id.in_(consultation_ids),
            Opinion.status == OpinionStatus.published,
            Flag.resolved_at.is_(None),
        )
        .group_by(Opinion.consultation_id)
    ).all()
    return dict(rows)
