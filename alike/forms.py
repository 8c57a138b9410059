"""Forms of the pages of groups. Field names are part of the stable interface (the brief of
issue 16): ``other_group`` to merge; the answer is moderation's ResponseForm."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import InputRequired, ValidationError

__all__ = ["MergeForm", "RemoveForm"]


class MergeForm(FlaskForm):
    #: The number of the other group (``similar_group`` in the exports), as shown on the pages.
    other_group = StringField(
        _l("Number of the other group"),
        validators=[InputRequired(message=_l("Give the number of the group to merge with."))],
    )
    next = HiddenField()

    def validate_other_group(self, field):
        value = (field.data or "").strip().lstrip("#")
        if not value.isdigit() or not 0 < int(value) < 2**63:
            raise ValidationError(_l("Give the number of the group to merge with."))
        self.number = int(value)

    @property
    def group_number(self) -> int | None:
        return getattr(self, "number", None)


class RemoveForm(FlaskForm):
    """The button beside each member: its CSRF token only."""

    next = HiddenField()
