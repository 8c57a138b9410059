"""Account forms. Field names are part of the stable interface (PRODUCT.md)."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)

from auth.passwords import password_problem
from auth.services import residence_locality
from core.textutil import clean_text, fold


def normalise_email(value: str | None) -> str | None:
    return value.strip().lower() if isinstance(value, str) else value


def tidy(value: str | None) -> str | None:
    return " ".join(clean_text(value).split()) if isinstance(value, str) else value


#: Names of authorities and offices (folded), which no resident may take as a display name: an
#: opinion signed "Ủy ban MTTQ xã Cam Lộ" would speak for a body that did not give it.
AUTHORITY_WORDS = (
    "uy ban",
    "ubnd",
    "ub mttq",
    "mttq",
    "mat tran",
    "hoi dong nhan dan",
    "hdnd",
    "cong an",
    "dang uy",
    "chu tich",
    "bi thu",
    "chinh quyen",
    "ban quan ly",
    "ban cong tac",
    "co quan",
    "chinh phu",
    "quan tri vien",
    "can bo",
    "admin",
    "administrator",
    "moderator",
)
_AUTHORITY = re.compile(r"\b(" + "|".join(re.escape(w) for w in AUTHORITY_WORDS) + r")\b")


def not_an_authority(form, field) -> None:
    """Refuse a display name that takes the name of an authority or an office."""
    if field.data and _AUTHORITY.search(fold(field.data)):
        raise ValidationError(
            _l(
                "A public display name cannot be the name of an authority or an office "
                "(such as a People's Committee, the Fatherland Front or a chairman)."
            )
        )


def email_field(label=None) -> EmailField:
    return EmailField(
        label or _l("E-mail address"),
        filters=[normalise_email],
        validators=[
            InputRequired(message=_l("Enter your e-mail address.")),
            Length(max=254, message=_l("This e-mail address is too long.")),
            Email(message=_l("Enter a valid e-mail address, like name@example.com.")),
        ],
        render_kw={"autocomplete": "email", "spellcheck": "false"},
    )


class LocalityMixin:
    """Validates a commune or village code and keeps the unit it names in ``locality_obj``."""

    locality_obj = None

    def validate_locality(self, field):
        self.locality_obj = residence_locality(field.data)
        if self.locality_obj is None:
            raise ValidationError(_l("Choose the commune or village where you live."))


def full_name_field() -> StringField:
    return StringField(
        _l("Full name"),
        filters=[tidy],
        validators=[
            DataRequired(message=_l("Enter your full name.")),
            Length(max=120, message=_l("Use at most %(max)d characters.")),
        ],
        render_kw={"autocomplete": "name"},
    )


def display_name_field(label, autocomplete: str | None = None) -> StringField:
    """The name shown publicly beside one's opinions; never an authority's name."""
    return StringField(
        label,
        filters=[tidy],
        validators=[
            Optional(),
            Length(max=120, message=_l("Use at most %(max)d characters.")),
            not_an_authority,
        ],
        render_kw={"autocomplete": autocomplete} if autocomplete else None,
    )


class RegisterForm(LocalityMixin, FlaskForm):
    email = email_field()
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(message=_l("Choose a password."))],
        render_kw={"autocomplete": "new-password"},
    )
    full_name = full_name_field()
    display_name = display_name_field(_l("Public display name (optional)"), autocomplete="nickname")
    locality = StringField(
        _l("Where you live"),
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[InputRequired(message=_l("Choose the commune or village where you live."))],
    )
    consent = BooleanField(
        _l(
            "I agree that Góp ý keeps my name, e-mail address and where I live so that I can take part "
            "in consultations, as explained in the privacy notice."
        ),
        validators=[DataRequired(message=_l("You need to agree to this to register."))],
    )
    notifications = BooleanField(
        _l(
            "Also send me e-mail about new consultations in my commune and answers to my opinions "
            "(optional; you can change this at any time)."
        ),
    )

    def validate_password(self, field):
        problem = password_problem(
            field.data or "",
            email=self.email.data,
            names=[self.full_name.data, self.display_name.data],
        )
        if problem:
            raise ValidationError(problem)


class LoginForm(FlaskForm):
    email = EmailField(
        _l("E-mail address"),
        filters=[normalise_email],
        validators=[InputRequired(message=_l("Enter your e-mail address."))],
        render_kw={"autocomplete": "username", "spellcheck": "false"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(message=_l("Enter your password."))],
        render_kw={"autocomplete": "current-password"},
    )


class ResetRequestForm(FlaskForm):
    email = email_field()


class NewPasswordForm(FlaskForm):
    """A new password, typed twice. ``email`` and ``names`` feed the personal-data check."""

    password = PasswordField(
        _l("New password"),
        validators=[InputRequired(message=_l("Choose a password."))],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[
            InputRequired(message=_l("Type the new password again.")),
            EqualTo("password", message=_l("The two passwords are not the same.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._user = user

    def validate_password(self, field):
        user = self._user
        problem = password_problem(
            field.data or "",
            email=user.email if user else None,
            names=[user.full_name, user.display_name] if user else [],
        )
        if problem:
            raise ValidationError(problem)
