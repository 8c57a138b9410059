"""Counting: the committee, the reconciliation, corrections, sign-off, publication, results.

The results page is public (counts only); the counting page is the counting staff's. The
choices of both entries of a conflict, and of a corrected vote, are shown on the counting page
only: the committee must see them to decide, and nothing else ever shows how a household voted.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from auth import permissions as can
from auth.models import Role
from consultations.models import Consultation
from core.extensions import db
from core.web import (
    acting_user,
    download,
    ensure_logged_in,
    get_or_404,
    login_required,
    refuse,
    submitted,
)
from decisions import counting
from decisions import minutes as minutes_docs
from decisions.counting_forms import (
    CommitteeForm,
    ConfirmForm,
    CorrectionForm,
    PublishResultsForm,
    SignForm,
)
from decisions.results import results as results_of
from decisions.views.blueprint import bp

MINUTES_NAME = "Biên bản kiểm phiếu"
CONTENT_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}


def _consultation(consultation_id: int) -> Consultation:
    c = get_or_404(Consultation, consultation_id)
    if not can.can_view_consultation(current_user, c):
        refuse(404)  # a draft is not known to those who may not see it
    if not can.is_decided_by_vote(c):
        refuse(404)  # only a decide consultation has a vote
    return c


def _results_url(consultation_id: int) -> str:
    return url_for("decisions.results", consultation_id=consultation_id)


def _counting_url(consultation_id: int) -> str:
    return url_for("decisions.counting_page", consultation_id=consultation_id)


def _is_reviewer(c: Consultation) -> bool:
    return can.has_role_for(current_user, Role.reviewer, c.locality)


# --- the results -------------------------------------------------------------------------------


def _render_results(c: Consultation, sign_form=None, publish_form=None, status: int = 200):
    data = results_of(c)
    if sign_form is None and can.can_sign_results(current_user, c):
        sign_form = SignForm()
    if publish_form is None and can.can_publish_results(current_user, c):
        publish_form = PublishResultsForm()
    return (
        render_template(
            "decisions/results.html",
            c=c,
            data=data,
            decision=c.decision,
            sign_form=sign_form,
            publish_form=publish_form,
        ),
        status,
    )


@bp.get("/consultations/<int:consultation_id>/results")
def results(consultation_id: int):
    """Show the results of the household vote, provisional until published."""
    c = _consultation(consultation_id)
    if not can.can_view_results(current_user, c):
        refuse(404)
    return _render_results(c)


@bp.post("/consultations/<int:consultation_id>/results/sign")
@login_required(back_to=_results_url)
def sign(consultation_id: int):
    """Sign the confirmed count off for the Fatherland Front."""
    c = _consultation(consultation_id)
    if not _is_reviewer(c):
        refuse(403)
    if not can.can_sign_results(current_user, c):
        refuse(409, _("The results can be signed off once, after the count is confirmed."))
    form = SignForm()
    if submitted(form, counting.sign_off, c, by=acting_user(), note=form.note.data or ""):
        db.session.commit()
        flash(_("The count is signed off for the Fatherland Front."), "success")
        return redirect(_results_url(c.id))
    return _render_results(c, sign_form=form, status=400)


@bp.post("/consultations/<int:consultation_id>/results/publish")
@login_required(back_to=_results_url)
def publish(consultation_id: int):
    """Publish the results: freeze them with their content hash."""
    c = _consultation(consultation_id)
    if not can.is_counting_staff(current_user, c):
        refuse(403)
    if not can.can_publish_results(current_user, c):
        if can.has_published_results(c):
            refuse(409, _("The results of this vote are already published."))
        refuse(409, _("The results are published after the count is confirmed and signed off."))
    form = PublishResultsForm()
    if submitted(form, counting.publish_results, c, by=acting_user()):
        db.session.commit()
        flash(
            _(
                "The results are published. Their content hash (SHA-256) is %(hash)s.",
                hash=c.decision.content_hash,
            ),
            "success",
        )
        return redirect(_results_url(c.id))
    return _render_results(c, publish_form=form, status=400)


@bp.get("/consultations/<int:consultation_id>/results.<any(docx, pdf):fmt>")
def results_download(consultation_id: int, fmt: str):
    """Download the minutes of the count (biên bản kiểm phiếu) as DOCX or PDF."""
    c = _consultation(consultation_id)
    published = can.has_published_results(c)
    if not published:
        ensure_logged_in()
        if not can.is_staff(current_user, c.locality):
            refuse(
                403,
                _(
                    "The minutes of the count are public once the results are published. Until then only the staff of the locality can see them."
                ),
            )
    ctx = minutes_docs.minutes_context(c)
    body = minutes_docs.minutes_docx(ctx) if fmt == "docx" else minutes_docs.minutes_pdf(ctx)
    title = " ".join(c.title.split())[:80]
    return download(
        body,
        filename=f"{MINUTES_NAME} – {title}.{fmt}",
        content_type=CONTENT_TYPES[fmt],
        public=published,
    )


# --- the counting page --------------------------------------------------------------------------


def _render_counting(c: Consultation, *, committee=None, correction=None, status: int = 200):
    decision = c.decision
    if committee is None:
        committee = CommitteeForm(formdata=None)
        committee.fill(decision.committee if decision else [])
    return (
        render_template(
            "decisions/counting.html",
            c=c,
            decision=decision,
            rec=counting.reconciliation(c),
            conflicts=counting.conflicts(c),
            corrections=counting.corrections(c),
            committee=committee,
            correction=correction or CorrectionForm(formdata=None),
            confirm=ConfirmForm(formdata=None),
        ),
        status,
    )


def _may_count(c: Consultation) -> None:
    if not can.is_counting_staff(current_user, c):
        refuse(403)
    if not can.can_count_votes(current_user, c):
        refuse(409, _("Counting is done after the vote closes, until the count is confirmed."))


@bp.route("/consultations/<int:consultation_id>/counting", methods=["GET", "POST"])
@login_required
def counting_page(consultation_id: int):
    """Show the reconciliation, the conflicts and corrections; name the committee."""
    c = _consultation(consultation_id)
    if not can.is_counting_staff(current_user, c):
        refuse(403)
    if request.method == "GET":
        return _render_counting(c)
    _may_count(c)
    form = CommitteeForm()
    if submitted(form, counting.set_committee, c, by=acting_user(), members=form.pairs()):
        db.session.commit()
        flash(_("The counting committee is saved."), "success")
        return redirect(_counting_url(c.id))
    return _render_counting(c, committee=form, status=400)


@bp.post("/consultations/<int:consultation_id>/counting/corrections")
@login_required(back_to=_counting_url)
def correct(consultation_id: int):
    """Correct a recorded vote, with a reason."""
    c = _consultation(consultation_id)
    _may_count(c)
    form = CorrectionForm()
    if submitted(
        form,
        counting.correct_vote,
        c,
        by=acting_user(),
        vote_id=form.vote_id.data,
        choice=form.choice.data,
        reason=form.reason.data,
    ):
        db.session.commit()
        flash(_("The vote is corrected; the correction is listed in the minutes."), "success")
        return redirect(_counting_url(c.id) + "#corrections")
    return _render_counting(c, correction=form, status=400)


@bp.post("/consultations/<int:consultation_id>/counting/confirm")
@login_required(back_to=_counting_url)
def confirm(consultation_id: int):
    """Confirm the count: no ballot is entered and no vote corrected afterwards."""
    c = _consultation(consultation_id)
    _may_count(c)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _render_counting(c, status=400)
    counting.confirm_count(c, by=acting_user())
    db.session.commit()
    flash(_("The count is confirmed. The Fatherland Front can now sign it off."), "success")
    return redirect(_results_url(c.id))
