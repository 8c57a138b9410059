"""Forms of the resident's own space (prefixed so that several fit on one page)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import AnyOf, InputRequired, ValidationError

from auth.forms import LocalityMixin, NewPasswordForm, display_name_field, full_name_field
from auth.services import OPTIONAL_PURPOSES

# Each language in its own name, so a reader finds theirs whatever the page language.
LANGUAGE_CHOICES = [SelectChoice("vi", "Tiếng Việt"), SelectChoice("en", "English")]


class ProfileForm(LocalityMixin, FlaskForm):
    full_name = full_name_field()
    display_name = display_name_field(_l("Public display name"))
    locality = StringField(
        _l("Where you live"),
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[InputRequired(message=_l("Choose the commune or village where you live."))],
    )
    locale = SelectField(
        _l("Language of pages and e-mail"),
        choices=LANGUAGE_CHOICES,
        validate_choice=True,
    )


class PasswordChangeForm(NewPasswordForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[InputRequired(message=_l("Enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )

    def validate_current_password(self, field):
        if self._user is None or not self._user.check_password(field.data or ""):
            raise ValidationError(_l("The current password is not correct."))


class ConsentForm(FlaskForm):
    purpose = HiddenField(validators=[AnyOf(OPTIONAL_PURPOSES)])
    action = HiddenField(validators=[AnyOf(("grant", "withdraw"))])


class DeleteForm(FlaskForm):
    password = PasswordField(
        _l("Your password, to confirm"),
        validators=[InputRequired(message=_l("Enter your password to confirm."))],
        render_kw={"autocomplete": "current-password"},
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._user = user

    def validate_password(self, field):
        if self._user is None or not self._user.check_password(field.data or ""):
            raise ValidationError(_l("The password is not correct."))
