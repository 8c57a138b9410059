"""Accounts: register, verify, log in and out, reset a password, choose a language."""

from __future__ import annotations

import functools

from flask import current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms.widgets import PasswordInput

from auth import bp, services, sessions
from auth import email as auth_email
from auth.forms import LoginForm, NewPasswordForm, RegisterForm, ResetRequestForm
from core.extensions import db
from core.i18n import LANGUAGES
from core.web import login_required, refuse, safe_next
from infra import ratelimits
from localities import picker as locality_picker

LANG_COOKIE_AGE = 365 * 24 * 3600


def _home() -> str:
    return url_for("consultations.index")


@functools.cache
def _dummy_hash() -> str:
    """Checked when the e-mail is unknown, so a wrong address takes as long as a wrong password.
    Made on first use: scrypt takes 16 MB and some milliseconds that CLI commands need not pay."""
    return generate_password_hash("not-a-real-password", method="scrypt")


@bp.route("/register", methods=["GET", "POST"])
def register():
    """Create an account."""
    if current_user.is_authenticated:
        return redirect(_home())
    # A typed name that names one commune fills `locality` (localities/picker.py).
    form = RegisterForm(formdata=locality_picker.formdata())
    if not form.is_submitted():
        form.locality.data = request.args.get("locality", "")
    choices = services.locality_choices()
    picker = locality_picker.build(form.locality, choices)
    if picker.searching:
        # "Find" sent the form back to look for the place: nothing is checked or stored, and
        # everything typed comes back, the password too (this answer is never stored).
        form.password.widget = PasswordInput(hide_value=False)
        page = render_template(
            "auth/register.html",
            form=form,
            choices=choices,
            picker=picker,
            privacy=url_for("me.privacy"),
            next=safe_next(""),
        )
        return page, 200, {"Cache-Control": "no-store"}
    if form.validate_on_submit():
        try:
            services.register(
                email=form.email.data,
                password=form.password.data,
                full_name=form.full_name.data,
                display_name=form.display_name.data,
                locality=form.locality_obj,
                notifications=form.notifications.data,
                locale=_current_lang(),
                # Where they were going: the verification link brings them back there.
                next_url=safe_next("") or None,
            )
            db.session.commit()
        except IntegrityError:
            # Someone registered the same address a moment ago: answer as for any taken address.
            db.session.rollback()
        # A new address and a taken one get the same answer: nobody is logged in here (that
        # would tell who has an account); the verification link logs the new resident in.
        return redirect(url_for("auth.check_email"))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "auth/register.html",
        form=form,
        choices=choices,
        picker=picker,
        privacy=url_for("me.privacy"),
        next=safe_next(""),
    ), status


@bp.get("/registered")
def check_email():
    """Ask the new resident to open the verification link."""
    return render_template("auth/check_email.html")


@bp.get("/verify/<token>")
def verify(token: str):
    """Confirm an e-mail address from the link sent to it."""
    user = auth_email.load_verify_token(token)
    if user is None:
        return render_template("auth/link_invalid.html", kind="verify"), 400
    if services.verify_email(user):
        # The first use of the link proves the mailbox: it logs its owner in (a later use does not,
        # so a link left in a mailbox is no key to the account).
        if not current_user.is_authenticated:
            sessions.begin(user)
        db.session.commit()
    flash(_("Thank you: your e-mail address is confirmed. You can now give opinions."), "success")
    # Back where they were going when they chose to register (?next= of the link, a path of
    # this site only), else the account page.
    if current_user.is_authenticated:
        return redirect(safe_next(url_for("me.account")))
    return redirect(url_for("auth.login", next=safe_next("") or None))


def _account_url() -> str:
    return url_for("me.account")


@bp.post("/verify/resend")
@login_required(back_to=_account_url)
def resend_verification():
    """Send the verification link again."""
    if current_user.is_verified:
        flash(_("Your e-mail address is already confirmed."), "success")
    else:
        auth_email.send_verification(current_user)
        db.session.commit()
        flash(
            _(
                "We sent a new link to %(email)s. It is valid for 48 hours.",
                email=current_user.email,
            ),
            "success",
        )
    return redirect(safe_next(url_for("me.account")))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in with e-mail and password."""
    form = LoginForm()
    if form.validate_on_submit():
        user = auth_email.find_active_user(form.email.data)
        if user is None or ratelimits.login_blocked(user):
            # A locked account answers like a wrong password, and takes as long.
            check_password_hash(_dummy_hash(), form.password.data)
            ok = False
        else:
            ok = user.check_password(form.password.data)
            if ok:
                ratelimits.clear_failures(user)
            else:
                ratelimits.register_failure(user)
            services.note_login(user, ok=ok)
            db.session.commit()
        if ok:
            sessions.begin(user)
            return redirect(safe_next(_home()))
        form.password.errors.append(_("E-mail or password is incorrect."))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/login.html", form=form, next=safe_next("")), status


@bp.post("/logout")
def logout():
    """Log out."""
    sessions.end()
    flash(_("You are logged out."), "success")
    return redirect(_home())


@bp.route("/reset", methods=["GET", "POST"])
def reset_request():
    """Ask for a link to choose a new password."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        user = auth_email.find_active_user(form.email.data)
        if user is not None:
            auth_email.send_reset(user)
            db.session.commit()
        # The same answer whether or not the address has an account.
        return render_template("auth/reset_sent.html", email=form.email.data)
    status = 400 if form.is_submitted() else 200
    return render_template("auth/reset_request.html", form=form), status


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password from the link sent by e-mail."""
    user = auth_email.load_reset_token(token)
    if user is None:
        return render_template("auth/link_invalid.html", kind="reset"), 400
    form = NewPasswordForm(user=user)
    if form.validate_on_submit():
        services.reset_password(user, form.password.data)
        db.session.commit()
        logout_user()
        sessions.begin(user)
        flash(
            _(
                "Your new password is set. Any other device where you were logged in has been logged out."
            ),
            "success",
        )
        return redirect(url_for("me.account"))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/reset_password.html", form=form), status


@bp.route("/language", methods=["GET", "POST"])
def set_language():
    """Choose the language of the pages (and of e-mail, when logged in).

    A visitor who is not logged in gets a plain link (GET): it only sets the ``lang`` cookie, so
    a public page needs no session and no CSRF token, and can be shared from the page cache.
    The form (POST, with CSRF) also saves a logged-in person's language for their e-mail."""
    values = request.form if request.method == "POST" else request.args
    lang = values.get("lang", "")
    if lang not in LANGUAGES:
        refuse(400, _("This language is not available."))
    if request.method == "POST" and current_user.is_authenticated:
        services.set_locale(current_user, lang)
        db.session.commit()
    return _with_lang(redirect(safe_next(_home())), lang)


def _with_lang(response, lang: str):
    response = make_response(response)
    response.set_cookie(
        "lang",
        lang,
        max_age=LANG_COOKIE_AGE,
        samesite="Lax",
        httponly=True,
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
    )
    return response


def _current_lang() -> str:
    lang = str(get_locale() or "")
    return lang if lang in LANGUAGES else current_app.config["BABEL_DEFAULT_LOCALE"]
