"""Read-side queries of consultations and opinions: lists, filters, pages (no changes here)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, bindparam, case, desc, select
from sqlalchemy.orm import joinedload, selectinload

from auth.models import Role
from auth.permissions import is_open_to_opinions
from consultations import tally
from consultations.models import Category, Consultation, Opinion, Status
from consultations.search import search_condition, search_rank
from core.extensions import db
from core.pagination import Page
from core.timeutil import closing_date, local_date, utcnow
from localities.models import Locality, descendant_ids, get_by_code

T = TypeVar("T")

#: Statuses the public may filter on (drafts are never listed publicly).
PUBLIC_STATUSES = (Status.open, Status.closed, Status.concluded)


def listing_order(q: str | None = None) -> tuple:
    """Open consultations first, then the newest; with a search, exact matches before all
    (the diacritics typed, the words side by side, whole words: consultations/search.py)."""
    open_first = case((Consultation.status == Status.open, 0), else_=1)
    rank = search_rank(q) if q else None
    return (
        *(() if rank is None else (desc(rank),)),
        open_first,
        Consultation.opens_at.desc(),
        Consultation.id.desc(),
    )


# --- the list of consultations --------------------------------------------------------------


@dataclass
class Filters:
    """The list's filters as typed (for the form) and as understood (for the query)."""

    status: Status | None = None
    category: Category | None = None
    locality: Locality | None = None
    locality_code: str = ""
    q: str = ""
    #: A locality code that matches nothing: the list is empty rather than unfiltered.
    unknown_locality: bool = False
    args: dict[str, str] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return bool(self.status or self.category or self.locality_code or self.q)


def parse_filters(args: Mapping[str, Any]) -> Filters:
    """Read ``status``, ``locality``, ``category`` and ``q``; unknown values are ignored."""
    f = Filters()
    status = (args.get("status") or "").strip()
    if status in {s.value for s in PUBLIC_STATUSES}:
        f.status = Status(status)
    category = (args.get("category") or "").strip()
    if category in {c.value for c in Category}:
        f.category = Category(category)
    f.q = (args.get("q") or "").strip()[:200]
    f.locality_code = (args.get("locality") or "").strip()[:32]
    if f.locality_code:
        found = get_by_code(f.locality_code)
        if found is None:
            f.unknown_locality = True
        else:
            f.locality = found.current()
    f.args = {
        k: v
        for k, v in {
            "status": f.status.value if f.status else "",
            "category": f.category.value if f.category else "",
            "locality": f.locality_code,
            "q": f.q,
        }.items()
        if v
    }
    return f


def public_consultations(filters: Filters) -> Select:
    """Non-draft consultations matching the filters, open ones first, newest first."""
    stmt = select(Consultation).where(Consultation.status != Status.draft)
    if filters.status:
        stmt = stmt.where(Consultation.status == filters.status)
    if filters.category:
        stmt = stmt.where(Consultation.category == filters.category)
    if filters.unknown_locality:
        stmt = stmt.where(Consultation.id.is_(None))
    elif filters.locality is not None:
        stmt = stmt.where(Consultation.locality_id.in_(descendant_ids(filters.locality.id)))
    condition = search_condition(filters.q)
    if condition is not None:
        stmt = stmt.where(condition)
    return stmt.order_by(*listing_order(filters.q))


def listed_localities(selected: Locality | None = None) -> list[Locality]:
    """Localities that have public consultations, for the filter (plus the one filtered on)."""
    has_public = (
        select(Consultation.locality_id).where(Consultation.status != Status.draft).distinct()
    )
    rows = list(
        db.session.scalars(
            select(Locality).where(Locality.id.in_(has_public)).order_by(Locality.name)
        )
    )
    if selected is not None and selected not in rows:
        rows.insert(0, selected)
    return rows


def drafts_for(user: Any) -> list[Consultation]:
    """Drafts (and consultations scheduled to open) of the localities where ``user`` is an official."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    held = user.role_localities(Role.official)
    if not held:
        return []
    ids: set[int] = set()
    for locality_id in held:
        ids.update(descendant_ids(locality_id))
    stmt = (
        select(Consultation)
        .where(Consultation.status == Status.draft, Consultation.locality_id.in_(ids))
        .order_by(Consultation.updated_at.desc(), Consultation.id.desc())
        .limit(50)
    )
    return list(db.session.scalars(stmt))


def official_localities(user: Any) -> list[Locality]:
    """The localities an official may create consultations for: theirs and the communes under them."""
    held = user.role_localities(Role.official) if user is not None else []
    if not held:
        return []
    ids: set[int] = set()
    for locality_id in held:
        ids.update(descendant_ids(locality_id))
    rows = db.session.scalars(
        select(Locality).where(Locality.id.in_(ids), Locality.merged_into_id.is_(None))
    )
    # Their own units first, then the rest by name.
    return sorted(rows, key=lambda loc: (loc.id not in held, loc.kind.value != "commune", loc.name))


# --- one consultation ----------------------------------------------------------------------


def load_consultation(
    consultation_id: int, *, attachments: bool = True, sections: bool = True
) -> Consultation | None:
    """A consultation with its articles (joined to it) and attachments (a query more). Without
    them, each is read (in one query) only if it is used."""
    if not (0 < consultation_id < 2**63):
        return None
    return (
        db.session.scalars(_consultation_stmt(attachments, sections), {"id": consultation_id})
        .unique()
        .first()
    )


def load_consultation_with(
    consultation_id: int,
    columns: Callable[[], tuple[ColumnElement, ...]],
    params: dict[str, Any],
    *,
    sections: bool = False,
) -> tuple[Consultation | None, tuple]:
    """A consultation (its articles joined to it with ``sections``, else read if used, as its
    attachments) and, in the same query, ``columns()``: columns correlated to it (another
    area's state of it, with ``params``)."""
    if not (0 < consultation_id < 2**63):
        return None, ()
    row = (
        db.session.execute(
            _consultation_with_stmt(columns, sections), {"id": consultation_id, **params}
        )
        .unique()
        .first()
    )
    return (row[0], tuple(row[1:])) if row is not None else (None, ())


@functools.cache
def _consultation_with_stmt(
    columns: Callable[[], tuple[ColumnElement, ...]], sections: bool
) -> Select:
    stmt = select(Consultation, *columns()).where(Consultation.id == bindparam("id"))
    return stmt.options(joinedload(Consultation.sections)) if sections else stmt


@functools.cache
def _consultation_stmt(attachments: bool, sections: bool) -> Select:
    # Built once: on every page and post, building it cost about what running it did.
    options = [joinedload(Consultation.sections)] if sections else []
    if attachments:
        options.append(selectinload(Consultation.attachments))
    return select(Consultation).where(Consultation.id == bindparam("id")).options(*options)


def opinions_page(
    c: Consultation,
    *,
    page: int,
    per_page: int,
    section_id: int | None = None,
    oldest_first: bool = False,
    history: bool = True,
    total: int | None = None,
    after: int | None = None,
) -> Page[Opinion]:
    """A page of every opinion of ``c`` (withdrawn and hidden ones too: the caller decides
    what to show), newest first, with authors, answers and edit histories loaded up front so
    the page costs the same number of queries whatever the number of opinions.

    ``after`` (oldest first only) is keyset pagination: the opinions whose id follows it,
    found in the index at the same cost however far into the list, and unshaken by new
    opinions arriving meanwhile; ``page`` is then ignored."""
    # The village too: an offline contributor is shown by channel and village (authors.py).
    options = [
        joinedload(Opinion.author),
        joinedload(Opinion.response),
        joinedload(Opinion.locality),
    ]
    if history:
        options.append(selectinload(Opinion.revisions))
    where = [Opinion.consultation_id == c.id]
    if section_id is not None:
        where.append(Opinion.section_id == section_id)
    order = Opinion.id.asc() if oldest_first else Opinion.id.desc()
    if total is None:  # kept by the tally's triggers: a count took 250 ms at a million
        total = tally.read(c.id).total(section_id)
    # A deep page skips its OFFSET in the narrow (consultation_id[, section_id], id) index and
    # only then joins authors and answers to the rows it shows: ?page=2000 of 100,000 opinions
    # costs about what page 1 does (bench/run.py).
    ids = select(Opinion.id).where(*where).order_by(order).limit(per_page)
    if after is not None and oldest_first:
        ids = ids.where(Opinion.id > after)
    else:
        ids = ids.offset((page - 1) * per_page)
    stmt = (
        select(Opinion)
        .where(Opinion.id.in_(ids.scalar_subquery()))
        .options(*options)
        .order_by(order)
    )
    items = db.session.scalars(stmt).unique().all()
    return Page.of(items, page=page, per_page=per_page, total=total)


def days_left(c: Consultation) -> int:
    """Calendar days on which opinions are still accepted, today included (0 once closed)."""
    if not is_open_to_opinions(c):
        return 0
    return max(0, (closing_date(c.closes_at) - local_date(utcnow())).days + 1)
