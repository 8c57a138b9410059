"""Participation figures of a consultation: opinions received, and those still standing broken
down by article, stance, channel and place, counted in one grouped query."""

from __future__ import annotations

from collections import Counter, namedtuple
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select

from consultations.models import Channel, Consultation, Opinion, OpinionStatus, Stance
from core.extensions import db
from localities.models import Locality

#: One bar of a chart or one line of a figures table.
Count = namedtuple("Count", "key count")


def _value(v: Any) -> Any:
    return getattr(v, "value", v)


@dataclass
class Figures:
    """Opinions received, and those still standing (not withdrawn) broken down four ways."""

    received: int = 0
    withdrawn: int = 0
    hidden: int = 0
    #: Opinions that need an answer (every one but the withdrawn) and still lack one.
    unanswered: int = 0
    by_section: list[Count] = field(default_factory=list)
    by_stance: list[Count] = field(default_factory=list)
    by_channel: list[Count] = field(default_factory=list)
    by_locality: list[Count] = field(default_factory=list)
    #: section key -> stance -> count, for the table of articles.
    section_stances: dict[Any, dict[str, int]] = field(default_factory=dict)

    @property
    def counted(self) -> int:
        return self.received - self.withdrawn


def figures(c: Consultation) -> Figures:
    """Every count of the record in one grouped query."""
    unanswered = func.sum(case((Opinion.response_id.is_(None), 1), else_=0))
    rows = db.session.execute(
        select(
            Opinion.section_id,
            Opinion.stance,
            Opinion.channel,
            Opinion.status,
            Locality.name,
            func.count(),
            unanswered,
        )
        .select_from(Opinion)
        .outerjoin(Locality, Opinion.locality_id == Locality.id)
        .where(Opinion.consultation_id == c.id)
        .group_by(
            Opinion.section_id,
            Opinion.stance,
            Opinion.channel,
            Opinion.status,
            Locality.id,
            Locality.name,
        )
    ).all()
    position = {s.id: s.position for s in c.sections}
    f = Figures()
    sections, stances, channels, places = Counter(), Counter(), Counter(), Counter()
    for section_id, stance, channel, status, place, n, missing in rows:
        status = _value(status)
        f.received += n
        if status == OpinionStatus.withdrawn.value:
            f.withdrawn += n
            continue
        if status == OpinionStatus.hidden.value:
            f.hidden += n
        f.unanswered += int(missing or 0)
        key = position.get(section_id)
        sections[key] += n
        stances[_value(stance)] += n
        channels[_value(channel)] += n
        places[place] += n
        bucket = f.section_stances.setdefault(key, Counter())
        bucket[_value(stance)] += n
    f.by_section = [Count(None, sections[None])] if sections[None] else []
    f.by_section += [
        Count(s.position, sections[s.position]) for s in c.sections if sections[s.position]
    ]
    f.by_stance = [Count(k.value, stances[k]) for k in Stance if stances[k]]
    f.by_channel = [Count(k.value, channels[k]) for k in Channel if channels[k]]
    f.by_locality = sorted(
        (Count(k, n) for k, n in places.items()),
        key=lambda x: (x.key is None, -x.count, x.key or ""),
    )
    return f
