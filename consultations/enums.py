"""The states and kinds of consultations and opinions: plain enums, below the models, the labels
and the permission rules, which all read them (``consultations.models`` re-exports them)."""

from __future__ import annotations

import enum


class Kind(enum.StrEnum):
    inform = "inform"  #: Art. 11: publicised for information
    comment = "comment"  #: Art. 25: residents comment before the authority decides
    decide = "decide"  #: Art. 15: residents discuss and decide


class Category(enum.StrEnum):
    land = "land"
    construction = "construction"
    budget = "budget"
    tax = "tax"
    environment = "environment"
    transport = "transport"
    education = "education"
    health = "health"
    social = "social"
    other = "other"


class Status(enum.StrEnum):
    draft = "draft"
    open = "open"
    closed = "closed"
    concluded = "concluded"


class Stance(enum.StrEnum):
    agree = "agree"
    disagree = "disagree"
    suggest = "suggest"


class Channel(enum.StrEnum):
    online = "online"
    meeting = "meeting"
    dialogue = "dialogue"
    paper = "paper"
    hotline = "hotline"
    front = "front"
    social = "social"


class OpinionStatus(enum.StrEnum):
    published = "published"
    hidden = "hidden"
    withdrawn = "withdrawn"


class Outcome(enum.StrEnum):
    accepted = "accepted"
    partly_accepted = "partly_accepted"
    not_accepted = "not_accepted"
    noted = "noted"
