"""Administrative units of the reformed (2025) geography."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.timeutil import UTCDateTime, utcnow


class LocalityKind(enum.StrEnum):
    province = "province"  #: tỉnh / thành phố
    commune = "commune"  #: xã / phường / đặc khu
    village = "village"  #: thôn / tổ dân phố


class Locality(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    #: Official administrative code where known; stable, used in URLs and forms.
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[LocalityKind] = mapped_column(Enum(LocalityKind, native_enum=False, length=16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("locality.id"), index=True)
    #: When units merge, the old one points at the unit that absorbed it; old links keep working.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("locality.id"))
    #: The former name when a unit was renamed.
    renamed_from: Mapped[str | None] = mapped_column(String(200))
    #: The People's Committee's contacts, printed on notices and in e-mail signatures.
    address: Mapped[str | None] = mapped_column(String(300))
    #: Telephone or hotline for opinions given by phone.
    phone: Mapped[str | None] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(String(200))
    #: When the office receives the public ("Sáng 7:30–11:30, chiều 13:30–17:00, thứ Hai đến thứ Sáu").
    office_hours: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[Locality | None] = relationship(
        remote_side=[id], foreign_keys=[parent_id], back_populates="children"
    )
    children: Mapped[list[Locality]] = relationship(
        foreign_keys=[parent_id], back_populates="parent", order_by="Locality.name"
    )
    merged_into: Mapped[Locality | None] = relationship(
        remote_side=[id], foreign_keys=[merged_into_id]
    )

    def __repr__(self) -> str:
        return f"<Locality {self.code} {self.name}>"

    def ancestor_ids(self) -> list[int]:
        """This unit and every unit above it (at most three levels)."""
        ids, node, seen = [], self, set()
        while node is not None and node.id not in seen:
            ids.append(node.id)
            seen.add(node.id)
            node = node.parent
        return ids

    def current(self) -> Locality:
        """Follow merges to the unit that exists today."""
        node, seen = self, set()
        while node.merged_into is not None and node.id not in seen:
            seen.add(node.id)
            node = node.merged_into
        return node

    @property
    def full_name(self) -> str:
        return ", ".join(n.name for n in self._chain())

    def _chain(self) -> list[Locality]:
        chain, node, seen = [], self, set()
        while node is not None and node.id not in seen:
            chain.append(node)
            seen.add(node.id)
            node = node.parent
        return chain


def descendant_ids(locality_id: int) -> list[int]:
    """The unit and all units under it (three levels at most, so two queries at most)."""
    ids = [locality_id]
    frontier = [locality_id]
    for _ in range(3):
        frontier = list(
            db.session.scalars(select(Locality.id).where(Locality.parent_id.in_(frontier)))
        )
        if not frontier:
            break
        ids.extend(frontier)
    return ids


def get_by_code(code: str | None) -> Locality | None:
    if not code:
        return None
    return db.session.scalar(select(Locality).where(Locality.code == code.strip()))
