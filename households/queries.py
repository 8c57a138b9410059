"""Which households make up a consultation's community, and whom a person represents.

A community is the consultation's locality and every unit under it: a village's own
households, or all the villages of a commune. Struck-off households (``active`` false) are not
part of it: they count in no total, though the votes they cast stay in the tables.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select

from core.extensions import db
from households.models import Household
from localities.models import descendant_ids


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
