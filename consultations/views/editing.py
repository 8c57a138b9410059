"""The officials' forms: a new consultation, editing a draft and one of its articles."""

from __future__ import annotations

from datetime import timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from auth import permissions as can
from consultations import bp, queries, services
from consultations.forms import ConsultationForm, SectionForm
from consultations.models import Consultation
from consultations.views.common import per_page, visible
from core.errors import InvalidInput
from core.extensions import db
from core.textutil import clean_text
from core.timeutil import closing_date, local_date, local_day_end, local_day_start, utcnow
from core.web import acting_user, login_required, refuse, submitted


def _locality_choices(form: ConsultationForm, extra=None) -> None:
    localities = queries.official_localities(acting_user())
    if extra is not None and extra not in localities:
        localities.insert(0, extra)
    form.locality.choices = [SelectChoice(loc.code, loc.name) for loc in localities]


def _period(form: ConsultationForm):
    return local_day_start(form.opens_at.day), local_day_end(form.closes_at.day)


def _check_locality_allowed(form: ConsultationForm) -> None:
    if form.locality_obj is not None and not can.can_create_consultation(
        current_user, form.locality_obj
    ):
        raise InvalidInput(
            _("You can only create consultations for your own commune or ward."), "locality"
        )


@bp.route("/consultations/new", methods=["GET", "POST"])
@login_required
def new():
    """Create a consultation as a draft."""
    if not can.can_create_consultation(current_user):
        refuse(403, _("Only officials of a commune or ward can create consultations."))
    form = ConsultationForm()
    _locality_choices(form)
    created: list[Consultation] = []

    def create() -> None:
        _check_locality_allowed(form)
        opens_at, closes_at = _period(form)
        c = services.create_consultation(
            by=acting_user(),
            locality=form.locality_obj,
            opens_at=opens_at,
            closes_at=closes_at,
            text=form.text.data or "",
            **form.details(),
        )
        created.append(c)

    if not form.is_submitted():
        today = local_date(utcnow())
        form.opens_at.data = today.isoformat()
        form.closes_at.data = (today + timedelta(days=per_page("MIN_COMMENT_DAYS"))).isoformat()
    elif submitted(form, create):
        db.session.commit()
        flash(_("The draft was saved. Check it, then open it for opinions."), "success")
        return redirect(url_for("consultations.show", consultation_id=created[0].id))
    status = 400 if form.is_submitted() else 200
    return render_template("consultations/form.html", form=form, consultation=None), status


def _editable(consultation_id: int) -> Consultation:
    c = visible(consultation_id)
    if not can.can_edit_consultation(current_user, c):
        refuse(403)
    if not can.can_edit_draft(current_user, c):
        refuse(
            409,
            _("Only a draft can be edited. An open consultation can only be extended or closed."),
        )
    return c


@bp.route("/consultations/<int:consultation_id>/edit", methods=["GET", "POST"])
@login_required
def edit(consultation_id: int):
    """Edit a draft consultation."""
    c = _editable(consultation_id)
    form = ConsultationForm()
    _locality_choices(form, extra=c.locality)
    current_text = services.draft_text(c)

    def update() -> None:
        _check_locality_allowed(form)
        opens_at, closes_at = _period(form)
        text = clean_text(form.text.data)
        services.update_consultation(
            c,
            by=acting_user(),
            locality=form.locality_obj,
            **form.details(),
            opens_at=opens_at,
            closes_at=closes_at,
            # Unchanged text keeps the articles (and their ids) as they are.
            text=None if text == clean_text(current_text) else text,
        )

    if not form.is_submitted():
        form.title.data, form.summary.data = c.title, c.summary
        form.legal_basis.data, form.meetings.data = c.legal_basis, c.meetings
        form.kind.data, form.category.data = c.kind.value, c.category.value
        form.locality.data = c.locality.code
        form.opens_at.data = local_date(c.opens_at).isoformat()
        form.closes_at.data = closing_date(c.closes_at).isoformat()
        form.text.data = current_text
    elif submitted(form, update):
        db.session.commit()
        flash(_("The draft was saved."), "success")
        return redirect(url_for("consultations.show", consultation_id=c.id))
    status = 400 if form.is_submitted() else 200
    return render_template("consultations/form.html", form=form, consultation=c), status


@bp.route(
    "/consultations/<int:consultation_id>/sections/<int:section_id>/edit", methods=["GET", "POST"]
)
@login_required
def edit_section(consultation_id: int, section_id: int):
    """Edit one article of a draft."""
    c = _editable(consultation_id)
    section = next((s for s in c.sections if s.id == section_id), None)
    if section is None:
        refuse(404)
    form = SectionForm(obj=None if request.method == "POST" else section)
    if submitted(
        form,
        lambda: services.update_section(
            section, by=acting_user(), heading=form.heading.data or "", text=form.text.data or ""
        ),
    ):
        db.session.commit()
        flash(_("The article was saved."), "success")
        return redirect(
            url_for("consultations.show", consultation_id=c.id, _anchor=f"section-{section.id}")
        )
    status = 400 if form.is_submitted() else 200
    return render_template(
        "consultations/section_form.html", form=form, consultation=c, section=section
    ), status
