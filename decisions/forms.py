"""The forms of the vote: a representative's vote on a matter, an official's entry of a ballot
or of a meeting's vote. The services check every value (decisions/voting.py) and say what is
wrong beside the field; the forms only carry the values and their labels (and the CSRF token).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectChoice, SelectField, StringField

from decisions.models import VoteChannel
from decisions.voting import (
    CHANNEL_LABELS,
    CHOICE_LABELS,
    ONLINE_CHOICES,
    PAPER_CHOICES,
    matter_name,
)


class VoteForm(FlaskForm):
    """One matter, one vote (one form per matter on the votes page)."""

    section_id = HiddenField()
    choice = RadioField(
        _l("Your household's vote"),
        choices=[SelectChoice(c.value, CHOICE_LABELS[c]) for c in ONLINE_CHOICES],
        validate_choice=False,
    )


class BallotForm(FlaskForm):
    """A returned ballot or a meeting's vote, household by household. Besides these fields, the
    page sends ``choice_<section id>`` for each matter (every matter of a ballot at once)."""

    household = StringField(
        _l("Household code (as printed on the ballot)"),
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )
    channel = RadioField(
        _l("Received through"),
        choices=[
            SelectChoice(ch.value, CHANNEL_LABELS[ch])
            for ch in (VoteChannel.paper, VoteChannel.meeting)
        ],
        default=VoteChannel.paper.value,
        validate_choice=False,
    )
    ballot_number = StringField(
        _l("Ballot number (optional)"), render_kw={"inputmode": "numeric", "autocomplete": "off"}
    )
    section_id = SelectField(_l("Matter"), validate_choice=False)
    choice = RadioField(
        _l("Choice marked"),
        choices=[SelectChoice(c.value, CHOICE_LABELS[c]) for c in PAPER_CHOICES],
        validate_choice=False,
    )

    def set_sections(self, sections) -> None:
        self.section_id.choices = [SelectChoice(str(s.id), matter_name(s)) for s in sections]
