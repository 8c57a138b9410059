"""The register of households (officials) and a resident's link to their household."""

from __future__ import annotations

import re

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from audit.actions import SHOWN_ELSEWHERE, action_label, details, public_data, time_text
from auth import permissions as can
from core.extensions import db
from core.pagination import paginate
from core.web import acting_user, download, get_or_404, login_required, page_arg, refuse, submitted
from households import importing, letterjobs, queries, services
from households.forms import HouseholdForm, ImportForm, LettersForm, LinkForm, RepresentativeForm
from households.models import Household
from localities.models import Locality, get_by_code

bp = Blueprint("households", __name__)

PER_PAGE = 50
#: Seconds between reloads of the letters' page while the job runs.
REFRESH_SECONDS = 3
_TOKEN = re.compile(r"[0-9a-f]{32}")
#: Data keys of the audit trail that hold an account id, shown by its display name.
ACCOUNT_KEYS = ("account", "previous_account")


@bp.after_request
def _private(response):
    """Personal data of staff pages: never cached, never indexed."""
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _villages() -> list[Locality]:
    """The villages whose register the official keeps; 403 for everyone else."""
    if not can.can_manage_households_anywhere(current_user):
        refuse(403)
    return queries.managed_villages(current_user)


def _household(household_id: int) -> Household:
    h = get_or_404(Household, household_id)
    if not can.can_manage_households(current_user, h.locality):
        refuse(403)
    return h


def _village_of(form, villages: list[Locality]) -> Locality:
    return next(v for v in villages if v.code == form.village.data)


# --- the register ---------------------------------------------------------------------------


@bp.get("/households")
@login_required
def index():
    """List the households of my villages, filtered by village, searched by code or name."""
    villages = _villages()
    chosen = None
    if code := request.args.get("village"):
        chosen = next((v for v in villages if v.code == code), None)
        if chosen is None:
            refuse(404 if get_by_code(code) is None else 403)
    ids = [chosen.id] if chosen else [v.id for v in villages]
    q = (request.args.get("q") or "").strip()[:100]
    page = paginate(queries.register_query(ids, q), page_arg(), PER_PAGE)
    args = {k: v for k, v in (("village", code), ("q", q)) if v}
    return render_template(
        "households/index.html",
        villages=villages,
        chosen=chosen,
        q=q,
        page=page,
        args=args,
        letters_form=LettersForm(villages=villages, data={"village": code}),
    )


def _form_page(form, h: Household | None, status: int = 200):
    return render_template("households/form.html", form=form, h=h), status


@bp.route("/households/new", methods=["GET", "POST"])
@login_required
def new():
    """Add a household to the register."""
    villages = _villages()
    form = HouseholdForm(villages=villages, data={"active": True})
    if request.method == "GET":
        return _form_page(form, None)
    if not submitted(form, lambda: _create(form, villages)):
        return _form_page(form, None, 400)
    db.session.commit()
    flash(_("The household is added to the register."), "success")
    return redirect(url_for("households.show", household_id=form.household.id), 303)


def _create(form, villages):
    form.household = services.create_household(
        _village_of(form, villages),
        code=form.code.data,
        representative_name=form.representative_name.data or "",
        address=form.address.data or "",
        active=form.active.data,
        by=acting_user(),
    )


@bp.route("/households/<int:household_id>/edit", methods=["GET", "POST"])
@login_required
def edit(household_id: int):
    """Change a household's code, village, representative's name, address or standing."""
    h = _household(household_id)
    villages = _villages()
    if request.method == "GET":
        form = HouseholdForm(
            villages=villages,
            data={
                "code": h.code,
                "village": h.locality.code,
                "representative_name": h.representative_name,
                "address": h.address,
                "active": h.active,
            },
        )
        return _form_page(form, h)
    form = HouseholdForm(villages=villages)

    def change():
        services.edit_household(
            h,
            _village_of(form, villages),
            code=form.code.data,
            representative_name=form.representative_name.data or "",
            address=form.address.data or "",
            active=form.active.data,
            by=acting_user(),
        )

    if not submitted(form, change):
        return _form_page(form, h, 400)
    db.session.commit()
    flash(_("The household's details are saved."), "success")
    return redirect(url_for("households.show", household_id=h.id), 303)


def _show_page(h: Household, form=None, status: int = 200):
    events = queries.history(h.id)
    accounts = {
        v
        for e, _name in events
        for k, v in (e.data or {}).items()
        if k in ACCOUNT_KEYS and isinstance(v, int)
    }
    if h.representative_id:
        accounts.add(h.representative_id)
    names = queries.account_names(accounts)
    rows = [
        {
            "when": time_text(e.at),
            "actor": actor,
            "action": action_label(e.action),
            "details": [
                (label, names.get(e.data.get(key), words) if key in ACCOUNT_KEYS else words)
                for key, (label, words) in zip(
                    [k for k in public_data(e.data) if k not in SHOWN_ELSEWHERE],
                    details(e.data),
                    strict=True,
                )
            ],
        }
        for e, actor in events
    ]
    return render_template(
        "households/show.html",
        h=h,
        rows=rows,
        representative=names.get(h.representative_id) if h.representative_id else None,
        form=form or RepresentativeForm(formdata=None),
    ), status


@bp.get("/households/<int:household_id>")
@login_required
def show(household_id: int):
    """Show a household, its representative's account and its history."""
    return _show_page(_household(household_id))


@bp.post("/households/<int:household_id>/representative")
@login_required(back_to=lambda household_id: url_for("households.show", household_id=household_id))
def representative(household_id: int):
    """Link, change or unlink the household's representative, with a reason."""
    h = _household(household_id)
    form = RepresentativeForm()
    if not submitted(
        form,
        lambda: services.set_representative(
            h, form.email.data or "", reason=form.reason.data or "", by=acting_user()
        ),
    ):
        return _show_page(h, form, 400)
    db.session.commit()
    flash(_("The household's representative is changed."), "success")
    return redirect(url_for("households.show", household_id=h.id), 303)


@bp.route("/households/import", methods=["GET", "POST"])
@login_required
def import_file():
    """Add or update many households from a CSV file, all or nothing."""
    villages = _villages()
    form, errors = ImportForm(), []
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                created, updated = importing.import_households(
                    form.file.data.read(),
                    by=acting_user(),
                    via="import",
                    allowed={v.id for v in villages},
                    max_rows=importing.WEB_MAX_ROWS,
                )
            except importing.ImportRefused as exc:
                db.session.rollback()
                errors = exc.lines()
            else:
                db.session.commit()
                flash(
                    _(
                        "%(created)d households added, %(updated)d updated.",
                        created=created,
                        updated=updated,
                    ),
                    "success",
                )
                return redirect(url_for("households.index"), 303)
        form.form_errors.extend(errors)
    status = 400 if request.method == "POST" else 200
    return render_template("households/import.html", form=form), status


# --- the letters ----------------------------------------------------------------------------


@bp.post("/households/letters")
@login_required(back_to=lambda: url_for("households.index"))
def letters():
    """Issue fresh keys for a village and make its letters PDF (in the background)."""
    villages = _villages()
    form = LettersForm(villages=villages)
    if not form.validate_on_submit():
        refuse(400, _("Choose a village or residential group."))
    village = _village_of(form, villages)
    count = db.session.scalar(
        select(func.count(Household.id)).where(
            Household.locality_id == village.id, Household.active.is_(True)
        )
    )
    if not count:
        refuse(400, _("%(name)s has no household on the register.", name=village.name))
    token = letterjobs.request_letters(village, by=acting_user(), count=count)
    return redirect(url_for("households.letters_page", token=token), 303)


def _job(token: str) -> dict:
    if not can.can_manage_households_anywhere(current_user):
        refuse(403)
    data = letterjobs.state(token) if _TOKEN.fullmatch(token) else None
    if data is None:
        refuse(404)
    if data["user_id"] != current_user.id:
        refuse(403)  # the file holds keys: only for the official who asked
    return data


@bp.get("/households/letters/<token>")
@login_required
def letters_page(token: str):
    """Show how far the letters are, then their download."""
    data = _job(token)
    village = db.session.get(Locality, data["village_id"])
    return render_template(
        "households/letters.html", job=data, token=token, village=village, refresh=REFRESH_SECONDS
    )


@bp.get("/households/letters/<token>.pdf")
@login_required
def letters_pdf(token: str):
    """Download the letters once (the file holds the keys and is deleted)."""
    data = _job(token)
    if data["status"] != letterjobs.DONE:
        return redirect(url_for("households.letters_page", token=token), 303)
    body = letterjobs.take(token)
    if body is None:
        refuse(404)
    village = db.session.get(Locality, data["village_id"])
    return download(
        body,
        filename=f"Thư mã khóa hộ gia đình – {village.name}.pdf",
        content_type="application/pdf",
    )


# --- the resident ---------------------------------------------------------------------------


@bp.route("/me/household", methods=["GET", "POST"])
@login_required
def mine():
    """Show the household I represent, or link my account to it with its letter's key."""
    h = queries.represented_by(current_user.id)
    form = LinkForm()
    if request.method == "POST":
        if not current_user.is_verified:
            refuse(403, _("Confirm your e-mail address first."))
        linked = {}

        def link():
            linked["h"] = services.link_with_key(acting_user(), form.code.data, form.key.data)

        if submitted(form, link):
            db.session.commit()
            flash(
                _("Your account is now linked to the household %(code)s.", code=linked["h"].code),
                "success",
            )
            return redirect(url_for("households.mine"), 303)
        form.key.data = ""  # the key is never sent back
        return render_template("households/mine.html", h=h, form=form), 400
    return render_template("households/mine.html", h=h, form=form)
