"""``flask demo --opinions N``: N opinions on the demo's open consultation, in bulk, for the
benchmarks (bench/run.py). Plain batched INSERTs, not the service layer: a hundred thousand
opinions one by one would take most of an hour; the tracking counter and the audit trail are
kept right all the same."""

from __future__ import annotations

import random
import secrets
import time
from datetime import timedelta
from typing import Any

import click
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from alike import grouping
from audit.models import record as audit
from auth.models import Consent, User
from auth.services import CONSENT_TEXT_VERSION, PARTICIPATION, default_display_name
from consultations.models import (
    NEW_OPINION_BLANKS,
    Channel,
    Consultation,
    Opinion,
    OpinionStatus,
    Outcome,
    Response,
    Stance,
    TrackingCounter,
)
from core.extensions import db
from core.textutil import fold
from core.timeutil import LOCAL_TZ, utcnow
from localities.models import Locality

#: Rows per INSERT batch of ``--opinions``.
BATCH = 5000
#: Extra residents who write the bulk opinions.
BULK_RESIDENTS = 500
BULK_EMAIL = "nguoidan.{:05d}@example.com"

STANCES = [Stance.agree] * 9 + [Stance.suggest] * 8 + [Stance.disagree] * 3
OFFLINE = [
    Channel.meeting,
    Channel.paper,
    Channel.hotline,
    Channel.front,
    Channel.social,
    Channel.dialogue,
]


#: Texts copied by many residents within hours (the moderator sees them as campaigns), and
#: written again in other words: one opinion in ten is one of them.
CAMPAIGNS = [
    "Đề nghị UBND xã giữ nguyên vị trí chợ Cam Lộ, không di dời chợ ra khu vực đồng Bàu.",
    "Chúng tôi đề nghị miễn thu phí vệ sinh môi trường đối với hộ nghèo và hộ cận nghèo.",
    "Đề nghị làm đường điện chiếu sáng dọc tuyến đường từ thôn An Trung ra quốc lộ 9.",
]
CAMPAIGN_SHARE = 0.1


def _campaign_body(rng: random.Random) -> str:
    text = rng.choice(CAMPAIGNS)
    roll = rng.random()
    if roll < 0.2:  # typed without diacritics
        return fold(text)
    if roll < 0.35:
        return "Kính gửi UBND xã. " + text + " Trân trọng cảm ơn."
    if roll < 0.45:
        return text.replace("Đề nghị", "Tôi kiến nghị").replace("Chúng tôi đề nghị", "Đề nghị")
    return text


def _bulk_body(rng: random.Random, words: dict[str, Any]) -> str:
    middles = rng.sample(words["middles"], rng.randint(1, 3))
    parts = (rng.choice(words["openers"]), *middles, rng.choice(words["closers"]))
    return " ".join(p for p in parts if p)


def _bulk_name(rng: random.Random, words: dict[str, Any]) -> str:
    return " ".join(rng.choice(words[part]) for part in ("family", "middle", "given"))


def _bulk_residents(
    rng: random.Random, words: dict[str, Any], localities: list[int], count: int
) -> list[tuple[int, int]]:
    """Insert ``count`` verified residents sharing one password hash; returns (id, locality_id)."""
    pattern = BULK_EMAIL.replace("{:05d}", "%")
    start = db.session.scalar(select(func.count(User.id)).where(User.email.like(pattern))) or 0
    password_hash = generate_password_hash(secrets.token_urlsafe(16), method="scrypt")
    now = utcnow()
    names = {
        loc.id: default_display_name(loc)
        for loc in db.session.scalars(select(Locality).where(Locality.id.in_(localities)))
    }
    rows = []
    for k in range(start + 1, start + count + 1):
        loc = rng.choice(localities)
        rows.append(
            {
                "email": BULK_EMAIL.format(k),
                "password_hash": password_hash,
                "full_name": _bulk_name(rng, words),
                "display_name": names[loc],
                "phone": None,
                "locality_id": loc,
                "locale": "vi",
                "email_verified_at": now,
                "created_at": now,
                "deleted_at": None,
                "failed_logins": 0,
            }
        )
    table = User.__table__
    ids = (
        db.session.execute(table.insert().returning(table.c.id, sort_by_parameter_order=True), rows)
        .scalars()
        .all()
    )
    db.session.execute(
        Consent.__table__.insert(),
        [
            {
                "user_id": i,
                "purpose": PARTICIPATION,
                "text_version": CONSENT_TEXT_VERSION,
                "granted_at": now,
                "withdrawn_at": None,
            }
            for i in ids
        ],
    )
    return [(i, row["locality_id"]) for i, row in zip(ids, rows, strict=True)]


def add_opinions(spec: dict[str, Any], n: int) -> None:
    """Add ``n`` opinions to the demo's open consultation, in batches of plain INSERTs."""
    rng = random.Random()  # noqa: S311 - varied demo texts, not security
    words = spec["bulk"]
    main = next(cs for cs in spec["consultations"] if cs["status"] == "open")
    c = db.session.scalar(
        select(Consultation).where(Consultation.title == main["title"]).order_by(Consultation.id)
    )
    official = db.session.scalar(
        select(User).where(
            User.email == next(u["email"] for u in spec["users"] if u["key"] == main["official"])
        )
    )
    if c is None or official is None:
        raise click.ClickException(
            _("The demo consultation was not found; run the demo without --opinions first.")
        )
    started = time.monotonic()
    sections = [None, *(s.id for s in c.sections)]
    places = [
        loc.id
        for loc in db.session.scalars(select(Locality).where(Locality.parent_id == c.locality_id))
    ] or [c.locality_id]
    authors = _bulk_residents(rng, words, places, min(BULK_RESIDENTS, max(n // 4, 1)))
    click.echo(_("%(n)d residents added to write them.", n=len(authors)))

    now = utcnow()
    year = now.astimezone(LOCAL_TZ).year
    counter = db.session.get(TrackingCounter, year, with_for_update=True)
    if counter is None:
        counter = TrackingCounter(year=year, last=0)
        db.session.add(counter)
        db.session.flush()
    first = counter.last + 1
    span = now - max(c.opens_at, now - timedelta(days=365))
    opinions, responses = Opinion.__table__, Response.__table__
    for offset in range(0, n, BATCH):
        size = min(BATCH, n - offset)
        rows = []
        for i in range(offset, offset + size):
            when = now - span + span * (i + 1) / (n + 1)
            offline = rng.random() < 0.2
            campaign = rng.random() < CAMPAIGN_SHARE
            if campaign:  # posted within a few hours of each other, on the whole draft
                offline = False
                when = now - timedelta(hours=rng.uniform(1, 6))
            author, place = rng.choice(authors)
            rows.append(
                {
                    "consultation_id": c.id,
                    "section_id": None if campaign else rng.choice(sections),
                    "author_id": None if offline else author,
                    "entered_by_id": official.id if offline else None,
                    "contributor_name": _bulk_name(rng, words) if offline else None,
                    "locality_id": None if offline else place,
                    "channel": rng.choice(OFFLINE) if offline else Channel.online,
                    "stance": Stance.suggest if campaign else rng.choice(STANCES),
                    "body": _campaign_body(rng) if campaign else _bulk_body(rng, words),
                    "status": OpinionStatus.published,
                    "tracking_number": f"YK-{year}-{first + i:06d}",
                    "created_at": when,
                    "received_at": when if offline else None,
                    **NEW_OPINION_BLANKS,
                }
            )
        answered = [r for r in rows if rng.random() < 0.2]
        if answered:
            outcomes = [rng.choice(list(Outcome)) for _row in answered]
            ids = (
                db.session.execute(
                    responses.insert().returning(responses.c.id, sort_by_parameter_order=True),
                    [
                        {
                            "consultation_id": c.id,
                            "outcome": o,
                            "explanation": words["explanations"][o.value],
                            "author_id": official.id,
                            "created_at": now,
                            "updated_at": now,
                        }
                        for o in outcomes
                    ],
                )
                .scalars()
                .all()
            )
            for row, response_id in zip(answered, ids, strict=True):
                row["response_id"] = response_id
        # RETURNING makes SQLAlchemy send 1,000 rows a statement ("insertmanyvalues"), so the
        # statement-level counting trigger on PostgreSQL runs 5 times a batch, not 5,000.
        db.session.execute(opinions.insert().returning(opinions.c.id), rows)
        click.echo(_("%(done)d of %(total)d opinions added", done=offset + size, total=n))
    counter.last = first + n - 1  # opinion_count: the insert trigger counted them (tally.py)
    audit("consultation.bulk_opinions", c, by=None, locality_id=c.locality_id, count=n, via="demo")
    db.session.commit()
    stats = grouping.recompute(c.id)  # alike opinions, as the worker would keep them
    db.session.commit()
    click.echo(
        _(
            "%(groups)d groups of alike opinions, %(campaigns)d of them campaigns.",
            groups=stats["groups"],
            campaigns=stats["campaigns"],
        )
    )
    click.echo(
        _(
            "Done in %(s).1f s: tracking numbers YK-%(year)d-%(a)06d to YK-%(year)d-%(b)06d.",
            s=time.monotonic() - started,
            year=year,
            a=first,
            b=first + n - 1,
        )
    )
