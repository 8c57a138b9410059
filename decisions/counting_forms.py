"""The forms of the counting page, the sign-off and the publication of the results."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from decisions.counting import COMMITTEE_MAX, NAME_MAX, NOTE_MAX, REASON_MAX, TITLE_MAX


class MemberForm(Form):
    """One member of the committee (no token of its own: the committee form has it)."""

    name = StringField(
        _l("Full name"),
        validators=[Optional(), Length(max=NAME_MAX)],
        render_kw={"maxlength": NAME_MAX},
    )
    title = StringField(
        _l("Title (for example Tổ trưởng)"),
        validators=[Optional(), Length(max=TITLE_MAX)],
        render_kw={"maxlength": TITLE_MAX},
    )


class CommitteeForm(FlaskForm):
    members = FieldList(FormField(MemberForm), min_entries=COMMITTEE_MAX, max_entries=COMMITTEE_MAX)

    def fill(self, committee: list[dict[str, str]]) -> None:
        for entry, member in zip(self.members.entries, committee, strict=False):
            entry.form.name.data = member.get("name", "")
            entry.form.title.data = member.get("title", "")

    def pairs(self) -> list[tuple[str, str]]:
        return [(e.form.name.data or "", e.form.title.data or "") for e in self.members.entries]


def choice_options():
    return [
        SelectChoice("agree", _l("Agree")),
        SelectChoice("disagree", _l("Disagree")),
        SelectChoice("blank", _l("Blank")),
        SelectChoice("spoilt", _l("Spoilt")),
    ]


class CorrectionForm(FlaskForm):
    vote_id = IntegerField(
        _l("Number of the vote"),
        validators=[
            InputRequired(message=_l("Write the number of the vote.")),
            NumberRange(min=1, max=2**31 - 1),
        ],
    )
    choice = SelectField(
        _l("Corrected vote"),
        choices=choice_options(),
        validators=[InputRequired(message=_l("Choose the corrected vote."))],
    )
    reason = TextAreaField(
        _l("Reason for the correction"),
        validators=[
            InputRequired(message=_l("Write the reason for the correction.")),
            Length(max=REASON_MAX),
        ],
    )


class ConfirmForm(FlaskForm):
    """Confirming the count: the button and its token."""


class SignForm(FlaskForm):
    note = TextAreaField(
        _l("Note of the Fatherland Front (optional)"), validators=[Length(max=NOTE_MAX)]
    )


class PublishResultsForm(FlaskForm):
    """Publishing the results: the button and its token."""
