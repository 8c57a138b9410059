"""Consultations and opinions: the list, the consultation page, the officials' forms, opinions."""

from __future__ import annotations

from datetime import timedelta
from functools import wraps

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectChoice

from auth import permissions as can
from consultations import bp, labels, queries, services, tally
from consultations.documents.wording import short_date
from consultations.forms import (
    CloseForm,
    ConsultationForm,
    ExtendForm,
    FlagForm,
    OfflineOpinionForm,
    OpinionEditForm,
    OpinionForm,
    SectionForm,
)
from consultations.models import (
    Category,
    Channel,
    Consultation,
    Opinion,
    Section,
    Stance,
    Status,
)
from consultations.services import InvalidInput, StateError
from core.extensions import db
from core.pagination import paginate
from core.textutil import clean_text
from core.timeutil import closing_date, local_date, local_day_end, local_day_start, utcnow
from core.web import get_or_404, page_arg, refuse

# ``{{ value|label }}`` on every page: the translated name of an enum value.
bp.add_app_template_filter(labels.label, "label")


def _user():
    return current_user._get_current_object()


def _per_page(name: str) -> int:
    return int(current_app.config[name])


def _visible(consultation_id: int, *, attachments: bool = True) -> Consultation:
    """The consultation if this visitor may see it; drafts of others answer 404, not 403."""
    c = queries.load_consultation(consultation_id, attachments=attachments)
    if c is None or not can.can_view_consultation(current_user, c):
        refuse(404)
    return c


def _visible_opinion(opinion_id: int) -> Opinion:
    opinion = get_or_404(Opinion, opinion_id)
    if not can.can_view_consultation(current_user, opinion.consultation):
        refuse(404)
    return opinion


def _field_error(form: FlaskForm, exc: InvalidInput) -> None:
    """Show a service's refusal beside the field it names (or above the form)."""
    db.session.rollback()
    target = getattr(form, exc.field, None) if exc.field else None
    if target is not None and hasattr(target, "errors"):
        target.errors = [*target.errors, exc.message]
    else:
        form.form_errors.append(exc.message)


def _opinion_url(opinion: Opinion) -> str:
    return url_for(
        "consultations.show",
        consultation_id=opinion.consultation_id,
        _anchor=f"opinion-{opinion.id}",
    )


def _show_url(consultation_id: int) -> str:
    return url_for("consultations.show", consultation_id=consultation_id)


def _opinion_page(opinion_id: int) -> str:
    opinion = db.session.get(Opinion, opinion_id) if 0 < opinion_id < 2**63 else None
    return _opinion_url(opinion) if opinion is not None else url_for("consultations.index")


def login_then(next_url):
    """``login_required`` for form posts: a POST address cannot be reopened after logging in,
    so the visitor comes back to the page the form was on (``next_url(**view_args)``)."""

    def decorator(view):
        @wraps(view)
        def wrapper(**kwargs):
            if not current_user.is_authenticated:
                return redirect(url_for("auth.login", next=next_url(**kwargs)))
            return view(**kwargs)

        return wrapper

    return decorator


# --- the list ---------------------------------------------------------------------------------


@bp.get("/")
def index():
    """List public consultations, with filters and a diacritic-free search."""
    filters = queries.parse_filters(request.args)
    page = paginate(
        queries.public_consultations(filters),
        page_arg(),
        _per_page("CONSULTATIONS_PER_PAGE"),
        queries.listing_order(filters.q),
    )
    drafts = queries.drafts_for(current_user) if page.page == 1 else []
    return render_template(
        "consultations/index.html",
        page=page,
        filters=filters,
        drafts=drafts,
        localities=queries.listed_localities(filters.locality),
        statuses=queries.PUBLIC_STATUSES,
        categories=list(Category),
    )


# --- creating and editing -------------------------------------------------------------------


def _locality_choices(form: ConsultationForm, extra=None) -> None:
    localities = queries.official_localities(_user())
    if extra is not None and extra not in localities:
        localities.insert(0, extra)
    form.locality.choices = [SelectChoice(loc.code, loc.name) for loc in localities]


def _period(form: ConsultationForm):
    return local_day_start(form.opens_at.day), local_day_end(form.closes_at.day)


def _check_locality_allowed(form: ConsultationForm) -> bool:
    if form.locality_obj is not None and not can.can_create_consultation(
        current_user, form.locality_obj
    ):
        form.locality.errors = [
            *form.locality.errors,
            _("You can only create consultations for your own commune or ward."),
        ]
        return False
    return True


@bp.route("/consultations/new", methods=["GET", "POST"])
@login_required
def new():
    """Create a consultation as a draft."""
    if not can.can_create_consultation(current_user):
        refuse(403, _("Only officials of a commune or ward can create consultations."))
    form = ConsultationForm()
    _locality_choices(form)
    if not form.is_submitted():
        today = local_date(utcnow())
        form.opens_at.data = today.isoformat()
        form.closes_at.data = (today + timedelta(days=_per_page("MIN_COMMENT_DAYS"))).isoformat()
    elif form.validate() and _check_locality_allowed(form):
        opens_at, closes_at = _period(form)
        try:
            c = services.create_consultation(
                by=_user(),
                locality=form.locality_obj,
                opens_at=opens_at,
                closes_at=closes_at,
                text=form.text.data or "",
                **form.details(),
            )
        except InvalidInput as exc:
            _field_error(form, exc)
        else:
            db.session.commit()
            flash(_("The draft was saved. Check it, then open it for opinions."), "success")
            return redirect(url_for("consultations.show", consultation_id=c.id))
    status = 400 if form.is_submitted() else 200
    return render_template("consultations/form.html", form=form, consultation=None), status


def _editable(consultation_id: int) -> Consultation:
    c = _visible(consultation_id)
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
    if not form.is_submitted():
        form.title.data, form.summary.data = c.title, c.summary
        form.legal_basis.data, form.meetings.data = c.legal_basis, c.meetings
        form.kind.data, form.category.data = c.kind.value, c.category.value
        form.locality.data = c.locality.code
        form.opens_at.data = local_date(c.opens_at).isoformat()
        form.closes_at.data = closing_date(c.closes_at).isoformat()
        form.text.data = current_text
    elif form.validate() and _check_locality_allowed(form):
        opens_at, closes_at = _period(form)
        text = clean_text(form.text.data)
        try:
            services.update_consultation(
                c,
                by=_user(),
                locality=form.locality_obj,
                **form.details(),
                opens_at=opens_at,
                closes_at=closes_at,
                # Unchanged text keeps the articles (and their ids) as they are.
                text=None if text == clean_text(current_text) else text,
            )
        except InvalidInput as exc:
            _field_error(form, exc)
        except StateError as exc:
            refuse(409, exc.message)
        else:
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
    if form.validate_on_submit():
        try:
            services.update_section(
                section, by=_user(), heading=form.heading.data or "", text=form.text.data or ""
            )
        except StateError as exc:
            refuse(409, exc.message)
        except InvalidInput as exc:
            _field_error(form, exc)
        else:
            db.session.commit()
            flash(_("The article was saved."), "success")
            return redirect(
                url_for("consultations.show", consultation_id=c.id, _anchor=f"section-{section.id}")
            )
    status = 400 if form.is_submitted() else 200
    return render_template(
        "consultations/section_form.html", form=form, consultation=c, section=section
    ), status


# --- opening, extending, closing --------------------------------------------------------------


def _managed(consultation_id: int, predicate) -> Consultation:
    c = _visible(consultation_id)
    if not predicate(current_user, c):
        refuse(403)
    return c


@bp.post("/consultations/<int:consultation_id>/open", endpoint="open")
@login_then(_show_url)
def open_(consultation_id: int):
    """Open a draft for opinions."""
    c = _managed(consultation_id, can.can_open_consultation)
    try:
        services.open_consultation(c, by=_user())
    except StateError as exc:
        refuse(409, exc.message)
    except InvalidInput as exc:
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
@login_then(_show_url)
def close(consultation_id: int):
    """Close an open consultation (with a public reason when before its closing date)."""
    c = _managed(consultation_id, can.can_close_consultation)
    form = CloseForm()
    if form.validate():
        try:
            services.close_consultation(c, by=_user(), reason=form.reason.data)
        except StateError as exc:
            refuse(409, exc.message)
        except InvalidInput as exc:
            _field_error(form, exc)
        else:
            db.session.commit()
            flash(_("The consultation is closed."), "success")
            return redirect(url_for("consultations.show", consultation_id=c.id))
    return _render_show(queries.load_consultation(consultation_id), status=400, close_form=form)


@bp.post("/consultations/<int:consultation_id>/extend")
@login_then(_show_url)
def extend(consultation_id: int):
    """Move the last day for opinions later."""
    c = _managed(consultation_id, can.can_extend_consultation)
    form = ExtendForm()
    if form.validate():
        try:
            services.extend_consultation(c, by=_user(), closes_at=local_day_end(form.closes_at.day))
        except StateError as exc:
            refuse(409, exc.message)
        except InvalidInput as exc:
            _field_error(form, exc)
        else:
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


# --- the consultation page --------------------------------------------------------------------


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
        per_page=_per_page("OPINIONS_PER_PAGE"),
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
        Status=Status,
    )
    return html, status


@bp.get("/consultations/<int:consultation_id>")
def show(consultation_id: int):
    """Show a consultation, its draft and the opinions on it."""
    return _render_show(_visible(consultation_id))


# --- opinions ---------------------------------------------------------------------------------


@bp.post("/consultations/<int:consultation_id>/opinions")
@login_then(lambda consultation_id: _show_url(consultation_id) + "#give-opinion")
def post_opinion(consultation_id: int):
    """Give an opinion (or, for officials, enter one received offline)."""
    c = _visible(consultation_id, attachments=False)  # a refused form loads them if it needs them
    offline = (request.form.get("channel") or Channel.online.value) != Channel.online.value
    if offline:
        if not can.can_enter_offline_opinion(current_user, c):
            refuse(403, _("Only officials of this locality can enter opinions received offline."))
        if c.status not in (Status.open, Status.closed):
            refuse(
                409,
                _(
                    "Offline opinions can be entered only while the consultation is open or closed, before the record is published."
                ),
            )
        form = OfflineOpinionForm()
    else:
        if not can.can_post_opinion(current_user, c):
            refuse(403, _("Please confirm your e-mail address before giving an opinion."))
        if c.status != Status.open:
            refuse(409, _("This consultation is not open for opinions."))
        form = OpinionForm()
    form.set_sections(c.sections)
    if form.validate():
        try:
            opinion = services.post_opinion(
                c,
                by=_user(),
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
        except StateError as exc:
            refuse(409, exc.message)
        except InvalidInput as exc:
            _field_error(form, exc)
            c = queries.load_consultation(consultation_id)
        else:
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
            target = _opinion_url(opinion)
            db.session.commit()
            flash(message, "success")
            return redirect(target)
    if offline:
        return _render_show(c, status=400, offline_form=form)
    return _render_show(c, status=400, opinion_form=form)


def _own_opinion(opinion_id: int) -> Opinion:
    opinion = _visible_opinion(opinion_id)
    if not can.can_edit_opinion(current_user, opinion):
        refuse(403, _("Only the author can change an opinion."))
    return opinion


@bp.route("/opinions/<int:opinion_id>/edit", methods=["GET", "POST"])
@login_required
def edit_opinion(opinion_id: int):
    """Change my opinion while the consultation is open."""
    opinion = _own_opinion(opinion_id)
    try:
        services.check_author_can_change(opinion)
    except StateError as exc:
        refuse(409, exc.message)
    form = OpinionEditForm(obj=None if request.method == "POST" else opinion)
    if form.validate_on_submit():
        try:
            services.edit_opinion(
                opinion, by=_user(), body=form.body.data, stance=Stance(form.stance.data)
            )
        except StateError as exc:
            refuse(409, exc.message)
        except InvalidInput as exc:
            _field_error(form, exc)
            opinion = db.session.get(Opinion, opinion_id)
        else:
            db.session.commit()
            flash(_("Your opinion was updated."), "success")
            return redirect(_opinion_url(opinion))
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
    try:
        services.check_author_can_change(opinion)
    except StateError as exc:
        refuse(409, exc.message)
    return render_template("consultations/withdraw.html", opinion=opinion, c=opinion.consultation)


@bp.post("/opinions/<int:opinion_id>/withdraw")
@login_then(_opinion_page)
def withdraw_opinion(opinion_id: int):
    """Withdraw my opinion; it stays in the record, marked withdrawn."""
    opinion = _own_opinion(opinion_id)
    try:
        services.withdraw_opinion(opinion, by=_user())
    except StateError as exc:
        refuse(409, exc.message)
    db.session.commit()
    flash(_("Your opinion was withdrawn."), "success")
    return redirect(_opinion_url(opinion))


@bp.route("/opinions/<int:opinion_id>/flag", methods=["GET", "POST"])
@login_required
def flag_opinion(opinion_id: int):
    """Report an opinion to the moderators."""
    opinion = _visible_opinion(opinion_id)
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
    if form.validate_on_submit():
        try:
            flag = services.flag_opinion(opinion, by=_user(), reason=form.reason.data)
        except StateError as exc:
            refuse(409, exc.message)
        except InvalidInput as exc:
            _field_error(form, exc)
            opinion = db.session.get(Opinion, opinion_id)
        else:
            db.session.commit()
            if flag is None:
                flash(
                    _("You have already reported this opinion. The moderators will look at it."),
                    "info",
                )
            else:
                flash(_("Thank you. The moderators will review this opinion."), "success")
            return redirect(_opinion_url(opinion))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "consultations/flag.html", form=form, opinion=opinion, c=opinion.consultation
    ), status
