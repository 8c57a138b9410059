"""Counting the vote: the committee, the reconciliation, corrections, confirmation, the
Fatherland Front's sign-off and publication of the frozen results.

Each service takes the consultation's lock (consultations/locking.py) and checks the state
again under it, so nothing is entered while the count is confirmed and nothing is corrected
after it; it flushes and audits, and the view commits.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import case, distinct, func, select

from audit.models import record as audit
from auth.models import User
from auth.permissions import (
    has_published_results,
    is_open_to_counting,
    is_open_to_results_publishing,
    is_open_to_sign_off,
)
from consultations.locking import lock_consultation
from consultations.models import Consultation
from core.errors import InvalidInput, StateError
from core.extensions import db
from core.textutil import clean_text
from core.timeutil import utcnow
from decisions import results as res
from decisions.models import Ballot, Choice, Decision, Vote, VoteChannel, VoteConflict
from decisions.voting import decision_for
from households.models import Household

COMMITTEE_MIN, COMMITTEE_MAX = 3, 5
NAME_MAX = TITLE_MAX = 100
REASON_MAX = 2_000
NOTE_MAX = 5_000


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat(timespec="seconds") if dt else None


def decision_of(c: Consultation) -> Decision:
    """The consultation's Decision (created when missing), read again after the lock."""
    d = decision_for(c)
    db.session.refresh(d)
    return d


def _locked(c: Consultation) -> Decision:
    lock_consultation(c.id)
    return decision_of(c)


# --- the committee ----------------------------------------------------------------------------


def clean_members(members: list[tuple[str, str] | dict[str, str]]) -> list[dict[str, str]]:
    out = []
    for m in members:
        name, title = (m.get("name"), m.get("title")) if isinstance(m, dict) else m
        name = " ".join(clean_text(name).split())
        title = " ".join(clean_text(title).split())
        if not name and not title:
            continue
        if not name:
            raise InvalidInput(_("Write the name of each member of the counting committee."))
        if len(name) > NAME_MAX or len(title) > TITLE_MAX:
            raise InvalidInput(_("A name or a title can be at most %(n)d characters.", n=NAME_MAX))
        out.append({"name": name, "title": title})
    if not COMMITTEE_MIN <= len(out) <= COMMITTEE_MAX:
        raise InvalidInput(
            _(
                "The counting committee has %(min)d to %(max)d members.",
                min=COMMITTEE_MIN,
                max=COMMITTEE_MAX,
            )
        )
    return out


def set_committee(c: Consultation, *, by: User, members) -> Decision:
    """Name the counting committee (tổ kiểm phiếu): 3 to 5 members, each a name and a title."""
    d = _locked(c)
    if not is_open_to_counting(c):
        raise StateError(
            _(
                "The counting committee is named after the vote closes, before the count is confirmed."
            )
        )
    d.committee = clean_members(members)
    db.session.flush()
    audit(
        "decision.committee",
        d,
        by=by,
        locality_id=c.locality_id,
        consultation_id=c.id,
        members=[m["name"] for m in d.committee],
    )
    return d


# --- the reconciliation -----------------------------------------------------------------------


def _check(key: str, expected: int, actual: int, *, at_most: bool = False, matter=None) -> dict:
    ok = actual <= expected if at_most else actual == expected
    return {
        "key": key,
        "matter": matter,
        "expected": expected,
        "actual": actual,
        "ok": ok,
        "difference": actual - expected,
    }


def reconciliation(c: Consultation) -> dict[str, Any]:
    """The committee's tally, JSON-ready: households, channels, ballots, each matter, the
    conflicts and corrections, and the checks that the sums add up."""
    condition, _ids = res.community(c.locality_id)
    counted = select(Vote).where(res.counted(c.id, condition)).subquery()
    total = db.session.scalar(select(func.count(Household.id)).where(condition)) or 0
    voted_total = db.session.scalar(select(func.count(distinct(counted.c.household_id)))) or 0
    per_channel = dict.fromkeys(res.CHANNELS, 0)
    for channel, n in db.session.execute(
        select(counted.c.channel, func.count(distinct(counted.c.household_id))).group_by(
            counted.c.channel
        )
    ):
        per_channel[res._v(channel)] = n
    printed = db.session.scalar(select(func.count(Ballot.id)).where(Ballot.consultation_id == c.id))
    valid_choice = counted.c.choice.in_([Choice.agree.value, Choice.disagree.value])
    per_ballot = (
        select(
            func.max(case((valid_choice, 1), else_=0)).label("valid"),
            func.max(case((counted.c.choice == Choice.blank.value, 1), else_=0)).label("blank"),
        )
        .where(counted.c.channel == VoteChannel.paper.value)
        .group_by(counted.c.household_id)
        .subquery()
    )
    returned, valid, blank = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(per_ballot.c.valid), 0),
            func.coalesce(
                func.sum(case(((per_ballot.c.valid == 0) & (per_ballot.c.blank == 1), 1), else_=0)),
                0,
            ),
        )
    ).one()
    returned, valid, blank = int(returned), int(valid), int(blank)
    counts = res.vote_counts(c.id, condition)
    paper = {(sid, choice): n for (sid, channel, choice), n in counts.items() if channel == "paper"}
    matters = []
    checks = [
        _check("channels", voted_total, sum(per_channel.values())),
        _check("returned", printed, returned, at_most=True),
    ]
    for sid, position, heading in res.matter_rows(c.id):
        m = res.matter_result(sid, position, heading, counts, total)
        m["paper"] = {
            "valid": paper.get((sid, "agree"), 0) + paper.get((sid, "disagree"), 0),
            "blank": paper.get((sid, "blank"), 0),
            "spoilt": paper.get((sid, "spoilt"), 0),
        }
        matters.append(m)
        choices = m["votes"]["agree"] + m["votes"]["disagree"] + m["blank"] + m["spoilt"]
        label = m["heading"] or str(position)
        checks.append(
            _check("matter_channels", choices, sum(m["by_channel"].values()), matter=label)
        )
        checks.append(_check("matter_households", total, m["turnout"], at_most=True, matter=label))
    conflicts = db.session.scalar(
        select(func.count(VoteConflict.id)).where(VoteConflict.consultation_id == c.id)
    )
    corrections = db.session.scalar(
        select(func.count(Vote.id)).where(
            Vote.consultation_id == c.id, Vote.corrected_at.is_not(None)
        )
    )
    return {
        "households_total": total,
        "voted": {"total": voted_total, **per_channel},
        "ballots": {
            "printed": printed or 0,
            "returned": returned,
            "valid": valid,
            "blank": blank,
            "spoilt": returned - valid - blank,
        },
        "matters": matters,
        "conflicts": conflicts or 0,
        "corrections": corrections or 0,
        "checks": checks,
        "ok": all(ch["ok"] for ch in checks),
    }


def conflicts(c: Consultation) -> list[VoteConflict]:
    """Every refused entry with the vote that stands, for the committee (both entries)."""
    return list(
        db.session.scalars(
            select(VoteConflict)
            .where(VoteConflict.consultation_id == c.id)
            .order_by(VoteConflict.id)
        )
    )


def corrections(c: Consultation) -> list[Vote]:
    return list(
        db.session.scalars(
            select(Vote)
            .where(Vote.consultation_id == c.id, Vote.corrected_at.is_not(None))
            .order_by(Vote.corrected_at, Vote.id)
        )
    )


# --- corrections, confirmation, sign-off, publication ---------------------------------------


def correct_vote(c: Consultation, *, by: User, vote_id: int, choice: str, reason: str) -> Vote:
    """The committee changes a recorded vote, with a reason; the first value is kept. The
    trail records which vote and why, not the choices (reviewers read it; the vote is secret):
    the vote row keeps both, shown on the counting page, and the minutes print them without the
    household."""
    _locked(c)
    if not is_open_to_counting(c):
        raise StateError(
            _("Votes can be corrected only while counting, before the count is confirmed.")
        )
    vote = db.session.get(Vote, vote_id, populate_existing=True) if vote_id else None
    if vote is None or vote.consultation_id != c.id:
        raise InvalidInput(_("No vote of this consultation has this number."), "vote_id")
    try:
        new = Choice(choice)
    except ValueError:
        raise InvalidInput(_("Choose the corrected vote."), "choice") from None
    reason = clean_text(reason).strip()
    if not reason:
        raise InvalidInput(_("Write the reason for the correction."), "reason")
    if len(reason) > REASON_MAX:
        raise InvalidInput(_("The reason can be at most %(n)d characters.", n=REASON_MAX), "reason")
    if new == vote.choice:
        raise InvalidInput(_("The vote already has this choice."), "choice")
    if vote.original_choice is None:
        vote.original_choice = vote.choice
    vote.choice = new
    vote.corrected_at = utcnow()
    vote.corrected_by_id = by.id
    vote.correction_reason = reason
    db.session.flush()
    audit(
        "vote.correct",
        vote,
        by=by,
        locality_id=c.locality_id,
        consultation_id=c.id,
        household=vote.household.code,
        matter=vote.section.heading,
        reason=reason,
    )
    return vote


def _correction_rows(c: Consultation) -> list[dict[str, Any]]:
    return [
        {
            "vote_id": v.id,
            "section_id": v.section_id,
            "channel": v.channel.value,
            "original_choice": v.original_choice.value if v.original_choice else None,
            "choice": v.choice.value,
            "reason": v.correction_reason,
            "corrected_at": _iso(v.corrected_at),
        }
        for v in corrections(c)
    ]


def confirm_count(c: Consultation, *, by: User) -> Decision:
    """The committee confirms the count: the reconciliation and results are stored as they
    stand; after it no ballot is entered and no vote corrected."""
    d = _locked(c)
    if not is_open_to_counting(c):
        raise StateError(_("The count can be confirmed once, after the vote has closed."))
    if not COMMITTEE_MIN <= len(d.committee or []) <= COMMITTEE_MAX:
        raise StateError(
            _("Name the counting committee (3 to 5 members) before confirming the count.")
        )
    now = utcnow().replace(microsecond=0)
    current = res.compute(c)
    d.counted = {
        "reconciliation": reconciliation(c),
        "results": current,
        "corrections": _correction_rows(c),
        "committee": list(d.committee),
        "counted_at": _iso(now),
    }
    d.counted_at, d.counted_by_id = now, by.id
    db.session.flush()
    audit(
        "decision.count",
        d,
        by=by,
        locality_id=c.locality_id,
        consultation_id=c.id,
        households_total=current["households_total"],
    )
    return d


def sign_off(c: Consultation, *, by: User, note: str = "") -> Decision:
    """The Fatherland Front reviewer signs the confirmed count off (the view checks the role)."""
    d = _locked(c)
    if not is_open_to_sign_off(c):
        raise StateError(_("The results can be signed off once, after the count is confirmed."))
    note = clean_text(note).strip()
    if len(note) > NOTE_MAX:
        raise InvalidInput(_("The note can be at most %(n)d characters.", n=NOTE_MAX), "note")
    d.signed_at, d.signed_by_id, d.sign_note = utcnow().replace(microsecond=0), by.id, note or None
    db.session.flush()
    audit("decision.sign", d, by=by, locality_id=c.locality_id, consultation_id=c.id)
    return d


def publish_results(c: Consultation, *, by: User) -> Decision:
    """Freeze the confirmed results with their SHA-256; a second publish is refused."""
    d = _locked(c)
    if has_published_results(c):
        raise StateError(_("The results of this vote are already published."))
    if not is_open_to_results_publishing(c):
        raise StateError(
            _("The results are published after the count is confirmed and signed off.")
        )
    now = utcnow().replace(microsecond=0)
    frozen = dict((d.counted or {}).get("results") or res.compute(c))
    frozen.pop("content_hash", None)
    frozen.update(status="published", published_at=_iso(now))
    d.content, d.content_hash = frozen, res.content_hash(frozen)
    d.published_at, d.published_by_id = now, by.id
    db.session.flush()
    audit(
        "decision.publish",
        d,
        by=by,
        locality_id=c.locality_id,
        consultation_id=c.id,
        content_hash=d.content_hash,
    )
    return d
