"""What a unit must be to be stored: its code, name, kind, parent and the office's contacts.

Shared by ``localities add``/``update`` (cli.py) and ``localities import`` (csv_import.py).
"""

from __future__ import annotations

import re

import click
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.extensions import db
from core.textutil import clean_text
from localities.models import Locality, LocalityKind

#: The kind a unit's parent must have (None: it has no parent). No district level since 2025.
PARENT_KIND = {
    LocalityKind.province: None,
    LocalityKind.commune: LocalityKind.province,
    LocalityKind.village: LocalityKind.commune,
}
KIND_LABELS = {
    LocalityKind.province: _l("province"),
    LocalityKind.commune: _l("commune"),
    LocalityKind.village: _l("village"),
}
#: Codes appear in URLs and forms: letters, digits, dot, dash, underscore.
CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")
NAME_MAX = 200
#: Codes looked up per query (well under every database's parameter limit).
LOOKUP_CHUNK = 500


class Refused(click.ClickException):
    """A translated message on standard error and exit code 1, without click's "Error:"."""

    def show(self, file=None) -> None:
        click.echo(self.format_message(), err=True)


def parse_kind(value: str | None) -> LocalityKind:
    try:
        return LocalityKind((value or "").strip().lower())
    except ValueError:
        raise ValueError(
            _("Unknown kind %(kind)r: use province, commune or village.", kind=value or "")
        ) from None


def check_code(code: str) -> None:
    if not CODE_RE.match(code):
        raise ValueError(
            _(
                "The code %(code)r is not valid: use up to 32 letters, digits, dots or dashes.",
                code=code,
            )
        )


def check_name(name: str) -> None:
    if not name:
        raise ValueError(_("The name is missing."))
    if len(name) > NAME_MAX:
        raise ValueError(_("The name can be at most %(n)d characters.", n=NAME_MAX))


def check_parent(
    kind: LocalityKind, parent_code: str | None, parent_kind: LocalityKind | None
) -> None:
    """Refuse a unit whose parent is missing, unknown or of the wrong level."""
    wanted = PARENT_KIND[kind]
    if wanted is None:
        if parent_code:
            raise ValueError(_("A province cannot have a parent unit."))
        return
    if not parent_code:
        raise ValueError(
            _(
                "A %(kind)s needs the code of its parent %(parent)s.",
                kind=KIND_LABELS[kind],
                parent=KIND_LABELS[wanted],
            )
        )
    if parent_kind is None:
        raise ValueError(_("Unknown parent code %(code)r.", code=parent_code))
    if parent_kind != wanted:
        raise ValueError(
            _(
                "A %(kind)s belongs under a %(wanted)s, but %(code)s is a %(actual)s.",
                kind=KIND_LABELS[kind],
                wanted=KIND_LABELS[wanted],
                code=parent_code,
                actual=KIND_LABELS[parent_kind],
            )
        )


def existing_by_code(codes: set[str]) -> dict[str, Locality]:
    found: dict[str, Locality] = {}
    ordered = sorted(codes)
    for i in range(0, len(ordered), LOOKUP_CHUNK):
        chunk = ordered[i : i + LOOKUP_CHUNK]
        query = select(Locality).where(Locality.code.in_(chunk))
        query = query.options(selectinload(Locality.parent), selectinload(Locality.merged_into))
        for loc in db.session.scalars(query):
            found[loc.code] = loc
    return found


#: The People's Committee's contacts, printed on notices: the columns of the same names.
CONTACTS = ("address", "phone", "email", "office_hours")
CONTACT_LABELS = {
    "address": _l("Address"),
    "phone": _l("Telephone"),
    "email": _l("E-mail address"),
    "office_hours": _l("Office hours"),
}


def clean_contact(field: str, value: str | None) -> str | None:
    """``value`` as stored in ``field``: one line of text, None when empty (an empty option clears it)."""
    value = " ".join(clean_text(value).split())
    if not value:
        return None
    limit = Locality.__table__.c[field].type.length
    if len(value) > limit:
        raise ValueError(
            _("%(field)s: at most %(n)d characters.", field=CONTACT_LABELS[field], n=limit)
        )
    if field == "email":
        try:
            value = validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError:
            raise ValueError(_("%(email)r is not a valid e-mail address.", email=value)) from None
    if field == "phone" and len(re.findall(r"\d", value)) < 3:
        raise ValueError(_("The telephone %(phone)r has no number to call.", phone=value))
    return value
