"""Casting and entering the votes of a ``decide`` consultation: one per household per matter.

Online, the linked representative votes (Decree 59/2023/NĐ-CP Art. 3); on paper and at a
meeting, an official enters the vote household by household. Whatever the channel, the
database's unique (matter, household) decides: the vote is inserted in a SAVEPOINT, and when
the constraint refuses it, the savepoint is rolled back and a ``VoteConflict`` is kept with the
entry refused and the vote that stands, for the counting committee. The refusal is a
``VoteRefused`` (a 409) that the view commits before answering, so the conflict stays listed.

A repeat — the same account, channel, choice (and ballot number) as the vote that stands, a
double click — is a 409 too, but no conflict is kept: there is nothing to settle.

Every function flushes and leaves the commit to the view; each takes the consultation's
posting lock first (consultations/locking.py), so votes serialise with closing and with the
counting committee confirming the count.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from audit.models import record
from auth import permissions as can
from auth.models import User
from consultations.locking import lock_for_posting
from consultations.models import Consultation, Section
from core.errors import InvalidInput, StateError
from core.extensions import db
from core.templating import localdatetime
from core.web import refuse
from decisions import ballots
from decisions.models import Choice, Decision, Vote, VoteChannel, VoteConflict
from households.models import Household
from households.queries import is_in_community, represented_by

CHOICE_LABELS = {
    Choice.agree: _l("Agree"),
    Choice.disagree: _l("Disagree"),
    Choice.blank: _l("Blank ballot"),
    Choice.spoilt: _l("Spoilt ballot"),
}
CHANNEL_LABELS = {
    VoteChannel.online: _l("Online"),
    VoteChannel.paper: _l("Voting ballot (paper)"),
    VoteChannel.meeting: _l("Village meeting"),
}
#: What a representative may choose online, and an official at a meeting (a show of hands).
ONLINE_CHOICES = (Choice.agree, Choice.disagree)
#: A paper ballot may also come back blank or spoilt for a matter.
PAPER_CHOICES = tuple(Choice)


def vote_label(value) -> str:
    """The words for a choice or a channel (the ``vote_label`` filter of the templates)."""
    for table in (CHOICE_LABELS, CHANNEL_LABELS):
        for key, text in table.items():
            if value == key:
                return str(text)
    return str(value)


def matter_name(section: Section) -> str:
    return section.heading or _("Introduction")


class VoteRefused(StateError):
    """The household has already voted on the matter (409); ``conflict`` is the row kept for
    the counting committee, None for a repeat of the same entry."""

    def __init__(
        self, message: str, conflict: VoteConflict | None = None, *, keep: bool | None = None
    ):
        super().__init__(message)
        self.conflict = conflict
        #: Whether the view commits what was stored (the conflicts, the other matters).
        self.keep = conflict is not None if keep is None else keep


# --- the decision row -----------------------------------------------------------------------


def decision_for(c: Consultation) -> Decision:
    """The Decision of a decide consultation, created on first need (insert-or-ignore: two
    requests at once create one row)."""
    decision = db.session.get(Decision, c.id)
    if decision is not None:
        return decision
    dialect = db.session.connection().dialect.name
    insert = (postgresql if dialect == "postgresql" else sqlite).insert
    created = db.session.execute(
        insert(Decision)
        .values(consultation_id=c.id, secret=True, committee=[])
        .on_conflict_do_nothing(index_elements=["consultation_id"])
    ).rowcount
    decision = db.session.get(Decision, c.id, populate_existing=True)
    if created:
        record("decision.create", c, locality_id=c.locality_id)
    db.session.expire(c, ["decision"])  # a None read before is stale now
    return decision


# --- what was typed ---------------------------------------------------------------------------


def _section(c: Consultation, section_id) -> Section:
    wanted = str(section_id or "").strip()
    section = next((s for s in c.matters if str(s.id) == wanted), None)
    if section is None:
        raise InvalidInput(
            _("Choose one of the matters put to the vote in this consultation."), "section_id"
        )
    return section


def _choice(value, allowed: tuple[Choice, ...], field: str = "choice") -> Choice:
    try:
        choice = Choice(str(value or "").strip())
    except ValueError:
        choice = None
    if choice not in allowed:
        if allowed == ONLINE_CHOICES:
            raise InvalidInput(_("Choose Agree or Disagree."), field)
        raise InvalidInput(_("Choose Agree, Disagree, Blank ballot or Spoilt ballot."), field)
    return choice


def _channel(value) -> VoteChannel:
    text = str(value or VoteChannel.paper.value).strip()
    if text not in (VoteChannel.paper.value, VoteChannel.meeting.value):
        raise InvalidInput(_("Choose a paper ballot or a meeting."), "channel")
    return VoteChannel(text)


# --- casting and entering -----------------------------------------------------------------------


@dataclass
class Entry:
    """One vote to record: who typed it, through which channel."""

    channel: VoteChannel
    #: The representative (online) or the official who typed it in.
    by: User
    ballot_number: int | None = None

    @property
    def cast_by_id(self) -> int | None:
        return self.by.id if self.channel == VoteChannel.online else None

    @property
    def entered_by_id(self) -> int | None:
        return None if self.channel == VoteChannel.online else self.by.id


def cast_online(c: Consultation, user, section_id, choice) -> Vote:
    """The representative's vote on one matter, online, while the consultation is open."""
    if not can.is_verified_resident(user):
        refuse(403, _("Please confirm your e-mail address before voting."))
    household = represented_by(user.id)
    if household is None or not household.active:
        refuse(
            403,
            _(
                "Your account does not represent a household. Link it to your household with the key of the letter you received (My household), then vote."
            ),
        )
    if not is_in_community(household, c.locality_id):
        refuse(
            403,
            _(
                "Your household belongs to %(village)s, which is not part of the community of this consultation (%(community)s): it does not vote on it.",
                village=household.locality.name,
                community=c.locality.name,
            ),
        )
    c = lock_for_posting(c.id)
    if not can.is_open_to_votes(c):
        raise StateError(_("The vote is not open: votes are cast online while it is open."))
    section = _section(c, section_id)
    chosen = _choice(choice, ONLINE_CHOICES)
    return _insert(c, household, section, chosen, Entry(VoteChannel.online, user))


def enter_votes(
    c: Consultation,
    by,
    household: str,
    choices: dict,
    channel=VoteChannel.paper.value,
    ballot_number=None,
) -> list[Vote]:
    """An official enters a returned ballot or a meeting's vote: ``choices`` maps matters
    (section ids) to choices. Everything typed is checked before anything is stored; a matter
    the household has already voted on is refused and listed, the others are recorded."""
    if not choices:
        raise InvalidInput(_("Choose the matter and the choice marked."))
    c = lock_for_posting(c.id)
    if not can.is_open_to_ballots(c):
        raise StateError(
            _(
                "Ballots are entered while the vote is open, and after the close until the counting committee confirms the count."
            )
        )
    kind = _channel(channel)
    found = ballots.find_household(c, household)
    allowed = PAPER_CHOICES if kind == VoteChannel.paper else ONLINE_CHOICES
    wanted = []
    for section_id, value in choices.items():
        section = _section(c, section_id)
        field = "choice" if len(choices) == 1 else f"choice_{section.id}"
        wanted.append((section, _choice(value, allowed, field)))
    number = ballots.ballot_number(c, found, ballot_number) if kind == VoteChannel.paper else None
    entry = Entry(kind, by, ballot_number=number)
    stored, refused = [], []
    for section, chosen in wanted:
        try:
            stored.append(_insert(c, found, section, chosen, entry))
        except VoteRefused as exc:
            refused.append(exc)
    if refused:
        message = " ".join(exc.message for exc in refused)
        if stored:
            message += " " + _(
                "The other matters of this entry were recorded (%(matters)s).",
                matters=", ".join(matter_name(v.section) for v in stored),
            )
        conflicts = [exc.conflict for exc in refused if exc.conflict is not None]
        raise VoteRefused(
            message, conflicts[0] if conflicts else None, keep=bool(stored or conflicts)
        )
    return stored


def enter_vote(
    c: Consultation,
    by,
    household_code: str,
    section_id,
    choice,
    channel=VoteChannel.paper.value,
    ballot_number=None,
) -> Vote:
    """An official enters one matter of a returned ballot or of a meeting's vote."""
    return enter_votes(c, by, household_code, {section_id: choice}, channel, ballot_number)[0]


def _insert(c: Consultation, household: Household, section: Section, choice: Choice, e: Entry):
    decision = decision_for(c)
    vote = Vote(
        consultation_id=c.id,
        section_id=section.id,
        household_id=household.id,
        choice=choice,
        channel=e.channel,
        cast_by_id=e.cast_by_id,
        entered_by_id=e.entered_by_id,
        ballot_number=e.ballot_number,
    )
    try:
        with db.session.begin_nested():
            db.session.add(vote)
            db.session.flush()
    except IntegrityError:
        standing = db.session.scalar(
            select(Vote).where(Vote.section_id == section.id, Vote.household_id == household.id)
        )
        _refuse(c, decision, household, section, choice, e, standing)
    about = {
        "consultation_id": c.id,
        "household": ballots.household_code(household),
        "matter": matter_name(section),
        "channel": e.channel.value,
    }
    if e.channel == VoteChannel.online:
        record("vote.cast", vote, by=e.by, locality_id=c.locality_id, **about)
    else:
        record(
            "vote.enter",
            vote,
            by=e.by,
            locality_id=c.locality_id,
            ballot_number=e.ballot_number,
            **about,
        )
    return vote


def _already_refused(household, section, choice, e: Entry) -> bool:
    """The same entry was refused and listed before (a changed mind sent again): one row is
    enough for the committee, and a loop of posts must not fill the list and the minutes."""
    return (
        db.session.scalar(
            select(VoteConflict.id)
            .where(
                VoteConflict.section_id == section.id,
                VoteConflict.household_id == household.id,
                VoteConflict.choice == choice,
                VoteConflict.channel == e.channel,
                VoteConflict.cast_by_id.is_(None)
                if e.cast_by_id is None
                else VoteConflict.cast_by_id == e.cast_by_id,
                VoteConflict.entered_by_id.is_(None)
                if e.entered_by_id is None
                else VoteConflict.entered_by_id == e.entered_by_id,
                VoteConflict.ballot_number.is_(None)
                if e.ballot_number is None
                else VoteConflict.ballot_number == e.ballot_number,
            )
            .limit(1)
        )
        is not None
    )


def _refuse(c, decision, household, section, choice, e: Entry, standing: Vote):
    """Keep the refused entry beside the vote that stands, and say so (409)."""
    when = localdatetime(standing.created_at)
    if e.channel == VoteChannel.online:
        message = _(
            "Your household has already voted on this matter (%(matter)s) on %(when)s, by %(channel)s. A household votes once on each matter.",
            matter=matter_name(section),
            when=when,
            channel=vote_label(standing.channel),
        )
    else:
        message = _(
            "Household %(code)s has already voted on %(matter)s: %(channel)s, %(when)s. This entry (%(this)s) was not counted; both entries are listed for the counting committee.",
            code=ballots.household_code(household),
            matter=matter_name(section),
            channel=vote_label(standing.channel),
            when=when,
            this=vote_label(e.channel),
        )
    repeat = (
        standing.channel == e.channel
        and standing.choice == choice
        and standing.cast_by_id == e.cast_by_id
        and standing.entered_by_id == e.entered_by_id
        and standing.ballot_number == e.ballot_number
    )
    if repeat or _already_refused(household, section, choice, e):
        raise VoteRefused(message)
    conflict = VoteConflict(
        consultation_id=c.id,
        section_id=section.id,
        household_id=household.id,
        vote_id=standing.id,
        choice=choice,
        channel=e.channel,
        cast_by_id=e.cast_by_id,
        entered_by_id=e.entered_by_id,
        ballot_number=e.ballot_number,
    )
    db.session.add(conflict)
    db.session.flush()
    record(
        "vote.refuse",
        conflict,
        by=e.by,
        locality_id=c.locality_id,
        consultation_id=c.id,
        household=ballots.household_code(household),
        matter=matter_name(section),
        channel=e.channel.value,
        standing_channel=standing.channel.value,
    )
    raise VoteRefused(message, conflict)


# --- what a page shows ------------------------------------------------------------------------


def household_votes(c: Consultation, household: Household | None) -> dict[int, Vote]:
    """The votes of ``household`` in ``c``, by matter (section id)."""
    if household is None:
        return {}
    rows = db.session.scalars(
        select(Vote).where(Vote.consultation_id == c.id, Vote.household_id == household.id)
    )
    return {v.section_id: v for v in rows}


def is_secret(c: Consultation) -> bool:
    """How each household voted is kept from the staff unless the vote was set as open."""
    return c.decision is None or bool(c.decision.secret)
