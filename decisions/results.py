"""The results of a ``decide`` consultation's vote, per matter, in a fixed number of queries.

``results(c)`` counts what stands now ("provisional") until the results are published; from
then on it returns the frozen ``Decision.content`` and its hash, never recomputed. A matter
passes when more than half of ALL the households of the community agree (Law 10/2022/QH15
Art. 15; Decree 61/2023/NĐ-CP), not half of those who voted. Counts only: never a household.

The hash is SHA-256 over the canonical JSON of the content (sorted keys, no whitespace,
UTF-8), as the record's (consultations/canonical.py).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import aliased

from consultations.models import Consultation, Section, Status
from core.extensions import db
from decisions.models import Choice, Decision, Vote, VoteChannel
from households.models import Household
from localities.models import descendant_ids

CHOICES = tuple(ch.value for ch in Choice)
CHANNELS = tuple(ch.value for ch in VoteChannel)
#: Bumped if the published content ever changes shape; stored inside it.
RESULTS_VERSION = 1


def canonical(content: dict[str, Any]) -> str:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(content).encode("utf-8")).hexdigest()


def verify(decision: Decision) -> bool:
    """The published content still hashes to the stored hash."""
    return bool(decision.content) and content_hash(decision.content) == decision.content_hash


def community(locality_id: int):
    """The active households of the locality and the units under it, the list of ids read
    once (households.queries.in_community reads it again on every call)."""
    ids = descendant_ids(locality_id)
    return Household.locality_id.in_(ids) & Household.active.is_(True), ids


def matter_rows(consultation_id: int) -> list[tuple[int, int, str]]:
    """(id, position, heading) of the matters put to the vote, in order: as
    ``Consultation.matters``, the articles (no preamble), or the whole draft if it has none."""
    rows = db.session.execute(
        select(Section.id, Section.position, Section.heading)
        .where(Section.consultation_id == consultation_id)
        .order_by(Section.position)
    )
    rows = [(sid, position, heading) for sid, position, heading in rows]
    return [r for r in rows if r[2]] or rows


def counted(consultation_id: int, condition) -> ColumnElement[bool]:
    """The votes that count: the consultation's, but those of households no longer of the
    community (struck off, moved away). Written as NOT IN the (usually empty) list of those
    rather than as a join on the community: a join lets PostgreSQL, on fresh statistics after a
    busy evening of votes, pick a nested loop that took seconds for 10,000 households."""
    stray = aliased(Vote)
    outsiders = (
        select(stray.household_id)
        .join(Household, Household.id == stray.household_id)
        .where(stray.consultation_id == consultation_id, ~condition)
    )
    return (Vote.consultation_id == consultation_id) & Vote.household_id.not_in(outsiders)


def vote_counts(consultation_id: int, condition) -> dict[tuple[int, str, str], int]:
    """(section_id, channel, choice) → votes of households of the community: one GROUP BY."""
    rows = db.session.execute(
        select(Vote.section_id, Vote.channel, Vote.choice, func.count())
        .where(counted(consultation_id, condition))
        .group_by(Vote.section_id, Vote.channel, Vote.choice)
    )
    return {(sid, _v(channel), _v(choice)): n for sid, channel, choice, n in rows}


def _v(value: Any) -> str:
    return value.value if hasattr(value, "value") else str(value)


def passes(agree: int, households_total: int) -> bool:
    """More than half of all households: exactly half is not enough; none, nothing passes."""
    return households_total > 0 and 2 * agree > households_total


def matter_result(
    section_id: int, position: int, heading: str, counts: dict, total: int
) -> dict[str, Any]:
    by_choice = dict.fromkeys(CHOICES, 0)
    by_channel = dict.fromkeys(CHANNELS, 0)
    for (sid, channel, choice), n in counts.items():
        if sid == section_id:
            by_choice[choice] = by_choice.get(choice, 0) + n
            by_channel[channel] = by_channel.get(channel, 0) + n
    turnout = sum(by_choice.values())
    return {
        "section_id": section_id,
        "position": position,
        "heading": heading or "",
        "votes": {"agree": by_choice["agree"], "disagree": by_choice["disagree"]},
        "blank": by_choice["blank"],
        "spoilt": by_choice["spoilt"],
        "by_channel": by_channel,
        "turnout": turnout,
        "turnout_rate": round(turnout / total, 4) if total else 0,
        "agree_rate": round(by_choice["agree"] / total, 4) if total else 0,
        "passed": passes(by_choice["agree"], total),
    }


def compute(c: Consultation) -> dict[str, Any]:
    """The results as they stand now, whatever was published."""
    condition, _ids = community(c.locality_id)
    total = db.session.scalar(select(func.count(Household.id)).where(condition)) or 0
    counts = vote_counts(c.id, condition)
    matters = [
        matter_result(sid, position, heading, counts, total)
        for sid, position, heading in matter_rows(c.id)
    ]
    return {
        "version": RESULTS_VERSION,
        "consultation_id": c.id,
        "households_total": total,
        "matters": matters,
        "status": "provisional",
        "published_at": None,
        "content_hash": None,
    }


def results(c: Consultation) -> dict[str, Any]:
    """The results of ``c``: frozen once published, counted now before; while a secret vote is
    open, the turnout only (``sealed``)."""
    decision = c.decision
    if decision is not None and decision.published_at is not None and decision.content:
        return {**decision.content, "content_hash": decision.content_hash}
    data = compute(c)
    secret = decision is None or decision.secret
    return sealed(data) if secret and c.status == Status.open else data


def sealed(data: dict[str, Any]) -> dict[str, Any]:
    """The results of a secret vote still open, without the counts by choice: with the staff's
    list of who has voted, counts that move with each vote would tell how each household voted.
    The turnout and the channels stay; the choices are counted once the vote has closed."""
    hidden = {"votes": None, "blank": None, "spoilt": None, "agree_rate": None, "passed": None}
    return {**data, "status": "voting", "matters": [{**m, **hidden} for m in data["matters"]]}
