"""The audit trail (nhật ký thao tác) for reviewers and admins: in words on the page, with the
codes in the CSV download of the same list."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import bp
from audit.actions import ROLE_LABELS, action_label, details, public_data, time_text
from audit.models import AuditEvent
from auth import permissions
from auth.models import User
from consultations.models import Attachment, Consultation, Opinion, Record, Review, Section
from consultations.models import Response as Answer
from core.extensions import db
from core.pagination import paginate
from core.web import download, login_required, page_arg, refuse
from localities.models import Locality, descendant_ids, get_by_code

PER_PAGE = 50
#: Rows read at a time while the CSV is streamed.
CSV_BATCH = 500
CSV_COLUMNS = (
    "id",
    "at",
    "actor_id",
    "actor",
    "action",
    "object_type",
    "object_id",
    "locality_code",
    "data",
)


def _chosen_locality() -> tuple[Locality, list]:
    """The locality of ?locality= (or the reader's own), refused unless they may read its trail."""
    mine = permissions.audit_localities(current_user)
    code = request.args.get("locality")
    if code:
        locality = get_by_code(code)
        if locality is None:
            refuse(404)
    elif mine:
        locality = mine[0]
    else:
        refuse(403)
    if not permissions.can_view_audit(current_user, locality):
        refuse(403)
    return locality, mine


def _filtered(stmt, locality: Locality):
    """The filter and order of the list: the page and the CSV apply the very same ones."""
    return stmt.where(AuditEvent.locality_id.in_(descendant_ids(locality.id))).order_by(
        AuditEvent.at.desc(), AuditEvent.id.desc()
    )


# --- the objects, by name ---------------------------------------------------------------------


@dataclass
class ObjectLink:
    text: str
    url: str | None = None
    context: str | None = None  # the consultation it belongs to, when that is not the object


def _rows_by_id(model, ids: set[int], *columns) -> dict[int, Any]:
    if not ids:
        return {}
    return {
        row[0]: row
        for row in db.session.execute(select(model.id, *columns).where(model.id.in_(ids)))
    }


def _objects(events: list[AuditEvent]) -> dict[int, ObjectLink]:
    """The object of each event as words and a link: a fixed number of queries per page."""
    wanted: dict[str, set[int]] = {}
    for e in events:
        if e.object_id is not None:
            wanted.setdefault(e.object_type, set()).add(e.object_id)
    opinions = _rows_by_id(
        Opinion, wanted.get("opinion", set()), Opinion.tracking_number, Opinion.consultation_id
    )
    sections = _rows_by_id(
        Section, wanted.get("section", set()), Section.heading, Section.consultation_id
    )
    records = _rows_by_id(Record, wanted.get("record", set()), Record.consultation_id)
    reviews = _rows_by_id(Review, wanted.get("review", set()), Review.consultation_id)
    answers = _rows_by_id(Answer, wanted.get("response", set()), Answer.consultation_id)
    attachments = _rows_by_id(
        Attachment, wanted.get("attachment", set()), Attachment.filename, Attachment.consultation_id
    )
    users = _rows_by_id(User, wanted.get("user", set()), User.display_name)
    localities = _rows_by_id(Locality, wanted.get("locality", set()), Locality.name, Locality.code)

    consultation_ids = set(wanted.get("consultation", set()))
    for table in (opinions, sections, records, reviews, answers, attachments):
        consultation_ids.update(row[-1] for row in table.values())
    for e in events:
        cid = (e.data or {}).get("consultation_id")
        if isinstance(cid, int):
            consultation_ids.add(cid)
    titles = {
        row[0]: row[1]
        for row in _rows_by_id(Consultation, consultation_ids, Consultation.title).values()
    }

    def consultation_url(cid: int | None, anchor: str | None = None) -> str | None:
        if cid not in titles:
            return None
        return url_for("consultations.show", consultation_id=cid, _anchor=anchor)

    out: dict[int, ObjectLink] = {}
    for e in events:
        oid, kind, data = e.object_id, e.object_type, e.data or {}
        link: ObjectLink | None = None
        if kind == "consultation" and oid in titles:
            link = ObjectLink(titles[oid], consultation_url(oid))
        elif kind == "opinion":
            row = opinions.get(oid)
            number = row[1] if row else data.get("tracking_number")
            cid = row[2] if row else data.get("consultation_id")
            link = ObjectLink(
                _("Opinion %(number)s", number=number or f"#{oid}"),
                consultation_url(cid, f"opinion-{oid}") if row else None,
                titles.get(cid),
            )
        elif kind == "response":
            row = answers.get(oid)
            cid = row[1] if row else data.get("consultation_id")
            numbers = data.get("tracking_numbers") or []
            link = ObjectLink(
                _("Answer to %(numbers)s", numbers=", ".join(numbers))
                if numbers
                else _("An answer"),
                consultation_url(cid),
                titles.get(cid),
            )
        elif kind == "section" and oid in sections:
            heading, cid = sections[oid][1:]
            link = ObjectLink(
                heading or _("Introduction"),
                consultation_url(cid, f"section-{oid}"),
                titles.get(cid),
            )
        elif kind == "record" and oid in records:
            cid = records[oid][1]
            link = ObjectLink(
                _("Record of consultation"),
                url_for("records.record", consultation_id=cid) if cid in titles else None,
                titles.get(cid),
            )
        elif kind == "review" and oid in reviews:
            cid = reviews[oid][1]
            link = ObjectLink(
                _("Review by the Fatherland Front"),
                url_for("records.reviews", consultation_id=cid) if cid in titles else None,
                titles.get(cid),
            )
        elif kind == "attachment" and oid in attachments:
            filename, cid = attachments[oid][1:]
            link = ObjectLink(
                filename, url_for("attachments.download", attachment_id=oid), titles.get(cid)
            )
        elif kind == "user":
            row = users.get(oid)
            link = ObjectLink(
                _("Account of %(name)s", name=row[1]) if row else _("A deleted account")
            )
        elif kind == "locality" and oid in localities:
            name, code = localities[oid][1:]
            link = ObjectLink(f"{name} ({code})")
        if link is None:
            link = ObjectLink(_("Object no longer held") if oid is not None else "–")
        if link.context == link.text:
            link.context = None
        out[e.id] = link
    return out


# --- the page ---------------------------------------------------------------------------------


@bp.get("/")
@login_required
def index():
    """Show the audit trail of a locality, newest first, in words and local time."""
    locality, mine = _chosen_locality()
    pagination = paginate(_filtered(select(AuditEvent), locality), page_arg(), PER_PAGE)
    events = list(pagination.items)
    actor_ids = {e.actor_id for e in events if e.actor_id}
    actors = (
        {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(actor_ids)))}
        if actor_ids
        else {}
    )
    objects = _objects(events)
    rows = []
    for event in events:
        actor = actors.get(event.actor_id)
        roles = sorted({a.role.value for a in actor.assignments}) if actor else []
        rows.append(
            {
                "event": event,
                "when": time_text(event.at),
                "actor": actor.display_name if actor else None,
                "roles": [str(ROLE_LABELS[r]) for r in roles]
                or ([str(ROLE_LABELS["resident"])] if actor else []),
                "action": action_label(event.action),
                "object": objects[event.id],
                "details": details(event.data),
            }
        )
    return render_template(
        "audit/index.html", locality=locality, localities=mine, rows=rows, pagination=pagination
    )


# --- the CSV ----------------------------------------------------------------------------------

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _safe(value: Any) -> Any:
    """Text that starts like a spreadsheet formula gets a leading ' (CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _csv_chunks(stmt, engine) -> Iterator[str]:
    """The BOM and the header, then the events batch by batch, read with a session of their own
    when the server starts sending (the view has returned by then)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    yield "\ufeff" + buffer.getvalue()
    with Session(engine) as session:
        for partition in session.execute(stmt).partitions():
            buffer.seek(0)
            buffer.truncate()
            for eid, at, actor_id, actor, action, otype, oid, code, data in partition:
                writer.writerow(
                    [
                        eid,
                        at.isoformat(timespec="seconds") if at else "",
                        actor_id if actor_id is not None else "",
                        _safe(actor or ""),
                        action,
                        otype,
                        oid if oid is not None else "",
                        code or "",
                        _safe(json.dumps(public_data(data), ensure_ascii=False, sort_keys=True)),
                    ]
                )
            yield buffer.getvalue()


@bp.get("/export.csv")
@login_required
def export_csv():
    """The same list as the page (same locality and units under it), with the codes: one row
    per event, times in UTC ISO 8601, the data as JSON without private fields."""
    locality, _mine = _chosen_locality()
    stmt = _filtered(
        select(
            AuditEvent.id,
            AuditEvent.at,
            AuditEvent.actor_id,
            User.display_name,
            AuditEvent.action,
            AuditEvent.object_type,
            AuditEvent.object_id,
            Locality.code,
            AuditEvent.data,
        )
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .outerjoin(Locality, Locality.id == AuditEvent.locality_id),
        locality,
    ).execution_options(yield_per=CSV_BATCH)
    return download(
        (chunk.encode() for chunk in _csv_chunks(stmt, db.engine)),
        filename=f"Nhật ký thao tác – {locality.name} ({locality.code}).csv",
        content_type="text/csv; charset=utf-8",
    )
