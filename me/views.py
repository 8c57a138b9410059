"""The resident's own space: opinions, account, personal data."""

from __future__ import annotations

import json

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user
from sqlalchemy import select

from auth import services as accounts
from auth import sessions
from consultations.labels import label
from consultations.models import Consultation, Status
from core.extensions import db
from core.web import acting_user, download, login_required, page_arg, refuse
from localities import picker as locality_picker
from localities.models import Locality
from me import bp
from me import services as mine
from me.forms import ConsentForm, DeleteForm, PasswordChangeForm, ProfileForm
from me.retention import periods
from notices.content import in_sentence

PURPOSES = {
    accounts.PARTICIPATION: _l("Taking part in consultations (needed for an account)"),
    accounts.NOTIFICATIONS: _l("E-mail about new consultations and answers to my opinions"),
}


@bp.get("/opinions")
@login_required
def opinions():
    """List my opinions with their tracking number, status and answer."""
    per_page = current_app.config["OPINIONS_PER_PAGE"]
    total = mine.count_my_opinions(current_user)
    pages = max(1, -(-total // per_page))
    page = min(page_arg(), pages)
    items = db.session.scalars(
        mine.my_opinions_query(current_user).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return render_template(
        "me/opinions.html",
        opinions=items,
        total=total,
        page=page,
        pages=pages,
        label=label,
    )


def _forms(**given):
    """The account page's forms: the one posted (bound, with its errors) and fresh others."""
    user = current_user
    forms = {
        "profile": given.get("profile")
        or ProfileForm(
            formdata=None,
            data={
                "full_name": user.full_name,
                "display_name": user.display_name,
                "locality": user.locality.code if user.locality else "",
                "locale": user.locale,
            },
        ),
        "password": given.get("password")
        or PasswordChangeForm(formdata=None, prefix="pw", user=user),
        "delete": given.get("delete") or DeleteForm(formdata=None, user=user),
    }
    return forms


def _account_page(status: int = 200, **given):
    user = current_user
    consents = sorted(user.consents, key=lambda c: c.granted_at)
    forms = _forms(**given)
    choices = accounts.locality_choices()
    return render_template(
        "me/account.html",
        user=user,
        consents=consents,
        purposes=PURPOSES,
        optional=[(p, accounts.active_consent(user, p)) for p in accounts.OPTIONAL_PURPOSES],
        consent_form=ConsentForm(formdata=None),
        choices=choices,
        picker=locality_picker.build(forms["profile"].locality, choices),
        opinion_count=mine.count_my_opinions(user),
        **forms,
    ), status


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """Show my account; change my name, display name, place and language."""
    if request.method == "GET":
        return _account_page()
    # A typed name that names one commune fills `locality` (localities/picker.py).
    form = ProfileForm(formdata=locality_picker.formdata())
    if locality_picker.finding():
        # "Find": the form comes back with the matches to choose from, nothing saved.
        return _account_page(200, profile=form)
    if not form.validate_on_submit():
        return _account_page(400, profile=form)
    accounts.update_profile(
        current_user,
        full_name=form.full_name.data,
        display_name=form.display_name.data,
        locality=form.locality_obj,
        locale=form.locale.data,
    )
    db.session.commit()
    flash(_("Your details are saved."), "success")
    response = redirect(url_for("me.account"))
    # The cookie wins over the account setting, so keep the two in step.
    response.set_cookie(
        "lang",
        form.locale.data,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        httponly=True,
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
    )
    return response


def _account_url() -> str:
    return url_for("me.account")


@bp.post("/account/password")
@login_required(back_to=_account_url)
def change_password():
    """Change my password; other devices are logged out."""
    form = PasswordChangeForm(prefix="pw", user=current_user)
    if not form.validate_on_submit():
        return _account_page(400, password=form)
    user = acting_user()
    accounts.change_password(user, form.password.data)
    db.session.commit()
    sessions.begin(user)
    flash(
        _("Your password is changed. Other devices where you were logged in have been logged out."),
        "success",
    )
    return redirect(url_for("me.account"))


@bp.post("/account/consent")
@login_required(back_to=_account_url)
def consent():
    """Grant or withdraw an optional consent."""
    form = ConsentForm()
    if not form.validate_on_submit():
        refuse(400)
    if form.action.data == "grant":
        changed = accounts.grant_consent(current_user, form.purpose.data)
        message = _("Thank you: your consent is recorded.")
    else:
        changed = accounts.withdraw_consent(current_user, form.purpose.data)
        message = _("Your consent is withdrawn.")
    if changed:
        db.session.commit()
    flash(message, "success")
    return redirect(url_for("me.account") + "#consents")


@bp.post("/delete")
@login_required(back_to=_account_url)
def delete():
    """Delete my account and erase my personal data."""
    form = DeleteForm(user=current_user)
    if not form.validate_on_submit():
        return _account_page(400, delete=form)
    accounts.delete_account(acting_user())
    db.session.commit()
    logout_user()
    flash(
        _(
            "Your account is deleted and your personal data erased. Your opinions stay, under a generic name."
        ),
        "success",
    )
    return redirect(url_for("consultations.index"))


@bp.get("/data")
@login_required
def data():
    """Download all the data held about me (JSON, or CSV with ?format=csv)."""
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        refuse(400, _("Choose the format json or csv."))
    payload = mine.personal_data(current_user)
    if fmt == "csv":
        body = "\ufeff" + mine.personal_data_csv(payload)  # the BOM lets Excel read UTF-8
        content_type = "text/csv; charset=utf-8"
    else:
        body = json.dumps(payload, ensure_ascii=False, indent=2)
        content_type = "application/json; charset=utf-8"
    return download(
        body.encode(), filename=f"Dữ liệu của tôi – Góp ý.{fmt}", content_type=content_type
    )


#: Committees listed by name and contact on the privacy page; beyond, each consultation's page
#: and notice name its own.
CONTROLLERS_LISTED = 30


def _contact(name: str, address: str = "", email: str = "", phone: str = "") -> dict[str, str]:
    return {"name": name, "address": address, "email": email, "phone": phone}


def _controllers() -> list[dict[str, str]]:
    """The People's Committees that run the consultations held here (the data controllers)."""
    held = select(Consultation.locality_id).where(Consultation.stored_status != Status.draft)
    units = db.session.scalars(
        select(Locality)
        .where(Locality.id.in_(held))
        .order_by(Locality.name)
        .limit(CONTROLLERS_LISTED)
    ).all()
    return [
        _contact(
            f"Ủy ban nhân dân {in_sentence(u.name)}", u.address or "", u.email or "", u.phone or ""
        )
        for u in units
    ]


@bp.get("/privacy")
def privacy():
    """Explain, as Law 91/2025/QH15 asks, who processes which personal data, why and on what
    basis, who receives it, how long it is kept (me/retention.py enforces it) and every right."""
    cfg = current_app.config
    operator = _contact(
        cfg.get("OPERATOR_NAME") or "",
        cfg.get("OPERATOR_ADDRESS") or "",
        cfg.get("OPERATOR_EMAIL") or "",
        cfg.get("OPERATOR_PHONE") or "",
    )
    contact = _contact(
        cfg.get("PRIVACY_CONTACT_NAME") or operator["name"],
        email=cfg.get("PRIVACY_CONTACT_EMAIL") or operator["email"],
        phone=cfg.get("PRIVACY_CONTACT_PHONE") or operator["phone"],
    )
    return render_template(
        "me/privacy.html",
        version=accounts.CONSENT_TEXT_VERSION,
        purposes=PURPOSES,
        operator=operator,
        contact=contact,
        controllers=_controllers(),
        controllers_limit=CONTROLLERS_LISTED,
        periods=periods(),
        sendgrid=bool(cfg.get("SENDGRID_API_KEY")),
        deleted_name=accounts.DELETED_DISPLAY_NAME,
        default_name=accounts.DEFAULT_DISPLAY_NAME,
    )
