"""Every opinion of a consultation as plain rows (never ORM objects): what the record, its
documents and the exports read, in batches, whatever the number of opinions."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator
from typing import Any

from sqlalchemy import String, case, func, select, type_coerce
from sqlalchemy.orm import Session, aliased

from alike.models import OpinionAlike, OpinionGroup
from auth.models import User
from consultations.models import Opinion, OpinionStatus, Response, Section
from core.extensions import db
from localities.models import Locality

OpinionRow = namedtuple(
    "OpinionRow",
    "id tracking_number created_at section_position section_heading stance channel status body "
    "hidden_reason display_name contributor_name locality_code response_id outcome explanation "
    "edited_at withdrawn_at",
)


def _value(v: Any) -> Any:
    return getattr(v, "value", v)


def opinion_rows_select(
    consultation_id: int,
    *,
    by_section: bool = False,
    raw: bool = False,
    similar: bool = False,
    grouped: bool = False,
):
    """Plain columns of every opinion of a consultation (never ORM objects), with its article,
    public name, locality and answer. Ordered by id, or by article then id.

    ``similar``: a last column ``similar_group``, its group of alike opinions (or None).
    ``grouped`` (implies ``by_section``): then ``campaign`` and ``representative``, and within
    an article each group's opinions together where its representative would stand, the
    published ones sharing an answer one after another, the representative first: the record
    prints each such run as one row (``record_groups``).

    ``raw``: datetimes and enums as the driver gives them (naive UTC, or on SQLite its text;
    the enums' values), skipping SQLAlchemy's conversions: two thirds of the time of reading
    100,000 rows on SQLite went there (bench/)."""
    author = aliased(User)
    loc = aliased(Locality)

    def plain(column, name):
        return type_coerce(column, String).label(name) if raw else column

    stmt = (
        select(
            Opinion.id,
            Opinion.tracking_number,
            plain(Opinion.created_at, "created_at"),
            Section.position.label("section_position"),
            Section.heading.label("section_heading"),
            plain(Opinion.stance, "stance"),
            plain(Opinion.channel, "channel"),
            plain(Opinion.status, "status"),
            Opinion.body,
            Opinion.hidden_reason,
            author.display_name,
            Opinion.contributor_name,
            loc.code.label("locality_code"),
            Response.id.label("response_id"),
            plain(Response.outcome, "outcome"),
            Response.explanation,
            plain(Opinion.edited_at, "edited_at"),
            plain(Opinion.withdrawn_at, "withdrawn_at"),
        )
        .select_from(Opinion)
        .outerjoin(Section, Opinion.section_id == Section.id)
        .outerjoin(author, Opinion.author_id == author.id)
        .outerjoin(loc, Opinion.locality_id == loc.id)
        .outerjoin(Response, Opinion.response_id == Response.id)
        .where(Opinion.consultation_id == consultation_id)
    )
    if similar or grouped:
        stmt = stmt.outerjoin(OpinionAlike, OpinionAlike.opinion_id == Opinion.id).add_columns(
            OpinionAlike.group_id.label("similar_group")
        )
    article = (Section.position.is_not(None), Section.position)  # the whole draft first
    if grouped:
        rep = OpinionGroup.representative_id
        published = Opinion.status == OpinionStatus.published
        stmt = stmt.outerjoin(OpinionGroup, OpinionGroup.id == OpinionAlike.group_id)
        stmt = stmt.add_columns(OpinionGroup.campaign, (Opinion.id == rep).label("representative"))
        return stmt.order_by(
            *article,
            func.coalesce(rep, Opinion.id),
            case((published, 0), else_=1),
            func.coalesce(Opinion.response_id, 0),
            case((Opinion.id == rep, 0), else_=1),
            Opinion.id,
        )
    if by_section:
        return stmt.order_by(*article, Opinion.id)
    return stmt.order_by(Opinion.id)


def opinion_rows(
    consultation_id: int,
    *,
    by_section: bool = False,
    session: Session | None = None,
    raw: bool = False,
    similar: bool = False,
    grouped: bool = False,
):
    """The rows of :func:`opinion_rows_select` (plain tuples), fetched in batches of 1,000: a
    server-side cursor on PostgreSQL, so memory stays bounded. ``session`` lets a streamed
    download read outside the request's own session."""
    # Executed on the connection (Core): plain rows need none of the ORM's loading machinery,
    # which cost a fifth of a 100,000-row export (bench/).
    connection = (session or db.session).connection()
    return connection.execute(
        opinion_rows_select(
            consultation_id, by_section=by_section, raw=raw, similar=similar, grouped=grouped
        ).execution_options(yield_per=1000)
    )


def iter_opinions(
    consultation_id: int, *, by_section: bool = False, session: Session | None = None
) -> Iterator[OpinionRow]:
    """Stream the opinions as :class:`OpinionRow` (see :func:`opinion_rows`)."""
    for row in opinion_rows(consultation_id, by_section=by_section, session=session):
        yield OpinionRow(*row)
