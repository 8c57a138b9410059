"""Forms of consultations and opinions. Field names are part of the stable interface (PRODUCT.md)."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import DateInput

from consultations import labels
from consultations.models import Category, Channel, Kind, Stance
from consultations.opinions import BODY_MAX
from localities.models import LocalityKind, get_by_code


def options(table: dict) -> list[SelectChoice]:
    """Select or radio options from a table of ``consultations.labels``."""
    return [SelectChoice(value, text) for value, text in labels.choices(table)]


OFFLINE_CHANNELS = [
    SelectChoice(ch.value, text) for ch, text in labels.CHANNELS.items() if ch != Channel.online
]


class DayField(StringField):
    """A YYYY-MM-DD date kept as typed (so a wrong value is shown again as it was);
    ``day`` holds the parsed date once the form validates."""

    widget = DateInput()
    day: date | None = None

    def pre_validate(self, form):
        self.day = None
        value = (self.data or "").strip()
        if not value:
            return
        try:
            day = date.fromisoformat(value) if len(value) == 10 else None
        except ValueError:
            day = None
        if day is None:
            raise ValidationError(_l("Enter a date as YYYY-MM-DD, for example 2026-03-31."))
        # Far-off years overflow the time-zone arithmetic and are typing mistakes anyway.
        if not 2000 <= day.year <= 2100:
            raise ValidationError(_l("Enter a date between the years 2000 and 2100."))
        self.day = day


def _enum_check(field, enum_cls, message):
    if field.data not in {e.value for e in enum_cls}:
        raise ValidationError(message)


class ConsultationForm(FlaskForm):
    title = StringField(
        _l("Title"),
        validators=[
            DataRequired(message=_l("Give the consultation a title.")),
            Length(max=300, message=_l("The title can be at most %(max)d characters.")),
        ],
    )
    summary = TextAreaField(
        _l("Summary"),
        validators=[
            Optional(),
            Length(max=2000, message=_l("The summary can be at most %(max)d characters.")),
        ],
        render_kw={"rows": 3, "maxlength": 2000},
    )
    kind = SelectField(
        _l("Kind of consultation"),
        choices=options(labels.KINDS),
        default=Kind.comment.value,
        validate_choice=False,
    )
    category = SelectField(
        _l("Subject"),
        choices=options(labels.CATEGORIES),
        default=Category.other.value,
        validate_choice=False,
    )
    locality = SelectField(_l("Commune or ward"), choices=[], validate_choice=False)
    opens_at = DayField(
        _l("Opens on"), validators=[DataRequired(message=_l("Enter the opening date."))]
    )
    closes_at = DayField(
        _l("Last day for opinions"),
        validators=[DataRequired(message=_l("Enter the last day for opinions."))],
    )
    text = TextAreaField(
        _l("Draft text"),
        validators=[
            Optional(),
            Length(max=200_000, message=_l("The draft can be at most %(max)d characters.")),
        ],
        render_kw={"rows": 18},
    )
    legal_basis = TextAreaField(
        _l("Legal basis"),
        validators=[
            Optional(),
            Length(max=5000, message=_l("The legal basis can be at most %(max)d characters.")),
        ],
        render_kw={"rows": 4, "maxlength": 5000},
    )
    meetings = TextAreaField(
        _l("Meetings"),
        validators=[
            Optional(),
            Length(max=5000, message=_l("The meetings can be at most %(max)d characters.")),
        ],
        render_kw={"rows": 3, "maxlength": 5000},
    )

    #: The unit the ``locality`` code names, once validated.
    locality_obj = None

    def details(self) -> dict:
        """What ``create_consultation`` and ``update_consultation`` take from the form as it is."""
        return {
            "title": self.title.data,
            "summary": self.summary.data or "",
            "kind": Kind(self.kind.data),
            "category": Category(self.category.data),
            "legal_basis": self.legal_basis.data or "",
            "meetings": self.meetings.data or "",
        }

    def validate_kind(self, field):
        _enum_check(field, Kind, _l("Choose the kind of consultation."))

    def validate_category(self, field):
        _enum_check(field, Category, _l("Choose a subject."))

    def validate_locality(self, field):
        self.locality_obj = get_by_code(field.data)
        if self.locality_obj is None:
            raise ValidationError(_l("Choose the commune or ward the consultation belongs to."))


class SectionForm(FlaskForm):
    heading = StringField(
        _l("Heading"),
        validators=[
            Optional(),
            Length(max=500, message=_l("The heading can be at most %(max)d characters.")),
        ],
    )
    text = TextAreaField(
        _l("Text"),
        validators=[
            Optional(),
            Length(max=100_000, message=_l("The text can be at most %(max)d characters.")),
        ],
        render_kw={"rows": 14},
    )


class CloseForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for closing early"),
        validators=[
            Optional(),
            Length(max=2000, message=_l("The reason can be at most %(max)d characters.")),
        ],
        render_kw={"rows": 3, "maxlength": 2000},
        id="close-reason",
    )


class ExtendForm(FlaskForm):
    closes_at = DayField(
        _l("New last day for opinions"),
        validators=[DataRequired(message=_l("Enter the new last day for opinions."))],
        id="extend-closes-at",
    )


def _body_field(id_: str | None = None) -> TextAreaField:
    return TextAreaField(
        _l("Your opinion"),
        validators=[
            DataRequired(message=_l("Write your opinion.")),
            Length(max=BODY_MAX, message=_l("An opinion can be at most %(max)d characters.")),
        ],
        render_kw={"rows": 6, "maxlength": BODY_MAX},
        id=id_,
    )


def _stance_field(id_: str | None = None) -> RadioField:
    return RadioField(
        _l("Your position"), choices=options(labels.STANCES), validate_choice=False, id=id_
    )


class OpinionEditForm(FlaskForm):
    body = _body_field()
    stance = _stance_field()

    def validate_stance(self, field):
        _enum_check(field, Stance, _l("Choose whether you agree, disagree or have a suggestion."))


class OpinionForm(OpinionEditForm):
    section_id = SelectField(_l("On"), choices=[], validate_choice=False)

    def set_sections(self, sections) -> None:
        self.section_id.choices = [SelectChoice("", _l("The whole draft"))] + [
            SelectChoice(str(s.id), s.heading or _l("Introduction")) for s in sections
        ]
        self._section_ids = {str(s.id): s for s in sections}

    def validate_section_id(self, field):
        if field.data and field.data not in getattr(self, "_section_ids", {}):
            raise ValidationError(_l("Choose an article of this draft, or the whole draft."))

    @property
    def section(self):
        return getattr(self, "_section_ids", {}).get(self.section_id.data or "")


class OfflineOpinionForm(OpinionForm):
    """An official types in an opinion received at a meeting, on paper, by telephone…
    The ids differ from the resident's form, which may be on the same page."""

    body = _body_field("offline-body")
    stance = _stance_field("offline-stance")
    section_id = SelectField(_l("On"), choices=[], validate_choice=False, id="offline-section")
    channel = SelectField(_l("Received through"), choices=OFFLINE_CHANNELS, validate_choice=False)
    contributor_name = StringField(
        _l("Name of the person who gave it"),
        validators=[
            DataRequired(message=_l("Enter the name of the person who gave this opinion.")),
            Length(max=120, message=_l("The name can be at most %(max)d characters.")),
        ],
    )

    #: The village (or commune) the person lives in: public with the channel, and counted in
    #: the participation figures. Their name stays private unless they agreed to be named.
    contributor_village = SelectField(
        _l("Village of the person"), choices=[], validate_choice=False
    )
    contributor_name_public = BooleanField(
        _l("The person agreed that their name is shown in public")
    )

    #: Needed once the consultation has closed: only opinions received before the close count.
    received_at = DayField(_l("Date received"), validators=[Optional()], id="offline-received-at")

    #: The unit the ``contributor_village`` code names, once validated.
    village_obj = None

    def set_sections(self, sections) -> None:
        super().set_sections(sections)
        consultation = sections[0].consultation if sections else None
        self.set_villages(consultation.locality if consultation is not None else None)

    def set_villages(self, locality) -> None:
        """The villages and residential groups of the consultation's commune, and the commune."""
        units = []
        if locality is not None:
            units = [locality] + [
                v
                for v in locality.children
                if v.kind == LocalityKind.village and v.merged_into_id is None
            ]
        self.contributor_village.choices = [SelectChoice("", _l("Not known"))] + [
            SelectChoice(u.code, u.name) for u in units
        ]
        self._villages = {u.code: u for u in units}

    def validate_contributor_village(self, field):
        if not field.data:
            return
        self.village_obj = getattr(self, "_villages", {}).get(field.data)
        if self.village_obj is None:
            raise ValidationError(_l("Choose a village of this commune, or “Not known”."))

    def validate_channel(self, field):
        if field.data not in {choice.value for choice in OFFLINE_CHANNELS}:
            raise ValidationError(_l("Choose how this opinion was received."))


class FlagForm(FlaskForm):
    reason = TextAreaField(
        _l("Why should the moderators review this opinion?"),
        validators=[
            DataRequired(message=_l("Say why this opinion should be reviewed.")),
            Length(max=1000, message=_l("The reason can be at most %(max)d characters.")),
        ],
        render_kw={"rows": 3, "maxlength": 1000},
    )
