"""The audit trail page for reviewers and admins."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from audit import bp
from audit.models import AuditEvent
from auth import permissions
from auth.models import Role, User
from extensions import db
from localities.models import descendant_ids, get_by_code
from web import page_arg, refuse

PER_PAGE = 50

ROLE_LABELS = {
    "official": _l("Official"),
    "moderator": _l("Moderator"),
    "reviewer": _l("Reviewer"),
    "admin": _l("Administrator"),
    "resident": _l("Resident"),
}

#: Human names of the usual actions; others show their code only.
ACTION_LABELS = {
    "consultation.create": _l("Consultation created"),
    "consultation.edit": _l("Consultation edited"),
    "consultation.open": _l("Consultation opened"),
    "consultation.extend": _l("Consultation extended"),
    "consultation.close": _l("Consultation closed"),
    "section.edit": _l("Article edited"),
    "opinion.create": _l("Opinion received"),
    "opinion.edit": _l("Opinion edited"),
    "opinion.withdraw": _l("Opinion withdrawn"),
    "opinion.flag": _l("Opinion reported"),
    "opinion.hide": _l("Opinion hidden"),
    "opinion.restore": _l("Opinion shown again"),
    "opinion.keep": _l("Reports dismissed"),
    "opinion.answer_replace": _l("Answer replaced"),
    "response.create": _l("Answer given"),
}

_EMAIL = re.compile(r"[^\s@<>\"']+@[^\s@<>\"']+\.[^\s@<>\"']+")
#: Keys never shown even if a caller put them in the data by mistake.
_PRIVATE_KEYS = ("email", "e-mail", "phone", "password", "token", "full_name")


def _clean_value(value: Any) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, list | tuple):
        text = ", ".join(_clean_value(v) for v in value)
    elif isinstance(value, dict):
        text = json.dumps(
            {k: v for k, v in value.items() if not _private(k)}, ensure_ascii=False, sort_keys=True
        )
    elif value is None:
        text = "–"
    else:
        text = str(value)
    return _EMAIL.sub("[…]", text)


def _private(key: str) -> bool:
    key = str(key).lower()
    return any(p in key for p in _PRIVATE_KEYS)


def public_data(data: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The event's data as (key, text) pairs, without e-mail addresses or other private fields."""
    return [
        (key, _clean_value(value))
        for key, value in sorted((data or {}).items())
        if not _private(key)
    ]


def _audit_localities(user: Any) -> list:
    seen, out = set(), []
    for assignment in user.assignments:
        if assignment.role in (Role.reviewer, Role.admin) and assignment.locality_id not in seen:
            seen.add(assignment.locality_id)
            out.append(assignment.locality)
    return out


@bp.get("/")
@login_required
def index():
    """Show the audit trail of a locality, newest first."""
    mine = _audit_localities(current_user)
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
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.locality_id.in_(descendant_ids(locality.id)))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )
    pagination = db.paginate(stmt, page=page_arg(), per_page=PER_PAGE, error_out=False)
    events = list(pagination.items)
    actor_ids = {e.actor_id for e in events if e.actor_id}
    actors = (
        {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(actor_ids)))}
        if actor_ids
        else {}
    )
    rows = []
    for event in events:
        actor = actors.get(event.actor_id)
        roles = sorted({a.role.value for a in actor.assignments}) if actor else []
        rows.append(
            {
                "event": event,
                "actor": actor.display_name if actor else None,
                "roles": [ROLE_LABELS[r] for r in roles]
                or ([ROLE_LABELS["resident"]] if actor else []),
                "action": ACTION_LABELS.get(event.action),
                "data": public_data(event.data),
            }
        )
    return render_template(
        "audit/index.html", locality=locality, localities=mine, rows=rows, pagination=pagination
    )
