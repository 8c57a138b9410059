"""What the consultation views share: lookups that answer 404 for what a visitor may not see,
and the addresses they come back to."""

from __future__ import annotations

from flask import current_app, url_for
from flask_login import current_user

from auth import permissions as can
from auth import sessions
from consultations import queries
from consultations.models import Consultation, Opinion
from core.extensions import db
from core.web import get_or_404, refuse
from notifications import pagestate


def per_page(name: str) -> int:
    return int(current_app.config[name])


def init_app(app) -> None:
    """The consultation page and a post read the consultation, and whether the person follows
    it, with the person (auth/sessions): one statement for a logged-in visitor, not two."""
    for endpoint in ("consultations.show", "consultations.post_opinion"):
        sessions.read_with_page(endpoint, Consultation, "consultation_id", pagestate.follow_columns)


def visible(
    consultation_id: int,
    *,
    attachments: bool = True,
    sections: bool = True,
    follows: bool = False,
) -> Consultation:
    """The consultation if this visitor may see it; drafts of others answer 404, not 403.
    ``follows``: whether a logged-in visitor follows it and its locality is read with it (the
    consultation page's follow buttons, a post's follow; only without its attachments)."""
    if follows and current_user.is_authenticated and not attachments:
        # Usually read already with the person (init_app); its articles then load if used.
        held = sessions.read_for_page(Consultation, consultation_id)
        c, values = held or queries.load_consultation_with(
            consultation_id,
            pagestate.follow_columns,
            {"user_id": current_user.id},
            sections=sections,
        )
        if c is not None:
            pagestate.hold_follow_state(current_user, c, values)
    else:
        c = queries.load_consultation(consultation_id, attachments=attachments, sections=sections)
    if c is None or not can.can_view_consultation(current_user, c):
        refuse(404)
    return c


def visible_opinion(opinion_id: int) -> Opinion:
    opinion = get_or_404(Opinion, opinion_id)
    if not can.can_view_consultation(current_user, opinion.consultation):
        refuse(404)
    return opinion


def opinion_url(opinion: Opinion) -> str:
    return url_for(
        "consultations.show",
        consultation_id=opinion.consultation_id,
        _anchor=f"opinion-{opinion.id}",
    )


def show_url(consultation_id: int) -> str:
    return url_for("consultations.show", consultation_id=consultation_id)


def opinion_page(opinion_id: int) -> str:
    """Where a form post about an opinion comes back to after logging in."""
    opinion = db.session.get(Opinion, opinion_id) if 0 < opinion_id < 2**63 else None
    return opinion_url(opinion) if opinion is not None else url_for("consultations.index")
