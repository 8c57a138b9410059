"""Paper ballots (phiếu biểu quyết): their numbers, the code printed on each, and the PDF.

Each household of the community gets one ballot per consultation with a stable number: 1..N in
village then household-code order when they are first printed, the next numbers for
households added to the register later (a unique constraint per consultation keeps a number
and a household to one ballot). The ballot prints the household's code as the entry form
takes it back, "VILLAGE/CODE", and its village — never the representative's name.

The ballot is an administrative document: its wording is a fixed Vietnamese form whatever
the reader's language (as the notice, notices/content.py), so it is not passed through gettext.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from audit.models import record
from consultations.locking import lock_for_posting
from consultations.models import Consultation, Section
from core.errors import InvalidInput
from core.extensions import db
from core.textutil import clean_text
from core.timeutil import closing_date, utcnow
from decisions.models import Ballot
from households.models import Household
from households.queries import in_community
from localities.models import Locality, descendant_ids
from localities.names import commune_of, in_sentence

#: A matter's text on the ballot is cut to this; the full text is online and on the notice.
MATTER_TEXT_MAX = 280
#: Two ballots to an A4 sheet (cut in half: A5 each) up to this many matters, one above.
HALF_SHEET_MATTERS = 3


def household_code(h: Household) -> str:
    """The code printed on the ballot and typed back: "00004-T1/H001" (village/household)."""
    return f"{h.locality.code}/{h.code}"


def find_household(c: Consultation, text: str | None) -> Household:
    """The household of ``c``'s community typed as printed on its ballot: "VILLAGE/CODE", or
    the code alone when no other household of the community has it."""
    typed = " ".join((text or "").split())
    if not typed:
        raise InvalidInput(_("Type the household code printed on the ballot."), "household")
    village_code, _sep, code = typed.rpartition("/")
    stmt = (
        select(Household)
        .join(Locality, Household.locality_id == Locality.id)
        .where(func.upper(Household.code) == code.strip().upper())
        .order_by(Locality.code, Household.id)
    )
    if village_code:
        stmt = stmt.where(func.upper(Locality.code) == village_code.strip().upper())
    found = list(db.session.scalars(stmt))
    community = set(descendant_ids(c.locality_id))
    inside = [h for h in found if h.locality_id in community and h.active]
    if len(inside) == 1:
        return inside[0]
    if len(inside) > 1:
        raise InvalidInput(
            _(
                "Several households of this community have the code %(code)s: type it with its village, as printed on the ballot (for example %(example)s).",
                code=code,
                example=household_code(inside[0]),
            ),
            "household",
        )
    struck = [h for h in found if h.locality_id in community]
    if struck:
        raise InvalidInput(
            _(
                "Household %(code)s was struck off the register: it does not vote.",
                code=household_code(struck[0]),
            ),
            "household",
        )
    if found:
        raise InvalidInput(
            _(
                "Household %(code)s belongs to %(village)s, which is not part of the community of this consultation (%(community)s).",
                code=household_code(found[0]),
                village=found[0].locality.name,
                community=c.locality.name,
            ),
            "household",
        )
    raise InvalidInput(
        _("There is no household with code %(code)s in this community.", code=typed), "household"
    )


def ballot_number(c: Consultation, household: Household, number) -> int | None:
    """The ballot's number: as typed (it must be the one printed for the household), else the
    household's own if ballots were printed."""
    printed = db.session.scalar(
        select(Ballot).where(Ballot.consultation_id == c.id, Ballot.household_id == household.id)
    )
    if number in (None, ""):
        return printed.number if printed is not None else None
    try:
        number = int(str(number).strip())
    except ValueError:
        raise InvalidInput(_("The ballot number is a whole number."), "ballot_number") from None
    if printed is not None and printed.number != number:
        raise InvalidInput(
            _(
                "Ballot no. %(number)d was not printed for household %(code)s (its ballot is no. %(own)d).",
                number=number,
                code=household_code(household),
                own=printed.number,
            ),
            "ballot_number",
        )
    if not 0 < number < 10**9:
        raise InvalidInput(_("The ballot number is a whole number."), "ballot_number")
    return number


# --- numbering ------------------------------------------------------------------------------


def number_ballots(c: Consultation, *, by) -> list[Ballot]:
    """A ballot for every household of the community, numbered once and for good: the ones
    already printed keep their numbers, new households get the next. Returns every ballot of
    the community's households, in number order."""
    lock_for_posting(c.id)  # two officials printing at once number each household once
    numbered = set(
        db.session.scalars(select(Ballot.household_id).where(Ballot.consultation_id == c.id))
    )
    last = db.session.scalar(
        select(func.coalesce(func.max(Ballot.number), 0)).where(Ballot.consultation_id == c.id)
    )
    new_households = [
        h_id
        for h_id in db.session.scalars(
            select(Household.id)
            .join(Locality, Household.locality_id == Locality.id)
            .where(in_community(c.locality_id))
            .order_by(Locality.code, Household.code, Household.id)
        )
        if h_id not in numbered
    ]
    now = utcnow()
    for offset, h_id in enumerate(new_households, start=1):
        db.session.add(
            Ballot(consultation_id=c.id, household_id=h_id, number=last + offset, printed_at=now)
        )
    db.session.flush()
    if new_households:
        record(
            "ballots.number",
            c,
            by=by,
            locality_id=c.locality_id,
            ballots=len(new_households),
        )
    return community_ballots(c)


def community_ballots(c: Consultation) -> list[Ballot]:
    """The ballots of the community's households, in number order, with what they print."""
    return list(
        db.session.scalars(
            select(Ballot)
            .join(Household, Ballot.household_id == Household.id)
            .where(Ballot.consultation_id == c.id, in_community(c.locality_id))
            .options(joinedload(Ballot.household).joinedload(Household.locality))
            .order_by(Ballot.number)
        )
    )


# --- the PDF -------------------------------------------------------------------------------


@dataclass
class Sheet:
    """What every ballot of a consultation prints, worked out once."""

    issuer_lines: list[str]
    committee: str
    title: str
    matters: list[tuple[str, str]]
    last_day: str
    half: bool


def _cut(text: str, limit: int) -> str:
    text = " ".join(clean_text(text or "").split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;.") + "…"


def sheet(c: Consultation) -> Sheet:
    commune = commune_of(c.locality) or c.locality
    last = closing_date(c.closes_at)
    sections: list[Section] = c.matters
    return Sheet(
        issuer_lines=["ỦY BAN NHÂN DÂN", commune.name.upper()],
        committee=f"Ủy ban nhân dân {in_sentence(commune.name)}",
        title=" ".join(c.title.split()),
        matters=[(s.heading or "Nội dung chung", _cut(s.text, MATTER_TEXT_MAX)) for s in sections],
        last_day=f"{last.day}/{last.month}/{last.year}",
        half=len(sections) <= HALF_SHEET_MATTERS,
    )


def ballots_html(c: Consultation, ballots: list[Ballot]) -> str:
    """The numbered ballots of ``c`` as the HTML the PDF is made from (consultations/pdf.py):
    one per household, two to an A4 sheet when short."""
    rows = [(b.number, household_code(b.household), b.household.locality.name) for b in ballots]
    return render_template("decisions/ballots_pdf.html", s=sheet(c), rows=rows)
