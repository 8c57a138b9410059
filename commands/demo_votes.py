"""The household votes of the demo (data/demo.toml, ``[votes.<consultation key>]``).

Through the real services, as a village runs one: the register of households, the letters'
one-time keys (the demo residents link their accounts with them), online votes, numbered paper
ballots entered back by the official, a meeting's votes, and for a closed vote the counting
committee, its confirmed count, the Fatherland Front's sign-off and the published results.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from auth.models import User
from consultations.models import Consultation, Section, Status
from core.extensions import db
from core.timeutil import utcnow
from decisions import ballots, counting, voting
from decisions.models import Vote
from households import services as households
from localities.models import get_by_code


def _names(bulk: dict[str, Any], n: int) -> list[str]:
    family, middle, given = bulk["family"], bulk["middle"], bulk["given"]
    return [
        f"{family[i % len(family)]} {middle[(i * 7) % len(middle)]} {given[(i * 11) % len(given)]}"
        for i in range(n)
    ]


def _register(spec: dict[str, Any], bulk: dict[str, Any], official: User) -> list[str]:
    """The village's households, AT-001 …; returns their codes in order."""
    village = get_by_code(spec["village"])
    codes = [f"{spec['prefix']}-{i:03d}" for i in range(1, spec["households"] + 1)]
    for i, (code, name) in enumerate(zip(codes, _names(bulk, len(codes)), strict=True)):
        households.create_household(
            village,
            code=code,
            representative_name=name,
            address=f"Số {i + 1}, {village.name}",
            active=True,
            by=official,
        )
    keys = {h.code: key for h, key in households.issue_keys(village, by=official, via="demo")}
    for who, code in spec.get("represent", {}).items():
        user = db.session.scalar(select(User).where(User.email == spec["emails"][who]))
        households.link_with_key(user, code, keys[code])
    return codes


def _entries(spec: dict[str, Any], matters: int) -> list[list[str]]:
    """Per household of the channel, its choice on each matter."""
    n = spec["households"]
    rows = [["disagree"] * matters for _ in range(n)]
    for m in range(matters):
        marks = ["agree"] * spec["agree"][m]
        marks += ["blank"] * spec.get("blank", [0] * matters)[m]
        marks += ["spoilt"] * spec.get("spoilt", [0] * matters)[m]
        for i, mark in enumerate(marks):
            rows[i][m] = mark
    return rows


def load_votes(c: Consultation, spec: dict[str, Any], bulk: dict[str, Any], users) -> None:
    official, reviewer = users["official"], users["reviewer"]
    spec = {**spec, "emails": {k: u.email for k, u in users.items()}}
    codes = _register(spec, bulk, official)
    matters = list(
        db.session.scalars(
            select(Section)
            .where(Section.consultation_id == c.id, Section.heading != "")
            .order_by(Section.position)
        )
    )
    closed = c.stored_status == Status.closed
    opens, closes = c.opens_at, c.closes_at
    if closed:  # the online votes were cast while it was open
        c.stored_status, c.closes_at = Status.open, utcnow() + timedelta(days=1)
        db.session.flush()
    for who, choices in spec.get("online", {}).items():
        for section, choice in zip(matters, choices, strict=True):
            voting.cast_online(c, users[who], section.id, choice)
    if closed:
        c.stored_status, c.closes_at = Status.closed, closes
        db.session.flush()
    ballots.number_ballots(c, by=official)
    village = spec["village"]
    start = len(spec.get("represent", {}))
    for channel in ("paper", "meeting"):
        if channel not in spec:
            continue
        rows = _entries(spec[channel], len(matters))
        for code, row in zip(codes[start:], rows, strict=False):
            voting.enter_votes(
                c,
                official,
                f"{village}/{code}",
                {s.id: choice for s, choice in zip(matters, row, strict=True)},
                channel,
            )
        start += len(rows)
    # Spread the votes over the period, as they came in.
    votes = list(db.session.scalars(select(Vote).where(Vote.consultation_id == c.id)))
    last = min(closes, utcnow()) - timedelta(hours=1)
    for i, vote in enumerate(votes):
        vote.created_at = opens + (last - opens) * (i + 1) / (len(votes) + 1)
    db.session.flush()
    if closed and "committee" in spec:
        counting.set_committee(c, by=official, members=[tuple(m) for m in spec["committee"]])
        counting.confirm_count(c, by=official)
        counting.sign_off(c, by=reviewer, note=spec.get("sign_note", ""))
        counting.publish_results(c, by=official)
