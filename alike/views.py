"""The moderation pages of groups of alike opinions (under /moderation): a consultation's
groups, one group with its members, and the moderator's decisions (remove, merge, answer)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from alike import bp, queries, services
from alike.forms import MergeForm, RemoveForm
from alike.models import OpinionGroup
from auth import permissions
from consultations.models import Consultation, Opinion
from consultations.services import InvalidInput, StateError
from core.extensions import db
from core.web import acting_user, get_or_404, login_required, refuse
from moderation.forms import (
    OUTCOME_LABELS,
    ResponseForm,
)
from moderation.views import int_arg, labels, page_number

__all__ = ["bp"]

#: While the worker records a group answer the group page reloads itself (no script needed).
REFRESH_SECONDS = 5


# The moderation pages' labels and argument parsing, shared.
bp.context_processor(labels)


def _consultation_for(c: Consultation, allowed: Callable[[Any, Consultation], bool]) -> None:
    """A draft is hidden as on its public page (404); the others are refused (403)."""
    if not permissions.can_view_consultation(current_user, c):
        refuse(404)
    if not allowed(current_user, c):
        refuse(403)


def _group_for(group_id: int, allowed: Callable[[Any, Consultation], bool]) -> OpinionGroup:
    group = get_or_404(OpinionGroup, group_id)
    _consultation_for(group.consultation, allowed)
    return group


def _group_url(group_id: int, **_view_args) -> str:
    return url_for("alike.group", group_id=group_id)


# --- pages -----------------------------------------------------------------------------------


@bp.get("/consultations/<int:consultation_id>/groups")
@login_required
def groups(consultation_id: int):
    """Show the groups of alike opinions of a consultation, the largest first."""
    c = get_or_404(Consultation, consultation_id)
    _consultation_for(c, permissions.can_view_groups)
    args = request.args
    whole = args.get("whole") == "1"
    section_id = None if whole else int_arg(args, "section")
    campaign = args.get("campaign") == "1"
    pagination = queries.consultation_groups(
        c.id, section_id=section_id, whole_draft=whole, campaign=campaign, page=page_number(args)
    )
    here_args = {
        k: v
        for k, v in (
            ("section", section_id),
            ("whole", "1" if whole else None),
            ("campaign", "1" if campaign else None),
        )
        if v
    }
    return render_template(
        "alike/groups.html",
        c=c,
        pagination=pagination,
        items=list(pagination.items),
        pending=queries.pending_counts([g.id for g in pagination.items]),
        overview=queries.overview(c.id),
        section_filter="whole" if whole else section_id,
        campaign=campaign,
        here_args=here_args,
    )


@bp.get("/groups/<int:group_id>")
@login_required
def group(group_id: int):
    """Show a group of alike opinions: its text, its members, and the answer for all of them."""
    g = _group_for(group_id, permissions.can_view_groups)
    return _render_group(g, request.args)


def _render_group(
    g: OpinionGroup,
    args: Mapping[str, str],
    *,
    status: int = 200,
    answer_form: ResponseForm | None = None,
    merge_form: MergeForm | None = None,
    action_error: str | None = None,
):
    c = g.consultation
    pagination = queries.group_members(g.id, page_number(args))
    if answer_form is not None:
        # Where the summary at the top of the page jumps to (the fields are drawn by hand).
        answer_form.error_anchors = {
            "outcome": f"outcome-group-{next(iter(OUTCOME_LABELS))}",
            "explanation": "explanation-group",
            "summary": "summary-group",
        }
    return render_template(
        "alike/group.html",
        g=g,
        c=c,
        pagination=pagination,
        items=list(pagination.items),
        counts=queries.member_counts(g.id),
        answering=services.is_answering(g),
        refresh=REFRESH_SECONDS,
        concluded=permissions.is_concluded(c),
        can_regroup=permissions.can_regroup(current_user, c),
        answer_form=answer_form,
        merge_form=merge_form,
        action_error=action_error,
        here=url_for("alike.group", group_id=g.id, page=pagination.page),
    ), status


# --- actions ---------------------------------------------------------------------------------


def _refused(group_id: int, exc: InvalidInput | StateError, **forms: Any):
    """A decision refused: the group page again with the message at the top and the input
    kept (the error page when the group itself is gone)."""
    db.session.rollback()
    code = 409 if isinstance(exc, StateError) else 400
    g = db.session.get(OpinionGroup, group_id)
    if g is None:
        refuse(code, exc.message)
    return _render_group(g, request.args, status=code, action_error=exc.message, **forms)


@bp.post("/groups/<int:group_id>/opinions/<int:opinion_id>/remove")
@login_required(back_to=_group_url)
def remove(group_id: int, opinion_id: int):
    """Take an opinion that does not belong out of the group, for good."""
    g = _group_for(group_id, permissions.can_regroup)
    op = get_or_404(Opinion, opinion_id)
    if op.consultation_id != g.consultation_id:
        refuse(404)
    if not RemoveForm().validate_on_submit():
        refuse(400)
    number, consultation_id = g.id, g.consultation_id
    try:
        kept = services.remove(g, op, by=acting_user())
    except (InvalidInput, StateError) as exc:
        return _refused(number, exc)
    db.session.commit()
    if kept:
        flash(
            _(
                "The opinion %(tracking)s was taken out of the group %(number)d; it will not "
                "be grouped with these opinions again.",
                tracking=op.tracking_number,
                number=number,
            ),
            "success",
        )
        return redirect(url_for("alike.group", group_id=number))
    flash(
        _(
            "The opinion %(tracking)s was taken out of the group %(number)d. No alike opinion "
            "is left with the last one: the group is closed.",
            tracking=op.tracking_number,
            number=number,
        ),
        "success",
    )
    return redirect(url_for("alike.groups", consultation_id=consultation_id))


@bp.post("/groups/<int:group_id>/merge")
@login_required(back_to=_group_url)
def merge(group_id: int):
    """Merge another group of the same article into this one."""
    g = _group_for(group_id, permissions.can_regroup)
    form = MergeForm()
    if form.validate_on_submit():
        other = queries.find_group(g.consultation_id, form.group_number)
        if other is None:
            form.other_group.errors.append(
                _(
                    "There is no group %(number)d in this consultation.",
                    number=form.group_number,
                )
            )
        else:
            merged_size = other.size
            try:
                kept = services.merge(g, other, by=acting_user())
            except InvalidInput as exc:
                db.session.rollback()
                form.other_group.errors.append(exc.message)
            except StateError as exc:
                return _refused(group_id, exc, merge_form=form)
            else:
                db.session.commit()
                flash(
                    ngettext(
                        "%(num)d opinion of the group %(other)d joined the group %(number)d.",
                        "%(num)d opinions of the group %(other)d joined the group %(number)d.",
                        merged_size,
                        other=form.group_number,
                        number=kept.id,
                    ),
                    "success",
                )
                return redirect(url_for("alike.group", group_id=kept.id))
    return _render_group(g, request.args, status=400, merge_form=form)


@bp.post("/groups/<int:group_id>/response")
@login_required(back_to=_group_url)
def respond(group_id: int):
    """Answer every opinion of the group still waiting for an answer, with one answer."""
    g = _group_for(group_id, permissions.can_view_groups)
    form = ResponseForm()
    if not form.validate_on_submit():
        return _render_group(g, request.args, status=400, answer_form=form)
    number = g.id
    try:
        count = services.answer_group(
            g,
            by=acting_user(),
            outcome=form.outcome.data,
            explanation=form.explanation.data,
            summary=form.summary.data,
        )
    except InvalidInput as exc:
        db.session.rollback()
        target = getattr(form, exc.field or "", None)
        if target is not None and hasattr(target, "errors"):
            target.errors = [*target.errors, exc.message]
        else:
            form.form_errors.append(exc.message)
        return _render_group(g, request.args, status=400, answer_form=form)
    except StateError as exc:
        return _refused(number, exc, answer_form=form)
    db.session.commit()
    flash(
        ngettext(
            "The answer to the group %(number)d is being recorded for its %(num)d opinion "
            "waiting for one; each author is told. This page shows when it is done.",
            "The answer to the group %(number)d is being recorded for its %(num)d opinions "
            "waiting for one; each author is told. This page shows when it is done.",
            count,
            number=number,
        ),
        "success",
    )
    return redirect(url_for("alike.group", group_id=number))
