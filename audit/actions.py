"""The audit trail in words: what each action code means, what each data key is called and how
its value reads, and the local time of an event.

The codes stay in the database and in the CSV download (``/audit/export.csv``); the page shows
the words. Every code the code base records has words here (tests/test_audit_words.py walks the
``record(...)`` and ``record_now(...)`` calls to make sure), and so has every data key they pass.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from consultations.labels import label
from consultations.models import Channel, Outcome
from core.timeutil import closing_date, to_local

ROLE_LABELS = {
    "official": _l("Official"),
    "moderator": _l("Moderator"),
    "reviewer": _l("Reviewer"),
    "admin": _l("Administrator"),
    "resident": _l("Resident"),
}

#: Every action code recorded, as a sentence saying what happened.
ACTIONS = {
    # Consultations and their drafts
    "consultation.create": _l("Created the consultation"),
    "consultation.edit": _l("Edited the consultation"),
    "section.edit": _l("Edited an article of the draft"),
    "attachment.add": _l("Attached a document to the consultation"),
    "consultation.open": _l("Opened the consultation to opinions"),
    "consultation.extend": _l("Extended the period for opinions"),
    "consultation.close": _l("Closed the consultation"),
    "consultation.bulk_opinions": _l("Loaded sample opinions"),
    # Opinions
    "opinion.create": _l("Received an opinion"),
    "opinion.edit": _l("The author edited the opinion"),
    "opinion.withdraw": _l("The author withdrew the opinion"),
    "opinion.flag": _l("Reported the opinion as breaking the rules"),
    "opinion.hide": _l("The moderator hid the opinion"),
    "opinion.restore": _l("The moderator showed the opinion again"),
    "opinion.keep": _l("The moderator kept the reported opinion published"),
    "response.create": _l("Answered the opinion"),
    "opinion.answer_replace": _l("Replaced the answer to the opinion"),
    # Groups of alike opinions (issue 16: alike/services.py)
    "alike.remove": _l("Took the opinion out of its group of alike opinions"),
    "alike.merge": _l("Merged two groups of alike opinions"),
    "alike.answer": _l("Answered a whole group of alike opinions"),
    # The record and the Fatherland Front's review
    "record.publish": _l("Published the record of consultation"),
    "review.create": _l("The Fatherland Front submitted its review"),
    # Accounts
    "user.register": _l("Registered an account"),
    "user.create": _l("Created an account"),
    "role.assign": _l("Gave the account a role"),
    "user.verify": _l("Confirmed the e-mail address"),
    "user.update": _l("Changed the account details"),
    "user.password_change": _l("Changed the password"),
    "user.password_reset": _l("Reset the password"),
    "user.login_locked": _l("Signing in was locked after repeated wrong passwords"),
    "consent.grant": _l("Gave consent to the processing of personal data"),
    "consent.withdraw": _l("Withdrew consent to the processing of personal data"),
    "user.delete": _l("Deleted the account"),
    "user.expire_unverified": _l("Erased an account whose e-mail address was never confirmed"),
    "user.inactivity_notice": _l("Told the holder that the unused account will be erased"),
    "user.expire_inactive": _l("Erased an account left unused"),
    # The register of households (issue 15)
    "household.create": _l("Added the household to the register"),
    "household.edit": _l("Changed the household's details"),
    "household.key_issue": _l("Issued a new one-time key for the household's letter"),
    "household.link": _l("Linked the representative's account to the household"),
    "household.unlink": _l("Unlinked the representative's account from the household"),
    # Administrative units
    "locality.create": _l("Added an administrative unit"),
    "locality.update": _l("Changed an administrative unit"),
    # Household votes: casting and entering (decisions/voting.py, decisions/ballots.py)
    "decision.create": _l("Set up the household vote of the consultation"),
    "vote.cast": _l("The household's representative voted online"),
    "vote.enter": _l("Entered a household's vote from a ballot or a meeting"),
    "vote.refuse": _l(
        "Refused a second vote of a household on a matter (listed for the counting committee)"
    ),
    "ballots.number": _l("Numbered the ballots of the households"),
    # Household votes: counting and results (decisions/counting.py)
    "decision.committee": _l("Named the counting committee"),
    "vote.correct": _l("The counting committee corrected a household's vote"),
    "decision.count": _l("The counting committee confirmed the count"),
    "decision.sign": _l("The Fatherland Front signed the count off"),
    "decision.publish": _l("Published the results of the household vote"),
}

#: Keys of the data shown through the object's link or not worth a line (ids).
SHOWN_ELSEWHERE = frozenset(
    {"consultation_id", "opinion_ids", "old_response_id", "new_response_id", "title"}
)

#: Every data key recorded, as a label.
KEYS = {
    "title": _l("Title"),
    "opens_at": _l("Opens"),
    "old": _l("Former closing date"),
    "new": _l("New closing date"),
    "reason": _l("Reason"),
    "tracking_number": _l("Tracking number"),
    "tracking_numbers": _l("Tracking numbers"),
    "channel": _l("Channel"),
    "outcome": _l("Outcome"),
    "explanation": _l("Explanation"),
    "summary": _l("Summary of the opinions"),
    "hidden_reason": _l("Reason it had been hidden"),
    "flags_resolved": _l("Reports closed"),
    "attachment": _l("Attached file"),
    "filename": _l("File"),
    "content_hash": _l("Content hash (SHA-256)"),
    "sha256": _l("Content hash (SHA-256)"),
    "role": _l("Role"),
    "via": _l("Done through"),
    "consents": _l("Consents"),
    "purpose": _l("Purpose"),
    "text_version": _l("Version of the consent text"),
    "fields": _l("Fields changed"),
    "failures": _l("Wrong passwords in a row"),
    "minutes": _l("Locked for (minutes)"),
    "days": _l("Kept for (days)"),
    "years": _l("Unused for (years)"),
    "count": _l("Number of opinions"),
    "code": _l("Code"),
    "name": _l("Name"),
    "kind": _l("Level"),
    "parent": _l("Belongs to (code)"),
    "merged_into": _l("Merged into (code)"),
    "renamed_from": _l("Former name"),
    "address": _l("Address"),
    "phone": _l("Telephone"),
    "email": _l("E-mail address"),
    "office_hours": _l("Office hours"),
    "village": _l("Village or residential group (code)"),
    "old_code": _l("Former code"),
    "active": _l("On the register"),
    "account": _l("Account"),
    "previous_account": _l("Former account"),
    "household": _l("Household"),
    "matter": _l("Matter put to the vote"),
    "ballot_number": _l("Ballot number"),
    "standing_channel": _l("Channel of the vote that stands"),
    "ballots": _l("Ballots numbered"),
    "members": _l("Members of the counting committee"),
    "households_total": _l("Households in the community"),
    # Groups of alike opinions (issue 16)
    "group": _l("Group of alike opinions"),
    "merged_group": _l("Group merged into it"),
}

VIA = {
    "cli": _l("the administration command line"),
    "demo": _l("the demonstration data"),
    "import": _l("a file import"),
    "key": _l("the one-time key of the household's letter"),
    "official": _l("an official of the locality"),
    "letters": _l("the letters printed for the households"),
    "account_deleted": _l("the deletion of the representative's account"),
}

PURPOSES = {
    "participation": _l("taking part in consultations"),
    "notifications": _l("e-mail about consultations and answers"),
}

USER_FIELDS = {
    "display_name": _l("display name"),
    "locality_id": _l("place of residence"),
    "locale": _l("language"),
    # A household's fields (households/services.py).
    "code": _l("code"),
    "village": _l("village or residential group"),
    "representative_name": _l("representative's name"),
    "address": _l("address"),
    "active": _l("on the register"),
}

LOCALITY_KINDS = {
    "province": _l("province"),
    "commune": _l("commune, ward or special zone"),
    "village": _l("village or residential group"),
}

_EMAIL = re.compile(r"[^\s@<>\"']+@[^\s@<>\"']+\.[^\s@<>\"']+")
#: Keys never shown even if a caller put them in the data by mistake.
_PRIVATE_KEYS = ("email", "e-mail", "phone", "password", "token", "full_name")


def private(key: str) -> bool:
    key = str(key).lower()
    return any(p in key for p in _PRIVATE_KEYS)


def clean_value(value: Any) -> str:
    """A value as plain text, e-mail addresses masked (the CSV keeps the codes as they are)."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, list | tuple):
        text = ", ".join(clean_value(v) for v in value)
    elif isinstance(value, dict):
        text = json.dumps(
            {k: v for k, v in value.items() if not private(k)}, ensure_ascii=False, sort_keys=True
        )
    elif value is None:
        text = "–"
    else:
        text = str(value)
    return _EMAIL.sub("[…]", text)


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return _EMAIL.sub("[…]", value)
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items() if not private(k)}
    return value


def public_data(data: dict[str, Any] | None) -> dict[str, Any]:
    """The event's data without private fields (e-mail, phone…) and with any e-mail address
    typed inside a text masked, values otherwise as recorded (the CSV keeps them so)."""
    return {key: _masked(value) for key, value in sorted((data or {}).items()) if not private(key)}


# --- times ----------------------------------------------------------------------------------


def day_text(d) -> str:
    """14/8/2026, as the commune writes a date."""
    return f"{d.day}/{d.month}/{d.year}"


def time_text(dt: datetime | None) -> str:
    """09:30 ngày 14/8/2026, in Asia/Ho_Chi_Minh."""
    if dt is None:
        return ""
    local = to_local(dt)
    return _("%(time)s on %(date)s", time=local.strftime("%H:%M"), date=day_text(local.date()))


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


# --- words for an event ---------------------------------------------------------------------


def action_label(code: str) -> str:
    text = ACTIONS.get(code)
    return str(text) if text is not None else _("Other action (%(code)s)", code=code)


def _words(key: str, value: Any) -> str:
    if key == "opens_at" and (dt := _parse(value)):
        return time_text(dt)
    if key in ("old", "new") and (dt := _parse(value)):
        return _("until the end of %(date)s", date=day_text(closing_date(dt)))
    if key in ("channel", "outcome"):
        try:
            return label((Channel if key == "channel" else Outcome)(value))
        except ValueError:
            return clean_value(value)
    if key == "role" and value in ROLE_LABELS:
        return str(ROLE_LABELS[value])
    if key == "via" and value in VIA:
        return str(VIA[value])
    if key == "kind" and value in LOCALITY_KINDS:
        return str(LOCALITY_KINDS[value])
    if key in ("purpose", "consents"):
        values = value if isinstance(value, list | tuple) else [value]
        return ", ".join(str(PURPOSES.get(v, v)) for v in values)
    if key == "fields" and isinstance(value, list | tuple):
        return ", ".join(str(USER_FIELDS.get(v, v)) for v in value)
    if value is None or value == "":
        return _("(none)")
    return clean_value(value)


def details(data: dict[str, Any] | None) -> list[tuple[str, str]]:
    """What changed, as (label, words) pairs; ids the object's link already shows are left out."""
    return [
        (str(KEYS.get(key, key)), _words(key, value))
        for key, value in public_data(data).items()
        if key not in SHOWN_ELSEWHERE
    ]
