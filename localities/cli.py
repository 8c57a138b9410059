"""Commands: ``localities add``, ``localities update`` and ``localities import`` (csv_import.py)."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import select

from audit.models import record as audit
from core.extensions import db
from core.textutil import clean_text
from localities.csv_import import import_command
from localities.models import Locality
from localities.validation import (
    CONTACT_LABELS,
    CONTACTS,
    KIND_LABELS,
    Refused,
    check_code,
    check_name,
    check_parent,
    clean_contact,
    existing_by_code,
    parse_kind,
)

__all__ = ["COMMANDS", "Refused", "localities_cli"]

localities_cli = AppGroup(
    "localities", help="Manage administrative units (province, commune, village)."
)
localities_cli.add_command(import_command)


def contact_options(command):
    """--address, --phone, --email, --office-hours: the office's contacts printed on notices."""
    helps = {
        "address": "The People's Committee's address, e.g. \"Khu phố 3, xã Cam Lộ, tỉnh Quảng Trị\".",
        "phone": "Telephone or hotline for opinions given by phone.",
        "email": "The office's e-mail address.",
        "office_hours": 'When the office receives the public, e.g. "Sáng 7:30–11:30, chiều 13:30–17:00".',
    }
    for field in reversed(CONTACTS):
        flag = "--" + field.replace("_", "-")
        command = click.option(flag, field, default=None, help=helps[field] + ' "" clears it.')(
            command
        )
    return command


def _contacts(given: dict[str, str | None]) -> dict[str, str | None]:
    """The contact options that were given, cleaned; an empty one becomes None (cleared)."""
    return {f: clean_contact(f, v) for f, v in given.items() if f in CONTACTS and v is not None}


@localities_cli.command("add")
@click.option("--code", required=True, help="Official administrative code, e.g. 19597.")
@click.option("--name", required=True, help='Full name, e.g. "Xã Cam Lộ".')
@click.option("--kind", required=True, help="province, commune or village.")
@click.option("--parent", "parent_code", default=None, help="Code of the unit above it.")
@contact_options
def add_command(
    code: str, name: str, kind: str, parent_code: str | None, **contacts: str | None
) -> None:
    """Add one administrative unit."""
    code, name = code.strip(), clean_text(name)
    parent_code = (parent_code or "").strip() or None
    try:
        check_code(code)
        check_name(name)
        parsed = parse_kind(kind)
        values = _contacts(contacts)
        if db.session.scalar(select(Locality.id).where(Locality.code == code)) is not None:
            raise ValueError(_("A unit with the code %(code)s already exists.", code=code))
        parent = existing_by_code({parent_code}).get(parent_code) if parent_code else None
        check_parent(parsed, parent_code, parent.kind if parent else None)
    except ValueError as exc:
        raise Refused(str(exc)) from None
    loc = Locality(code=code, name=name, kind=parsed, parent=parent, **values)
    db.session.add(loc)
    db.session.flush()
    audit(
        "locality.create",
        loc,
        locality_id=loc.id,
        code=code,
        name=name,
        kind=parsed.value,
        via="cli",
        **{k: v for k, v in values.items() if v is not None},
    )
    db.session.commit()
    click.echo(
        _("Added %(kind)s %(code)s %(name)s.", kind=KIND_LABELS[parsed], code=code, name=name)
    )


@localities_cli.command("update")
@click.option("--code", required=True, help="Code of the unit to change.")
@click.option("--name", default=None, help="New full name (the former one is kept as its history).")
@contact_options
def update_command(code: str, name: str | None, **contacts: str | None) -> None:
    """Change a unit's name or its office's contacts (an empty value clears a contact)."""
    code = code.strip()
    loc = db.session.scalar(select(Locality).where(Locality.code == code))
    if loc is None:
        raise Refused(_("Unknown code %(code)r: no unit has it.", code=code))
    if name is None and all(v is None for v in contacts.values()):
        raise Refused(_("Nothing to change: give --name or a contact option."))
    try:
        values = _contacts(contacts)
        if name is not None:
            name = clean_text(name)
            check_name(name)
            values["name"] = name
    except ValueError as exc:
        raise Refused(str(exc)) from None
    changed = {k: v for k, v in values.items() if getattr(loc, k) != v}
    if not changed:
        click.echo(_("%(code)s %(name)s is unchanged.", code=loc.code, name=loc.name))
        return
    if "name" in changed:
        loc.renamed_from = loc.name  # a renamed unit keeps its history, as on import
    for field, value in changed.items():
        setattr(loc, field, value)
    audit("locality.update", loc, locality_id=loc.id, code=code, via="cli", **changed)
    db.session.commit()
    labels = [str(CONTACT_LABELS.get(f, _("Name"))) for f in changed]
    click.echo(
        _(
            "Updated %(code)s %(name)s: %(fields)s.",
            code=loc.code,
            name=loc.name,
            fields=", ".join(labels),
        )
    )


#: Registered by cli.register().
COMMANDS = [localities_cli]
