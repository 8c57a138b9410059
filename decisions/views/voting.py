"""Casting a vote online, entering paper ballots and a meeting's votes, printing ballots.

Each view answers 404 for what the visitor may not see (a draft, a consultation that is not a
household vote), 403 to who may not act, 409 for the state, 400 for what was typed, with the
page shown again and the message at the top. A vote refused because the household had
already voted is committed as a conflict before the 409 is shown: the counting committee
lists it (decisions/voting.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import Forbidden

from auth import permissions as can
from consultations.models import Consultation
from consultations.pdf import render_pdf
from consultations.views.common import visible
from core.errors import InvalidInput, StateError
from core.extensions import db
from core.pagination import Page
from core.web import acting_user, download, login_required, page_arg, refuse, submitted
from decisions import ballot_jobs, voting
from decisions import ballots as paper
from decisions.forms import BallotForm, VoteForm
from decisions.models import Vote, VoteChannel
from decisions.views.blueprint import bp
from exportjobs.jobs import FOLDER
from exportjobs.models import DONE, FAILED
from households.models import Household
from households.queries import households_total, in_community, represented_by
from infra import storage
from localities.models import Locality

#: Households per page in the list of who voted.
VOTERS_PER_PAGE = 50
#: An official's own last entries shown under the form, to check what was just typed.
LAST_ENTRIES = 10
#: A title this long is cut in the file name (the whole title is on the ballots).
NAME_TITLE_MAX = 80
#: Seconds between reloads of the page of ballots being made.
REFRESH_SECONDS = 3

bp.add_app_template_filter(voting.vote_label, "vote_label")


def _decide(consultation_id: int) -> Consultation:
    """The decide consultation if this visitor may see it; anything else is not found."""
    c = visible(consultation_id, attachments=False)
    if not can.is_decided_by_vote(c):
        refuse(404)
    return c


def votes_url(consultation_id: int) -> str:
    return url_for("decisions.votes", consultation_id=consultation_id)


# --- the block on the consultation page ---------------------------------------------------------


@dataclass
class Standing:
    """A visitor's part in the vote: their household (if they represent one of the community)
    and its votes by matter."""

    household: Household | None = None
    member: bool = False
    votes: dict[int, Vote] = field(default_factory=dict)


def standing(c: Consultation) -> Standing:
    """What the consultation page and the votes page show the visitor (two queries at most)."""
    if not current_user.is_authenticated:
        return Standing()
    household = represented_by(current_user.id)
    # The household's village and the units above it are mostly in the session already (the
    # consultation's locality): cheaper than listing the units under the consultation's.
    member = (
        household is not None
        and household.active
        and c.locality_id in household.locality.ancestor_ids()
    )
    return Standing(household, member, voting.household_votes(c, household) if member else {})


bp.add_app_template_global(standing, "vote_standing")


# --- voting online ----------------------------------------------------------------------------


def _render_votes(c: Consultation, *, status: int = 200, error: str | None = None, sent=None):
    mine = standing(c)
    return render_template(
        "decisions/vote_page.html",
        c=c,
        mine=mine,
        may_vote=mine.member and can.can_vote(current_user, c, mine.household),
        total=households_total(c.locality_id),
        sent=sent or {},
        action_error=error,
    ), status


@bp.get("/consultations/<int:consultation_id>/votes")
def votes(consultation_id: int):
    """Show the matters put to the vote and my household's vote on each."""
    return _render_votes(_decide(consultation_id))


@bp.post("/consultations/<int:consultation_id>/votes")
@login_required(back_to=votes_url)
def cast(consultation_id: int):
    """Cast my household's vote on one matter."""
    c = _decide(consultation_id)
    form = VoteForm()
    sent = {"section_id": form.section_id.data or "", "choice": form.choice.data or ""}
    try:
        vote = voting.cast_online(c, acting_user(), form.section_id.data, form.choice.data)
        matter = voting.matter_name(vote.section)
    except voting.VoteRefused as exc:
        _keep_conflict(exc)
        return _render_votes(c, status=409, error=exc.message)
    except (StateError, InvalidInput) as exc:
        db.session.rollback()
        code = 409 if isinstance(exc, StateError) else 400
        return _render_votes(c, status=code, error=exc.message, sent=sent)
    except Forbidden as exc:
        db.session.rollback()
        return _render_votes(c, status=403, error=getattr(exc, "gopy_message", None))
    db.session.commit()
    flash(_("Your household's vote on %(matter)s is recorded.", matter=matter), "success")
    return redirect(votes_url(consultation_id) + f"#matter-{form.section_id.data}", 303)


def _keep_conflict(exc: voting.VoteRefused) -> None:
    """Commit what the refused vote leaves: the conflict (its savepoint rolled back the vote
    itself) and the other matters of the same ballot, or nothing for a repeat of an entry."""
    if exc.keep:
        db.session.commit()
    else:
        db.session.rollback()


# --- entering ballots and a meeting's votes ---------------------------------------------------------


def _typed_choices() -> dict[str, str]:
    """The matters typed: ``choice_<section id>`` for each matter marked, or ``section_id``
    with ``choice`` for one."""
    typed = {
        key.removeprefix("choice_"): value
        for key, value in request.form.items()
        if key.startswith("choice_") and value
    }
    if request.form.get("section_id") or request.form.get("choice"):
        typed[request.form.get("section_id", "")] = request.form.get("choice", "")
    return typed


def _voters(c: Consultation) -> tuple[Page, dict[int, dict[int, Vote]]]:
    """A page of the community's households, with their votes by matter."""
    page = page_arg()
    total = households_total(c.locality_id)
    households = list(
        db.session.scalars(
            select(Household)
            .join(Locality, Household.locality_id == Locality.id)
            .where(in_community(c.locality_id))
            .options(joinedload(Household.locality))
            .order_by(Locality.code, Household.code, Household.id)
            .limit(VOTERS_PER_PAGE)
            .offset((page - 1) * VOTERS_PER_PAGE)
        )
    )
    by_household: dict[int, dict[int, Vote]] = {h.id: {} for h in households}
    if households:
        for v in db.session.scalars(
            select(Vote).where(Vote.consultation_id == c.id, Vote.household_id.in_(by_household))
        ):
            by_household[v.household_id][v.section_id] = v
    return Page.of(households, page=page, per_page=VOTERS_PER_PAGE, total=total), by_household


def _render_ballots(c: Consultation, form: BallotForm, *, status: int = 200, error=None):
    official = can.is_official_of(current_user, c)
    last = []
    if official:
        last = list(
            db.session.scalars(
                select(Vote)
                .where(Vote.consultation_id == c.id, Vote.entered_by_id == current_user.id)
                .options(
                    joinedload(Vote.household).joinedload(Household.locality),
                    joinedload(Vote.section),
                )
                .order_by(Vote.created_at.desc(), Vote.id.desc())
                .limit(LAST_ENTRIES)
            )
        )
    voters, by_household = _voters(c) if can.can_see_voters(current_user, c) else (None, {})
    return render_template(
        "decisions/ballot_entry.html",
        c=c,
        form=form,
        typed=request.form if request.method == "POST" else {},
        may_enter=can.can_enter_ballots(current_user, c),
        last=last,
        voters=voters,
        by_household=by_household,
        secret=voting.is_secret(c),
        action_error=error,
    ), status


@bp.route("/consultations/<int:consultation_id>/ballots", methods=["GET", "POST"])
@login_required
def ballots(consultation_id: int):
    """Enter returned ballots and a meeting's votes, household by household."""
    c = _decide(consultation_id)
    official = can.is_official_of(current_user, c)
    if not (official or can.can_see_voters(current_user, c)):
        refuse(403, _("Only the staff of this locality see the ballots entered."))
    form = BallotForm()
    form.set_sections(c.matters)
    if request.method == "GET":
        wanted = request.args.get("channel")
        form.channel.data = wanted if wanted in ("paper", "meeting") else VoteChannel.paper.value
        return _render_ballots(c, form)
    if not official:
        refuse(403, _("Only officials of this locality enter ballots and a meeting's votes."))
    entered: list[Vote] = []

    def enter() -> None:
        entered.extend(
            voting.enter_votes(
                c,
                acting_user(),
                form.household.data,
                _typed_choices(),
                form.channel.data,
                form.ballot_number.data,
            )
        )

    try:
        ok = submitted(form, enter)
    except voting.VoteRefused as exc:
        _keep_conflict(exc)
        return _render_ballots(c, form, status=409, error=exc.message)
    except StateError as exc:
        db.session.rollback()
        return _render_ballots(c, form, status=409, error=exc.message)
    if not ok:
        return _render_ballots(c, form, status=400)
    code, channel = paper.household_code(entered[0].household), form.channel.data
    db.session.commit()
    flash(
        _(
            "Recorded for household %(code)s: %(count)d matter(s).",
            code=code,
            count=len(entered),
        ),
        "success",
    )
    target = url_for("decisions.ballots", consultation_id=consultation_id, channel=channel)
    return redirect(target + "#household", 303)


# --- printing the ballots ----------------------------------------------------------------------


def _printable(consultation_id: int) -> Consultation:
    c = _decide(consultation_id)
    if not can.can_print_ballots(current_user, c):
        refuse(403, _("Only officials of this locality print the ballots."))
    return c


def _ballots_name(c: Consultation) -> str:
    title = " ".join(c.title.split())
    if len(title) > NAME_TITLE_MAX:
        title = title[: NAME_TITLE_MAX - 1].rstrip() + "…"
    return f"Phiếu biểu quyết – {title}.pdf"


@bp.get("/consultations/<int:consultation_id>/ballots.pdf")
@login_required
def ballots_pdf(consultation_id: int):
    """Download one numbered ballot per household of the community, to print."""
    c = _printable(consultation_id)
    rows = paper.number_ballots(c, by=acting_user())
    if not rows:
        refuse(
            409,
            _(
                "The register of households of %(locality)s is empty: there is no ballot to print.",
                locality=c.locality.name,
            ),
        )
    filename = _ballots_name(c)
    if len(rows) > ballot_jobs.inline_max():
        total = len(rows)
        db.session.commit()  # the job prints the numbers given here
        job = ballot_jobs.request_ballots(c, by=acting_user(), total=total)
        if job is None or job.status != DONE:
            return _progress(c, job)
        return storage.send(
            job.stored_name, filename=filename, content_type="application/pdf", folder=FOLDER
        )
    html = paper.ballots_html(c, rows)
    db.session.commit()  # the numbers stand once printed; WeasyPrint runs without the lock
    return download(render_pdf(html), filename=filename, content_type="application/pdf")


def _progress(c: Consultation, job):
    return render_template(
        "decisions/ballots_progress.html",
        c=c,
        job=job,
        failed=job is not None and job.status == FAILED,
        refresh=REFRESH_SECONDS,
    )


@bp.post("/consultations/<int:consultation_id>/ballots.pdf")
@login_required(
    back_to=lambda consultation_id: url_for("consultations.show", consultation_id=consultation_id)
)
def retry_ballots(consultation_id: int):
    """Try again to make the ballots whose job failed."""
    c = _printable(consultation_id)
    job = ballot_jobs.find(c.id)
    if job is not None and job.status == FAILED:
        ballot_jobs.retry(job, by=acting_user(), total=households_total(c.locality_id))
    return redirect(url_for("decisions.ballots_pdf", consultation_id=c.id), 303)
