"""Which households make up a consultation's community, and whom a person represents.

A community is the consultation's locality and every unit under it: a village's own
households, or all the villages of a commune. Struck-off households (``active`` false) are not
part of it: they count in no total, though the votes they cast stay in the tables.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import joinedload

from audit.models import AuditEvent
from auth.models import Role, User
from core.extensions import db
from core.textutil import fold
from households.models import Household
from localities.models import Locality, LocalityKind, descendant_ids


def in_community(locality_id: int) -> ColumnElement[bool]:
    """The SQL condition: an active household of this locality or of a unit under it."""
    return Household.locality_id.in_(descendant_ids(locality_id)) & Household.active.is_(True)


def households_total(locality_id: int) -> int:
    """The households of the community: the denominator of "more than half of all households"."""
    return db.session.scalar(select(func.count(Household.id)).where(in_community(locality_id)))


def is_in_community(household: Household, locality_id: int) -> bool:
    return household.active and household.locality_id in descendant_ids(locality_id)


def represented_by(user_id: int | None) -> Household | None:
    """The household this account represents, if any (a person represents one at most)."""
    if user_id is None:
        return None
    return db.session.scalar(select(Household).where(Household.representative_id == user_id))


# --- the register (staff) ---------------------------------------------------------------------

#: Households read at most to search names without their diacritics (a commune has a few thousand).
SEARCH_SCAN_MAX = 20_000


def managed_villages(user: Any) -> list[Locality]:
    """The villages and residential groups whose register ``user`` keeps (as an official of
    them or of a unit above), by name."""
    ids: set[int] = set()
    for lid in user.role_localities(Role.official):
        ids.update(descendant_ids(lid))
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(Locality)
            .where(Locality.id.in_(ids), Locality.kind == LocalityKind.village)
            .order_by(Locality.name, Locality.code)
        )
    )


def register_query(village_ids: list[int], q: str | None = None) -> Select:
    """The households of these villages, by village then code; ``q`` matches a code or a
    representative's name, diacritics optional ("nguyen van" finds "Nguyễn Văn")."""
    stmt = select(Household).where(Household.locality_id.in_(village_ids))
    terms = fold(q).split()
    if terms:
        rows = db.session.execute(
            select(Household.id, Household.code, Household.representative_name)
            .where(Household.locality_id.in_(village_ids))
            .limit(SEARCH_SCAN_MAX)
        )
        ids = [hid for hid, code, name in rows if all(t in fold(f"{code} {name}") for t in terms)]
        stmt = stmt.where(Household.id.in_(ids or [0]))
    return stmt.options(joinedload(Household.locality)).order_by(
        Household.locality_id, Household.code
    )


def history(household_id: int) -> list[tuple[AuditEvent, str | None]]:
    """The household's events in the audit trail, newest first, with the actor's display name."""
    rows = db.session.execute(
        select(AuditEvent, User.display_name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.object_type == "household", AuditEvent.object_id == household_id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    ).all()
    return [(event, name) for event, name in rows]


def account_names(ids: set[int]) -> dict[int, str]:
    """Display names of the accounts an event names (never their e-mail addresses)."""
    if not ids:
        return {}
    rows = db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return {row[0]: row[1] for row in rows}
