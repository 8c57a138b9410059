"""The one paginator: a page of rows, how many there are, and where the neighbours are.
Rendered by the ``pager`` macro of templates/_macros/pagination.html."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select

from core.extensions import db

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    items: Sequence[T]
    page: int
    pages: int
    total: int
    per_page: int

    @classmethod
    def of(cls, items: Sequence[T], *, page: int, per_page: int, total: int) -> Page[T]:
        return cls(
            items=items,
            page=page,
            pages=max(1, math.ceil(total / per_page)),
            total=total,
            per_page=per_page,
        )

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def paginate(
    stmt: Select, page: int, per_page: int, order: Sequence[Any] = (), total: int | None = None
) -> Page:
    """One COUNT (none when the caller knows ``total``) and one page query; a page past the
    end is simply empty.

    Both filter and sort on the ids alone (``stmt`` with its entity narrowed to ``id``), which
    an index can answer; only the page's rows are then read whole, sorted again by ``order``
    (the statement's own ORDER BY when none is given)."""
    entity = stmt.column_descriptions[0]["entity"]
    ids = stmt.with_only_columns(entity.id)
    if total is None:
        total = (
            db.session.scalar(select(func.count()).select_from(ids.order_by(None).subquery())) or 0
        )
    window = ids.limit(per_page).offset((page - 1) * per_page).scalar_subquery()
    # The page's rows keep the statement's loader options (joinedload of related rows).
    rows = select(entity).where(entity.id.in_(window)).options(*stmt._with_options)
    rows = rows.order_by(*order) if order else rows.order_by(*stmt._order_by_clauses)
    items = db.session.scalars(rows).unique().all()
    return Page.of(items, page=page, per_page=per_page, total=total)
