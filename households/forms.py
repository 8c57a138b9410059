"""Forms of the register (officials) and of the representative's link (residents)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from households.services import ADDRESS_MAX, CODE_MAX, NAME_MAX, REASON_MAX


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class HouseholdForm(FlaskForm):
    code = StringField(
        _l("Household code"),
        filters=[_strip],
        validators=[
            InputRequired(message=_l("Enter the household's code.")),
            Length(max=CODE_MAX),
        ],
    )
    village = SelectField(
        _l("Village or residential group"),
        validators=[InputRequired(message=_l("Choose a village or residential group."))],
    )
    representative_name = StringField(
        _l("Name of the household's representative"),
        filters=[_strip],
        validators=[Optional(), Length(max=NAME_MAX)],
    )
    address = StringField(
        _l("Address"), filters=[_strip], validators=[Optional(), Length(max=ADDRESS_MAX)]
    )
    active = BooleanField(_l("On the register (untick for a household that moved away)"))

    def __init__(self, *args, villages=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.village.choices = [(v.code, f"{v.name} ({v.code})") for v in villages]


class RepresentativeForm(FlaskForm):
    email = StringField(
        _l("E-mail address of the representative's account (empty to unlink)"),
        filters=[_strip],
        validators=[Optional(), Length(max=254)],
        render_kw={"autocomplete": "off", "inputmode": "email"},
    )
    reason = TextAreaField(
        _l("Reason for the change"),
        filters=[_strip],
        validators=[
            InputRequired(message=_l("Give the reason for the change.")),
            Length(max=REASON_MAX),
        ],
    )


class ImportForm(FlaskForm):
    file = FileField(
        _l("CSV file (columns code, village_code, representative_name, address)"),
        validators=[FileRequired(message=_l("Choose a CSV file."))],
    )


class LettersForm(FlaskForm):
    village = SelectField(
        _l("Village or residential group"),
        validators=[InputRequired(message=_l("Choose a village or residential group."))],
    )

    def __init__(self, *args, villages=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.village.choices = [(v.code, f"{v.name} ({v.code})") for v in villages]


class LinkForm(FlaskForm):
    code = StringField(
        _l("Household code (on the letter)"),
        filters=[_strip],
        validators=[
            InputRequired(message=_l("Enter the household code printed on the letter.")),
            Length(max=CODE_MAX),
        ],
        render_kw={"autocomplete": "off", "autocapitalize": "characters"},
    )
    key = StringField(
        _l("One-time key (on the letter)"),
        validators=[
            InputRequired(message=_l("Enter the one-time key printed on the letter.")),
            Length(max=40),
        ],
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )
