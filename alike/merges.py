"""The moderator's merges as a recomputation applies them (``grouping.recompute``)."""

from __future__ import annotations

from sqlalchemy import select

from alike.models import AlikeLink
from core.extensions import db


def apply_links(
    consultation_id: int, clusters: list[list[int]], known: set[int]
) -> list[list[int]]:
    """The moderator's merges: the groups (or opinions alone) of each link's two opinions
    become one, the larger's representative first."""
    links = db.session.execute(
        select(AlikeLink.opinion_id, AlikeLink.other_opinion_id).where(
            AlikeLink.consultation_id == consultation_id
        )
    ).all()
    if not links:
        return clusters
    where: dict[int, int] = {}
    groups: dict[int, list[int]] = {}
    for n, members in enumerate(clusters):
        groups[n] = list(members)
        for m in members:
            where[m] = n
    fresh = len(clusters)
    for a, b in links:
        if a not in known or b not in known:
            continue
        for x in (a, b):
            if x not in where:
                groups[fresh] = [x]
                where[x] = fresh
                fresh += 1
        ga, gb = where[a], where[b]
        if ga == gb:
            continue
        big, small = (ga, gb) if len(groups[ga]) >= len(groups[gb]) else (gb, ga)
        groups[big].extend(groups.pop(small))
        for m in groups[big]:
            where[m] = big
    out = [members for members in groups.values() if len(members) >= 2]
    out.sort(key=len, reverse=True)
    return out
