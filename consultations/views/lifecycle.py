"""The officials' decisions on a consultation: opening it, extending it, closing it.

The view answers 403 to anyone but its officials; the service refuses with 409 a state that
does not allow the decision (auth/permissions.py: ``can_open_consultation`` and the others)."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from auth import permissions as can
from consultations import bp, queries, services
from consultations.documents.wording import short_date
from consultations.forms import CloseForm, ExtendForm
from consultations.models import Consultation
from consultations.views.common import show_url, visible
from consultations.views.page import _render_show
from core.errors import InvalidInput
from core.extensions import db
from core.timeutil import closing_date, local_date, local_day_end
from core.web import acting_user, login_required, refuse, submitted


def _managed(consultation_id: int) -> Consultation:
    c = visible(consultation_id)
    if not can.can_edit_consultation(current_user, c):
        refuse(403)
    return c


@bp.post("/consultations/<int:consultation_id>/open", endpoint="open")
@login_required(back_to=show_url)
def open_(consultation_id: int):
    """Open a draft for opinions."""
    c = _managed(consultation_id)
    try:
        services.open_consultation(c, by=acting_user())
    except InvalidInput as exc:
        # Not a form: the refusal is shown beside the button, on the page itself.
        db.session.rollback()
        return _render_show(
            queries.load_consultation(consultation_id), status=400, action_error=exc.message
        )
    db.session.commit()
    if c.is_scheduled:
        flash(
            _("The consultation will open on %(date)s.", date=short_date(local_date(c.opens_at))),
            "success",
        )
    else:
        flash(_("The consultation is open for opinions."), "success")
    return redirect(url_for("consultations.show", consultation_id=c.id))


@bp.post("/consultations/<int:consultation_id>/close")
@login_required(back_to=show_url)
def close(consultation_id: int):
    """Close an open consultation (with a public reason when before its closing date)."""
    c = _managed(consultation_id)
    form = CloseForm()
    if submitted(
        form, lambda: services.close_consultation(c, by=acting_user(), reason=form.reason.data)
    ):
        db.session.commit()
        flash(_("The consultation is closed."), "success")
        return redirect(url_for("consultations.show", consultation_id=c.id))
    return _render_show(queries.load_consultation(consultation_id), status=400, close_form=form)


@bp.post("/consultations/<int:consultation_id>/extend")
@login_required(back_to=show_url)
def extend(consultation_id: int):
    """Move the last day for opinions later."""
    c = _managed(consultation_id)
    form = ExtendForm()
    if submitted(
        form,
        lambda: services.extend_consultation(
            c, by=acting_user(), closes_at=local_day_end(form.closes_at.day)
        ),
    ):
        db.session.commit()
        flash(
            _(
                "Opinions are now accepted until %(date)s.",
                date=short_date(closing_date(c.closes_at)),
            ),
            "success",
        )
        return redirect(url_for("consultations.show", consultation_id=c.id))
    return _render_show(queries.load_consultation(consultation_id), status=400, extend_form=form)
