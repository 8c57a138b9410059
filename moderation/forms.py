"""Moderation forms. Field names are part of the stable interface (PRODUCT.md)."""

from __future__ import annotations

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, ValidationError

from consultations import labels
from consultations.models import Outcome
from core.textutil import clean_text

#: Display names, shared with the consultation pages (lazy: rendered in the reader's
#: language, mail included).
OUTCOME_LABELS = labels.OUTCOMES
STANCE_LABELS = labels.STANCES
CHANNEL_LABELS = labels.CHANNELS
OPINION_STATUS_LABELS = labels.OPINION_STATUSES
CONSULTATION_STATUS_LABELS = labels.STATUSES


def _clean(value: str | None) -> str | None:
    return clean_text(value) if isinstance(value, str) else value


class HideForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (shown publicly in place of the text)"),
        filters=[_clean],
        validators=[
            InputRequired(
                message=_l(
                    "Give the reason for hiding this opinion; it is shown publicly in place of the text."
                )
            ),
            Length(max=1000, message=_l("Use at most %(max)d characters.")),
        ],
    )
    next = HiddenField()

    def validate_reason(self, field):
        if not field.data:
            raise ValidationError(
                _l(
                    "Give the reason for hiding this opinion; it is shown publicly in place of the text."
                )
            )


class ResponseForm(FlaskForm):
    #: Rendered as radio buttons by templates/moderation/_macros.html (one per outcome).
    outcome = StringField(
        _l("Outcome"), validators=[InputRequired(message=_l("Choose the outcome of the answer."))]
    )
    explanation = TextAreaField(
        _l("Explanation"),
        filters=[_clean],
        validators=[
            InputRequired(message=_l("Write the explanation of the answer.")),
            Length(max=10_000, message=_l("Use at most %(max)d characters.")),
        ],
    )
    #: Optional: printed in the record of consultation in place of the opinions' own text.
    summary = TextAreaField(
        _l("Summary of the opinions (optional)"),
        filters=[_clean],
        validators=[Length(max=2000, message=_l("Use at most %(max)d characters."))],
    )
    next = HiddenField()

    def validate_outcome(self, field):
        if field.data not in {o.value for o in Outcome}:
            raise ValidationError(_l("Choose the outcome of the answer."))

    def validate_explanation(self, field):
        if not field.data:
            raise ValidationError(_l("Write the explanation of the answer."))


class GroupResponseForm(ResponseForm):
    """One answer for several alike opinions, chosen by ``opinion_ids`` check boxes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.opinion_ids: list[int] = []
        self.opinion_ids_error: str | None = None

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        ids, bad = set(), False
        for value in request.form.getlist("opinion_ids"):
            try:
                number = int(value)
            except ValueError:
                bad = True
                continue
            if 0 < number < 2**63:
                ids.add(number)
            else:
                bad = True
        self.opinion_ids = sorted(ids)
        if bad or not ids:
            self.opinion_ids_error = str(_l("Choose the opinions to answer together."))
            return False
        return ok
