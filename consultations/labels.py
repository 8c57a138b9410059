"""Display names of the enum values, translated lazily (used by pages, forms and exports).

Look a value up with ``label(value)`` (the ``|label`` filter in templates): the enum's class
picks the table, so "social" reads as a category or as a channel as it should.
"""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l

from consultations.enums import Category, Channel, Kind, OpinionStatus, Outcome, Stance, Status

STATUSES = {
    Status.draft: _l("Draft"),
    Status.open: _l("Open"),
    Status.closed: _l("Closed"),
    Status.concluded: _l("Concluded"),
}

KINDS = {
    # Translators: Law 10/2022/QH15 Art. 11, matters publicised for information.
    Kind.inform: _l("For information"),
    # Translators: Art. 25, residents comment before the authority decides.
    Kind.comment: _l("Residents comment"),
    # Translators: Art. 15, residents discuss and decide (household vote).
    Kind.decide: _l("Residents decide"),
}

CATEGORIES = {
    Category.land: _l("Land"),
    Category.construction: _l("Construction"),
    Category.budget: _l("Budget"),
    Category.tax: _l("Taxes and fees"),
    Category.environment: _l("Environment"),
    Category.transport: _l("Transport"),
    Category.education: _l("Education"),
    Category.health: _l("Health"),
    Category.social: _l("Social affairs"),
    Category.other: _l("Other"),
}

STANCES = {
    Stance.agree: _l("Agree"),
    Stance.disagree: _l("Disagree"),
    Stance.suggest: _l("Suggestion"),
}

CHANNELS = {
    Channel.online: _l("Online"),
    Channel.meeting: _l("Community meeting"),
    Channel.dialogue: _l("Dialogue conference"),
    Channel.paper: _l("Paper ballot"),
    Channel.hotline: _l("Suggestion box or hotline"),
    Channel.front: _l("Fatherland Front committee"),
    Channel.social: _l("Social network (Zalo)"),
}

OUTCOMES = {
    Outcome.accepted: _l("Accepted"),
    Outcome.partly_accepted: _l("Partly accepted"),
    Outcome.not_accepted: _l("Not accepted"),
    Outcome.noted: _l("Noted"),
}

OPINION_STATUSES = {
    OpinionStatus.published: _l("Published"),
    OpinionStatus.hidden: _l("Hidden"),
    OpinionStatus.withdrawn: _l("Withdrawn"),
}

BY_ENUM: dict[type[enum.Enum], dict] = {
    Status: STATUSES,
    Kind: KINDS,
    Category: CATEGORIES,
    Stance: STANCES,
    Channel: CHANNELS,
    Outcome: OUTCOMES,
    OpinionStatus: OPINION_STATUSES,
}


def label(value) -> str:
    """The translated name of an enum value; anything else is shown as it is."""
    table = BY_ENUM.get(type(value))
    if table is None:
        return "" if value is None else str(value)
    return str(table[value])


def choices(table: dict) -> list[tuple[str, object]]:
    """(value, lazy label) pairs for a select or radio field, in declaration order."""
    return [(key.value, text) for key, text in table.items()]
