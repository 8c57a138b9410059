"""The ``demo`` command: a realistic commune with users, consultations and opinions.

The people, texts and dates live in data/demo.toml. Everything goes through the service layer
(tracking numbers, counters, audit events are the real ones); only the dates of consultations
and opinions are moved back afterwards so that each consultation is in its state today. The
append-only audit trail keeps the true time of loading. No e-mail is sent: the addresses
are invented. ``--opinions N`` adds N opinions to the open consultation in bulk, for benchmarks.
"""

from __future__ import annotations

import secrets
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

from alike import grouping
from audit.models import record as audit
from auth.models import Consent, Role, RoleAssignment, User
from auth.permissions import can_moderate
from auth.services import CONSENT_TEXT_VERSION, PARTICIPATION, default_display_name
from commands.demo_bulk import add_opinions
from commands.demo_votes import load_votes
from consultations import opinions, services
from consultations.models import (
    Category,
    Channel,
    Consultation,
    Kind,
    Opinion,
    Outcome,
    Section,
    Stance,
    Status,
)
from consultations.record import publish_record
from core.extensions import db
from core.timeutil import LOCAL_TZ, local_day_end, local_day_start, utcnow
from infra import mail
from localities.models import Locality, LocalityKind, get_by_code
from moderation.services import hide_opinion, respond
from records.services import add_review

DATA = Path(__file__).resolve().parent.parent / "data" / "demo.toml"


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
        # ``copies``: one form letter handed in by each of these contributors (a campaign).
        for name in spec.get("copies") or [spec.get("contributor")]:
            op = opinions.post_opinion(
                c,
                by=users[spec["who"]] if online else official,
                body=spec["body"].strip(),
                stance=Stance(spec["stance"]),
                section=_section(c, spec.get("article")),
                channel=channel,
                contributor_name=None if online else name,
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
    # A form letter's copies all came in within a few hours of the first.
    letters: dict[int, list[Opinion]] = {}
    for spec, op in posted:
        if "copies" in spec:
            letters.setdefault(id(spec), []).append(op)
    for copies in letters.values():
        for k, op in enumerate(copies):
            op.created_at = copies[0].created_at + timedelta(minutes=25 * k)
            op.received_at = op.created_at - timedelta(hours=1)
    if status in (Status.closed, Status.concluded):
        c.stored_status = Status.closed
    db.session.flush()

    by_key = {spec["key"]: op for spec, op in posted if "key" in spec}
    responder = users["moderator"] if can_moderate(users["moderator"], locality) else official
    for spec, op in posted:
        author = op.author
        if "edit" in spec:
            opinions.edit_opinion(
                op, by=author, body=spec["edit"]["body"], stance=Stance(spec["edit"]["stance"])
            )
        if "flag" in spec:
            opinions.flag_opinion(op, by=users[spec["flag"]["by"]], reason=spec["flag"]["reason"])
        if spec.get("withdraw"):
            opinions.withdraw_opinion(op, by=author)
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
        c = load_consultation(cs, users)
        if cs["key"] in spec.get("votes", {}):
            load_votes(c, spec["votes"][cs["key"]], spec["bulk"], users)
        db.session.flush()
        grouping.recompute(c.id)  # alike opinions, as the worker keeps them
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
