"""The consultation page as rendered: the draft, the counts, the opinions and every form that acts
on it (the ``show`` view, in __init__.py; the forms' views re-render it with their refusal)."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from consultations import queries, tally
from consultations.forms import CloseForm, ExtendForm, OfflineOpinionForm, OpinionForm
from consultations.models import Channel, Consultation, Section
from consultations.views.common import per_page
from core.web import page_arg


def _section_arg(c: Consultation) -> Section | None:
    try:
        wanted = int(request.args.get("section", ""))
    except ValueError:
        return None
    return next((s for s in c.sections if s.id == wanted), None)


def _chosen_section(c: Consultation) -> Section | None:
    """The article named by ``?section_id=`` (the opinion form's own field name), if it is one of c's."""
    wanted = request.args.get("section_id", "")
    return next((s for s in c.sections if str(s.id) == wanted), None) if wanted.isdigit() else None


def _blank(form_class, c: Consultation | None = None):
    # formdata=None: on a re-rendered POST, only the form that was sent shows the typed text.
    form = form_class(formdata=None)
    if c is not None and hasattr(form, "set_sections"):
        form.set_sections(c.sections)
    return form


def _render_show(
    c: Consultation,
    *,
    status: int = 200,
    opinion_form=None,
    offline_form=None,
    close_form=None,
    extend_form=None,
    action_error: str | None = None,
):
    section = _section_arg(c)
    counts = tally.read(c.id)
    opinions = queries.opinions_page(
        c,
        page=page_arg(),
        per_page=per_page("OPINIONS_PER_PAGE"),
        section_id=section.id if section else None,
        total=counts.total(section.id if section else None),
    )
    # A visitor who is not logged in sees none of the forms: building them would sign a CSRF
    # token into a new session, and the page could no longer be cached or sent without a cookie.
    signed_in = current_user.is_authenticated
    # "Góp ý về điều này" beside an article links here with ?section_id=: the form opens with
    # that article chosen, without JavaScript. A refused form keeps what was sent instead.
    chosen = _chosen_section(c)
    if opinion_form is None and signed_in:
        opinion_form = _blank(OpinionForm, c)
        if chosen is not None:
            opinion_form.section_id.data = str(chosen.id)
    if offline_form is None and signed_in:
        offline_form = _blank(OfflineOpinionForm, c)
        offline_form.channel.data = Channel.meeting.value
        if chosen is not None:
            offline_form.section_id.data = str(chosen.id)
    html = render_template(
        "consultations/show.html",
        c=c,
        section=section,
        sections_by_id={s.id: s for s in c.sections},
        counts=counts.stance_counts(),
        opinions=opinions,
        days_left=queries.days_left(c),
        opinion_form=opinion_form,
        chosen_section=chosen,
        offline_form=offline_form,
        close_form=close_form or (_blank(CloseForm) if signed_in else None),
        extend_form=extend_form or (_blank(ExtendForm) if signed_in else None),
        action_error=action_error,
    )
    return html, status
