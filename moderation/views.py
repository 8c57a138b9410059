"""Moderation: the queue, hiding and restoring, answers, the reviewers' dashboard."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from alike import queries as alike_queries
from auth import permissions
from consultations.models import Consultation, Opinion
from consultations.services import ensure_not_concluded
from core.extensions import db
from core.web import (
    acting_user,
    get_or_404,
    login_required,
    reads_only,
    refuse,
    safe_next,
    submitted,
)
from moderation import bp, page, queries, services
from moderation.forms import (
    CHANNEL_LABELS,
    CONSULTATION_STATUS_LABELS,
    OPINION_STATUS_LABELS,
    OUTCOME_LABELS,
    STANCE_LABELS,
    GroupResponseForm,
    HideForm,
    ResponseForm,
)
from moderation.page import int_arg, page_number

_CONSULTATION_PAGE = re.compile(r"^/moderation/consultations/(\d+)$")


@bp.context_processor
def labels() -> dict[str, Any]:
    return {
        "labels": {
            "outcome": OUTCOME_LABELS,
            "stance": STANCE_LABELS,
            "channel": CHANNEL_LABELS,
            "opinion_status": OPINION_STATUS_LABELS,
            "status": CONSULTATION_STATUS_LABELS,
        }
    }


# --- pages -----------------------------------------------------------------------------------


@bp.get("/")
@login_required
def queue():
    """Show the moderation queue: reported opinions, unanswered ones, hidden ones."""
    if not permissions.can_moderate_anywhere(current_user):
        refuse(403)
    return _render_queue(request.args)


def _render_queue(args: Mapping[str, str], *, status: int = 200, failed: dict | None = None):
    locality_ids = queries.locality_ids_for(current_user, permissions.QUEUE_ROLES)
    consultation = None
    consultation_id = int_arg(args, "consultation")
    if args.get("consultation"):
        consultation = get_or_404(Consultation, args.get("consultation"))
        if not permissions.can_moderate(current_user, consultation.locality):
            refuse(403)
    counts = queries.queue_counts(locality_ids, consultation_id)
    tab = args.get("tab")
    if tab not in queries.TABS:
        tab = "flagged" if counts["flagged"] else "unanswered"
    pagination = queries.queue_page(tab, locality_ids, consultation_id, page_number(args))
    items = list(pagination.items)
    page.point_at(failed, items)
    here_args = {k: v for k, v in (("tab", tab), ("consultation", consultation_id)) if v}
    return render_template(
        "moderation/queue.html",
        tab=tab,
        counts=counts,
        consultation=consultation,
        consultations=queries.queue_consultations(locality_ids),
        pagination=pagination,
        items=items,
        flags=queries.open_flags([op.id for op in items]),
        groups=alike_queries.groups_of([op.id for op in items]),
        here=url_for("moderation.queue", page=pagination.page, **here_args),
        here_args=here_args,
        failed=failed,
    ), status


@bp.get("/consultations/<int:consultation_id>")
@reads_only
@login_required
def consultation(consultation_id: int):
    """Show a consultation's opinions with their answers and the progress of answering."""
    c = get_or_404(Consultation, consultation_id)
    if not permissions.can_view_consultation(current_user, c):
        refuse(404)  # a draft is hidden as on its public page
    if not permissions.can_respond(current_user, c):
        refuse(403)
    return page.render(c, request.args)


@bp.get("/dashboard")
@login_required
def dashboard():
    """Show the consultations of my localities with their opinions and answers."""
    if not permissions.can_view_dashboard(current_user):
        refuse(403)
    locality_ids = queries.locality_ids_for(current_user, permissions.DASHBOARD_ROLES)
    status = request.args.get("status")
    if status not in CONSULTATION_STATUS_LABELS or status == "draft":
        status = None
    pagination = queries.dashboard_page(locality_ids, status, page_number(request.args))
    ids = [c.id for c in pagination.items]
    return render_template(
        "moderation/dashboard.html",
        pagination=pagination,
        status=status,
        progress=services.progress_by_consultation(ids),
        flagged=queries.open_flag_counts(ids),
        here_args={"status": status} if status else {},
    )


# --- actions ---------------------------------------------------------------------------------


def _queue_url(**_view_args) -> str:
    return url_for("moderation.queue")


def _back_to(failed: dict, default_consultation: Consultation | None):
    """Show again the page the form was posted from, with the message beside the field."""
    target = urlsplit(request.form.get("next") or "")
    args = MultiDict(parse_qsl(target.query))
    match = _CONSULTATION_PAGE.match(target.path)
    if match:
        c = db.session.get(Consultation, int(match.group(1)))
        if c is not None and permissions.can_respond(current_user, c):
            return page.render(c, args, status=400, failed=failed)
    elif target.path.rstrip("/") == "/moderation" and permissions.can_moderate_anywhere(
        current_user
    ):
        return _render_queue(args, status=400, failed=failed)
    if default_consultation is not None:
        return page.render(default_consultation, MultiDict(), status=400, failed=failed)
    if permissions.can_moderate_anywhere(current_user):
        return _render_queue(MultiDict(), status=400, failed=failed)
    form = failed["form"]
    refuse(400, getattr(form, "opinion_ids_error", None))


@bp.post("/opinions/<int:opinion_id>/hide")
@login_required(back_to=_queue_url)
def hide(opinion_id: int):
    """Hide an opinion from the public, with a reason shown in its place."""
    op = get_or_404(Opinion, opinion_id)
    if not permissions.can_moderate(current_user, op.consultation.locality):
        refuse(403)
    ensure_not_concluded(op.consultation)
    form = HideForm()
    if submitted(form, services.hide_opinion, op, by=acting_user(), reason=form.reason.data):
        db.session.commit()
        flash(
            _(
                "The opinion %(number)s is hidden. Its author has been told why.",
                number=op.tracking_number,
            ),
            "success",
        )
        return redirect(safe_next(url_for("moderation.queue")))
    return _back_to({"kind": "hide", "opinion_id": op.id, "form": form}, op.consultation)


@bp.post("/opinions/<int:opinion_id>/restore")
@login_required(back_to=_queue_url)
def restore(opinion_id: int):
    """Show a hidden opinion again, or keep a reported one published."""
    op = get_or_404(Opinion, opinion_id)
    if not permissions.can_moderate(current_user, op.consultation.locality):
        refuse(403)
    ensure_not_concluded(op.consultation)
    was_hidden = op.status == "hidden"
    services.restore_opinion(op, by=acting_user())
    db.session.commit()
    if was_hidden:
        flash(_("The opinion %(number)s is shown again.", number=op.tracking_number), "success")
    else:
        flash(
            _(
                "The reports on %(number)s were dismissed; it stays published.",
                number=op.tracking_number,
            ),
            "success",
        )
    return redirect(safe_next(url_for("moderation.queue")))


#: How many tracking numbers the message after a group answer names.
FLASH_NUMBERS = 10


def _answer(form: ResponseForm, ops: list[Opinion]) -> bool:
    """Save the answer of a valid ``form`` to ``ops``, and tell the moderator; False when
    the form is refused (its errors are then on it)."""
    if not submitted(
        form,
        services.respond,
        ops,
        by=acting_user(),
        outcome=form.outcome.data,
        explanation=form.explanation.data,
        summary=form.summary.data,
    ):
        return False
    db.session.commit()
    # The message lives in the session cookie: a group of thousands is named by its first few.
    numbers = ", ".join(op.tracking_number for op in ops[:FLASH_NUMBERS])
    if len(ops) > FLASH_NUMBERS:
        numbers = _(
            "%(numbers)s and %(more)d others", numbers=numbers, more=len(ops) - FLASH_NUMBERS
        )
    flash(
        _("The answer was saved and sent to the authors: %(numbers)s.", numbers=numbers), "success"
    )
    return True


@bp.post("/opinions/<int:opinion_id>/response")
@login_required(back_to=_queue_url)
def respond(opinion_id: int):
    """Answer one opinion (tiếp thu, giải trình)."""
    op = get_or_404(Opinion, opinion_id)
    c = op.consultation
    if not permissions.can_respond(current_user, c):
        refuse(403)
    ensure_not_concluded(c)
    form = ResponseForm()
    if _answer(form, [op]):
        return redirect(safe_next(url_for("moderation.consultation", consultation_id=c.id)))
    return _back_to({"kind": "answer", "opinion_id": op.id, "form": form}, c)


@bp.post("/responses")
@login_required(back_to=_queue_url)
def respond_group():
    """Answer several alike opinions together with one answer."""
    if not permissions.can_respond_anywhere(current_user):
        refuse(403)
    form = GroupResponseForm()
    valid = form.validate()
    ops = (
        list(db.session.scalars(select(Opinion).where(Opinion.id.in_(form.opinion_ids))))
        if form.opinion_ids
        else []
    )
    if len(ops) != len(form.opinion_ids):
        refuse(404)
    consultations = {op.consultation_id: op.consultation for op in ops}
    for c in consultations.values():
        if not permissions.can_respond(current_user, c):
            refuse(403)
        ensure_not_concluded(c)
    default = next(iter(consultations.values()), None)
    if len(consultations) > 1:
        valid = False
        form.opinion_ids_error = _(
            "Opinions answered together must belong to the same consultation."
        )
    if valid and _answer(form, ops):
        fallback = (
            url_for("moderation.consultation", consultation_id=default.id)
            if default
            else url_for("moderation.queue")
        )
        return redirect(safe_next(fallback))
    return _back_to({"kind": "group", "opinion_id": None, "form": form}, default)
