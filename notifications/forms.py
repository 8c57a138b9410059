"""The settings form: one field per type of notification, named as the type."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice
from wtforms.validators import InputRequired

from notifications.models import Frequency, NotificationType

FREQUENCY_CHOICES = [
    SelectChoice(Frequency.instant.value, _l("At once")),
    SelectChoice(Frequency.daily.value, _l("Once a day")),
    SelectChoice(Frequency.weekly.value, _l("Once a week")),
    SelectChoice(Frequency.off.value, _l("Never")),
]

#: The question each field asks, in the order of the page.
TYPE_LABELS = {
    NotificationType.opinion_answered: _l("My opinion is answered"),
    NotificationType.opinion_moderated: _l("My opinion is hidden or shown again by a moderator"),
    NotificationType.consultation_opened: _l(
        "A new consultation opens in a commune or village I follow"
    ),
    NotificationType.closing_soon: _l("A consultation I follow closes within 3 days"),
    NotificationType.consultation_changed: _l(
        "A consultation I follow is extended or closed early"
    ),
    NotificationType.record_published: _l("The record of a consultation I follow is published"),
}


def _field(label) -> RadioField:
    return RadioField(
        label,
        choices=FREQUENCY_CHOICES,
        validators=[InputRequired(message=_l("Choose how often to be told."))],
    )


class SettingsForm(FlaskForm):
    opinion_answered = _field(TYPE_LABELS[NotificationType.opinion_answered])
    opinion_moderated = _field(TYPE_LABELS[NotificationType.opinion_moderated])
    consultation_opened = _field(TYPE_LABELS[NotificationType.consultation_opened])
    closing_soon = _field(TYPE_LABELS[NotificationType.closing_soon])
    consultation_changed = _field(TYPE_LABELS[NotificationType.consultation_changed])
    record_published = _field(TYPE_LABELS[NotificationType.record_published])

    def type_fields(self):
        return [getattr(self, str(t)) for t in TYPE_LABELS]
