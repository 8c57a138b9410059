"""Opinions: giving one (or entering one received offline), changing, withdrawing, reporting.

Each view answers 403 to who may not act at all, and 409 when the state does not allow it
(the predicates of auth/permissions.py, which the page reads to show the same forms)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from auth import permissions as can
from consultations import bp, labels, queries, services
from consultations.forms import FlagForm, OfflineOpinionForm, OpinionEditForm, OpinionForm
from consultations.models import Channel, Opinion, Stance
from consultations.views.common import opinion_page, opinion_url, show_url, visible, visible_opinion
from consultations.views.page import _render_show
from core.extensions import db
from core.timeutil import local_day_start
from core.web import acting_user, login_required, refuse, submitted


@bp.post("/consultations/<int:consultation_id>/opinions")
@login_required(back_to=lambda consultation_id: show_url(consultation_id) + "#give-opinion")
def post_opinion(consultation_id: int):
    """Give an opinion (or, for officials, enter one received offline)."""
    # A refused form loads the attachments if it needs them; whether the poster already
    # follows it is read with it (a follower's post writes no follow). The articles only for
    # an opinion on one of them, or one entered offline (its form's villages come with them):
    # joined, they were a tenth of a post on the whole draft.
    offline = (request.form.get("channel") or Channel.online.value) != Channel.online.value
    articles = offline or bool(request.form.get("section_id"))
    c = visible(consultation_id, attachments=False, sections=articles, follows=True)
    if offline:
        if not can.is_official_of(current_user, c):
            refuse(403, _("Only officials of this locality can enter opinions received offline."))
        if not can.can_enter_offline_opinion(current_user, c):
            refuse(
                409,
                _(
                    "Offline opinions can be entered only while the consultation is open or closed, before the record is published."
                ),
            )
        form = OfflineOpinionForm()
    else:
        if not can.is_verified_resident(current_user):
            refuse(403, _("Please confirm your e-mail address before giving an opinion."))
        if not can.can_post_opinion(current_user, c):
            refuse(409, _("This consultation is not open for opinions."))
        form = OpinionForm()
    form.set_sections(c.sections if articles else [])
    posted: list[Opinion] = []

    def post() -> None:
        posted.append(
            services.post_opinion(
                c,
                by=acting_user(),
                body=form.body.data,
                stance=Stance(form.stance.data),
                section=form.section,
                channel=Channel(form.channel.data) if offline else Channel.online,
                contributor_name=form.contributor_name.data if offline else None,
                contributor_locality=form.village_obj if offline else None,
                contributor_name_public=bool(form.contributor_name_public.data)
                if offline
                else False,
                received_at=local_day_start(form.received_at.day)
                if offline and form.received_at.day
                else None,
            )
        )

    if submitted(form, post):
        opinion = posted[0]
        # Read before the commit expires them: afterwards each would cost a query (bench/).
        if offline:  # an official typed in someone else's opinion: not "your opinion"
            message = _(
                "The opinion received through %(channel)s is recorded with tracking number %(number)s.",
                channel=labels.label(opinion.channel),
                number=opinion.tracking_number,
            )
        else:
            message = _(
                "Your opinion was received. Tracking number %(number)s.",
                number=opinion.tracking_number,
            )
        target = opinion_url(opinion)
        db.session.commit()
        flash(message, "success")
        return redirect(target)
    c = queries.load_consultation(consultation_id)
    form.set_sections(c.sections)  # the refused form offers every article again
    if offline:
        return _render_show(c, status=400, offline_form=form)
    return _render_show(c, status=400, opinion_form=form)


def _own_opinion(opinion_id: int) -> Opinion:
    """The visitor's own opinion, while its author may still change it (409 otherwise)."""
    opinion = visible_opinion(opinion_id)
    if not can.is_author(current_user, opinion):
        refuse(403, _("Only the author can change an opinion."))
    # Each state has its own message: the service says which (StateError: 409).
    services.check_author_can_change(opinion)
    return opinion


@bp.route("/opinions/<int:opinion_id>/edit", methods=["GET", "POST"])
@login_required
def edit_opinion(opinion_id: int):
    """Change my opinion while the consultation is open."""
    opinion = _own_opinion(opinion_id)
    form = OpinionEditForm(obj=None if request.method == "POST" else opinion)
    if submitted(
        form,
        lambda: services.edit_opinion(
            opinion, by=acting_user(), body=form.body.data, stance=Stance(form.stance.data)
        ),
    ):
        db.session.commit()
        flash(_("Your opinion was updated."), "success")
        return redirect(opinion_url(opinion))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "consultations/opinion_edit.html", form=form, opinion=opinion, c=opinion.consultation
    ), status


@bp.get("/opinions/<int:opinion_id>/withdraw")
@login_required
def confirm_withdraw(opinion_id: int):
    """Ask before withdrawing, on a page of its own (without JavaScript there is no dialog):
    the opinion, and a button that posts to the same address."""
    opinion = _own_opinion(opinion_id)
    return render_template("consultations/withdraw.html", opinion=opinion, c=opinion.consultation)


@bp.post("/opinions/<int:opinion_id>/withdraw")
@login_required(back_to=opinion_page)
def withdraw_opinion(opinion_id: int):
    """Withdraw my opinion; it stays in the record, marked withdrawn."""
    opinion = visible_opinion(opinion_id)
    if not can.is_author(current_user, opinion):
        refuse(403, _("Only the author can change an opinion."))
    services.withdraw_opinion(opinion, by=acting_user())
    db.session.commit()
    flash(_("Your opinion was withdrawn."), "success")
    return redirect(opinion_url(opinion))


@bp.route("/opinions/<int:opinion_id>/flag", methods=["GET", "POST"])
@login_required
def flag_opinion(opinion_id: int):
    """Report an opinion to the moderators."""
    opinion = visible_opinion(opinion_id)
    if not can.is_open_to_reports(opinion):
        refuse(
            409,
            _(
                "The record of this consultation is published: its opinions can no longer be reported."
            ),
        )
    if not can.can_flag_opinion(current_user, opinion):
        refuse(403, _("You cannot report this opinion."))
    form = FlagForm()
    flags: list = []
    if submitted(
        form,
        lambda: flags.append(
            services.flag_opinion(opinion, by=acting_user(), reason=form.reason.data)
        ),
    ):
        db.session.commit()
        if flags[0] is None:
            flash(
                _("You have already reported this opinion. The moderators will look at it."),
                "info",
            )
        else:
            flash(_("Thank you. The moderators will review this opinion."), "success")
        return redirect(opinion_url(opinion))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "consultations/flag.html", form=form, opinion=opinion, c=opinion.consultation
    ), status
