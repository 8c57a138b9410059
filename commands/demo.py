"""The ``demo`` command: a realistic commune with users, consultations and opinions.

The people, texts and dates live in data/demo.toml. Everything goes through the service layer
(tracking numbers, counters, audit events are the real ones); only the dates of consultations
and opinions are moved back afterwards so that each consultation is in its state today. The
append-only audit trail keeps the true time of loading. No e-mail is sent: the addresses
are invented. ``--opinions N`` adds N opinions to the open consultation in bulk, for benchmarks.
"""

from __future__ import annotations

import random
import secrets
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from audit.models import record as audit
from auth.models import Consent, Role, RoleAssignment, User
from auth.services import CONSENT_TEXT_VERSION, PARTICIPATION, default_display_name
from consultations import services
from consultations.models import (
    NEW_OPINION_BLANKS,
    Category,
    Channel,
    Consultation,
    Kind,
    Opinion,
    OpinionStatus,
    Outcome,
    Response,
    Section,
    Stance,
    Status,
    TrackingCounter,
)
from consultations.record import add_review, publish_record
from core.extensions import db
from core.timeutil import LOCAL_TZ, local_day_end, local_day_start, utcnow
from infra import mail
from localities.models import Locality, LocalityKind, get_by_code

DATA = Path(__file__).resolve().parent.parent / "data" / "demo.toml"
#: Rows per INSERT batch of ``--opinions``.
BATCH = 5000
#: Extra residents who write the bulk opinions.
BULK_RESIDENTS = 500
BULK_EMAIL = "nguoidan.{:05d}@example.com"


def load_spec() -> dict[str, Any]:
    return tomllib.loads(DATA.read_text(encoding="utf-8"))


@contextmanager
def no_mail() -> Iterator[None]:
    """Queue nothing while loading: the demo addresses are invented."""
    original = mail.queue
    mail.queue = lambda *args, **kwargs: None
    try:
        yield
    finally:
        mail.queue = original


def _today():
    return utcnow().astimezone(LOCAL_TZ).date()


# --- localities and people -------------------------------------------------------------------


def _locality(
    code: str, name: str, kind: LocalityKind, parent: Locality | None, **extra: Any
) -> Locality:
    loc = get_by_code(code)
    if loc is None:
        loc = Locality(code=code, name=name, kind=kind, parent=parent, **extra)
        db.session.add(loc)
        db.session.flush()
        audit(
            "locality.create",
            loc,
            locality_id=loc.id,
            code=code,
            name=name,
            kind=kind.value,
            via="demo",
        )
    return loc


def load_localities(spec: dict[str, Any]) -> None:
    p = spec["province"]
    province = _locality(p["code"], p["name"], LocalityKind.province, None)
    for c in spec["communes"]:
        # The People's Committee's contacts, printed on the notices.
        contacts = {k: c[k] for k in ("address", "phone", "email", "office_hours") if k in c}
        commune = _locality(
            c["code"],
            c["name"],
            LocalityKind.commune,
            province,
            renamed_from=c.get("renamed_from"),
            **contacts,
        )
        for code, name in c["villages"]:
            _locality(code, name, LocalityKind.village, commune)


def load_users(spec: dict[str, Any]) -> tuple[dict[str, User], list[tuple[str, ...]]]:
    """Create a user per entry; returns them by key and the table of passwords to print."""
    users: dict[str, User] = {}
    table = []
    now = utcnow()
    for u in spec["users"]:
        locality = get_by_code(u["locality"])
        resident = u["role"] == "resident"
        verified = u.get("verified", True)
        user = User(
            email=u["email"],
            full_name=u["name"],
            display_name=u.get("display_name")
            or (default_display_name(locality) if resident else u["name"]),
            locality=locality if resident else None,
            email_verified_at=now if verified else None,
        )
        password = secrets.token_urlsafe(9)
        user.set_password(password)
        if resident:
            user.consents.append(
                Consent(purpose=PARTICIPATION, text_version=CONSENT_TEXT_VERSION, granted_at=now)
            )
        else:
            user.assignments.append(RoleAssignment(role=Role(u["role"]), locality=locality))
        db.session.add(user)
        db.session.flush()
        audit("user.create", user, locality_id=locality.id, role=u["role"], via="demo")
        users[u["key"]] = user
        note = "" if verified else _("e-mail not verified")
        table.append((u["role"], u["email"], password, f"{locality.code} {locality.name}", note))
    return users, table


# --- consultations ---------------------------------------------------------------------------


def _section(c: Consultation, article: int | None) -> Section | None:
    if not article:
        return None
    for s in c.sections:
        if s.heading.startswith((f"Điều {article}.", f"Điều {article}:")):
            return s
    raise click.ClickException(f"demo.toml: {c.title!r} has no article {article}")


def load_consultation(cs: dict[str, Any], users: dict[str, User]) -> Consultation:
    from auth.permissions import can_moderate
    from moderation.services import hide_opinion, respond

    official = users[cs["official"]]
    locality = get_by_code(cs["locality"])
    kind = Kind(cs["kind"])
    today, now = _today(), utcnow()
    opens = local_day_start(today + timedelta(days=cs["opens"]))
    closes = local_day_end(today + timedelta(days=cs["closes"] - 1))
    shortest = timedelta(days=services.min_days(kind) + 1)
    status = Status(cs["status"])
    if status == Status.draft:
        start, end = opens, max(closes, opens + shortest)
    else:  # opened today, moved back below once the opinions are in
        start, end = now, max(closes, now + shortest)
    c = services.create_consultation(
        by=official,
        locality=locality,
        title=cs["title"],
        summary=cs["summary"],
        kind=kind,
        category=Category(cs["category"]),
        opens_at=start,
        closes_at=end,
        text=cs["text"],
        legal_basis=cs.get("legal_basis", ""),
        meetings=cs.get("meetings", ""),
    )
    if status == Status.draft:
        return c
    services.open_consultation(c, by=official)

    posted: list[tuple[dict[str, Any], Opinion]] = []
    for spec in cs.get("opinions", []):
        channel = Channel(spec.get("channel", "online"))
        online = channel == Channel.online
        op = services.post_opinion(
            c,
            by=users[spec["who"]] if online else official,
            body=spec["body"].strip(),
            stance=Stance(spec["stance"]),
            section=_section(c, spec.get("article")),
            channel=channel,
            contributor_name=None if online else spec["contributor"],
            # Offline: public as the channel and the village; the name only if they agreed.
            contributor_locality=None if online else get_by_code(spec.get("village")),
            contributor_name_public=not online and bool(spec.get("named")),
        )
        posted.append((spec, op))

    # Move the calendar back: opened on ``opens``, opinions spread over the days since.
    c.created_at = opens - timedelta(days=3)
    c.opens_at = c.opened_at = opens
    c.closes_at = closes
    last = min(closes, now) - timedelta(hours=2)
    for i, (_spec, op) in enumerate(posted):
        when = opens + (last - opens) * (i + 1) / (len(posted) + 1)
        if op.channel != Channel.online:
            op.received_at = when - timedelta(hours=5)
        op.created_at = when
    if status in (Status.closed, Status.concluded):
        c.stored_status = Status.closed
    db.session.flush()

    by_key = {spec["key"]: op for spec, op in posted if "key" in spec}
    responder = users["moderator"] if can_moderate(users["moderator"], locality) else official
    for spec, op in posted:
        author = op.author
        if "edit" in spec:
            services.edit_opinion(
                op, by=author, body=spec["edit"]["body"], stance=Stance(spec["edit"]["stance"])
            )
        if "flag" in spec:
            services.flag_opinion(op, by=users[spec["flag"]["by"]], reason=spec["flag"]["reason"])
        if spec.get("withdraw"):
            services.withdraw_opinion(op, by=author)
        if "hide" in spec:
            hide_opinion(op, by=responder, reason=spec["hide"])
        if "answer" in spec:
            alike = (
                [o for s, o in posted if s.get("answer_with") == spec.get("key")]
                if "key" in spec
                else []
            )
            answer = spec["answer"]
            respond(
                [op, *alike],
                by=responder,
                outcome=Outcome(answer["outcome"]),
                explanation=answer["explanation"],
            )
        elif "answer_with" in spec and spec["answer_with"] not in by_key:
            raise click.ClickException(f"demo.toml: unknown answer_with {spec['answer_with']!r}")

    if status == Status.concluded:
        if cs.get("review"):
            add_review(c, by=users["reviewer"], body=cs["review"])
        publish_record(
            c,
            by=responder,
            conclusion=cs["conclusion"],
            signer_name=cs["signer_name"],
            signer_title=cs["signer_title"],
        )
    db.session.flush()
    return c


def demo_loaded(spec: dict[str, Any]) -> bool:
    emails = [u["email"] for u in spec["users"]]
    return db.session.scalar(select(func.count(User.id)).where(User.email.in_(emails))) > 0


def load_demo(spec: dict[str, Any]) -> list[tuple[str, ...]]:
    load_localities(spec)
    users, table = load_users(spec)
    for cs in spec["consultations"]:
        load_consultation(cs, users)
    return table


def print_table(table: list[tuple[str, ...]]) -> None:
    header = (_("Role"), _("E-mail"), _("Password"), _("Locality"), _("Note"))
    rows = [header, *table]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for i, row in enumerate(rows):
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            click.echo("  ".join("-" * w for w in widths if w))
    click.echo(_("These passwords are shown only once."))


# --- bulk opinions for benchmarks ------------------------------------------------------------

STANCES = [Stance.agree] * 9 + [Stance.suggest] * 8 + [Stance.disagree] * 3
OFFLINE = [
    Channel.meeting,
    Channel.paper,
    Channel.hotline,
    Channel.front,
    Channel.social,
    Channel.dialogue,
]


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
            author, place = rng.choice(authors)
            rows.append(
                {
                    "consultation_id": c.id,
                    "section_id": rng.choice(sections),
                    "author_id": None if offline else author,
                    "entered_by_id": official.id if offline else None,
                    "contributor_name": _bulk_name(rng, words) if offline else None,
                    "locality_id": None if offline else place,
                    "channel": rng.choice(OFFLINE) if offline else Channel.online,
                    "stance": rng.choice(STANCES),
                    "body": _bulk_body(rng, words),
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
    click.echo(
        _(
            "Done in %(s).1f s: tracking numbers YK-%(year)d-%(a)06d to YK-%(year)d-%(b)06d.",
            s=time.monotonic() - started,
            year=year,
            a=first,
            b=first + n - 1,
        )
    )


@click.command("demo")
@with_appcontext
@click.option(
    "--opinions",
    "extra",
    type=click.IntRange(min=0),
    default=0,
    help="Also add this many opinions to the open consultation (for benchmarks).",
)
def demo_command(extra: int) -> None:
    """Load a demo commune: users of every role, consultations in every state, opinions."""
    spec = load_spec()
    loaded = demo_loaded(spec)
    if loaded and not extra:
        click.echo(_("The demo data is already loaded; nothing was changed."))
        return
    with no_mail():
        if not loaded:
            try:
                table = load_demo(spec)
                db.session.commit()
            except Exception:
                db.session.rollback()
                raise
            click.echo(
                _(
                    "Demo loaded: %(province)s, %(communes)s.",
                    province=spec["province"]["name"],
                    communes=", ".join(c["name"] for c in spec["communes"]),
                )
            )
            print_table(table)
        if extra:
            add_opinions(spec, extra)


#: Registered by cli.register().
COMMANDS = [demo_command]
