"""``flask --app app households …``: the register of households from the command line."""

from __future__ import annotations

import csv
from pathlib import Path

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from core.errors import InvalidInput
from core.extensions import db
from households import importing, letters
from households.services import issue_keys
from localities.models import get_by_code
from localities.validation import Refused

households_cli = AppGroup("households", help="The register of households (Art. 15 votes).")

COMMANDS = [households_cli]


@households_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(path: Path) -> None:
    """Add or update households from a CSV file (code,village_code,representative_name,address),
    all or nothing."""
    try:
        created, updated = importing.import_households(path.read_bytes(), by=None, via="cli")
    except importing.ImportRefused as exc:
        db.session.rollback()
        raise Refused("\n".join([_("Nothing was stored:"), *exc.lines()])) from None
    except InvalidInput as exc:
        db.session.rollback()
        raise Refused(exc.message) from None
    db.session.commit()
    click.echo(
        _("%(created)d households added, %(updated)d updated.", created=created, updated=updated)
    )


def _issue(village_code: str):
    village = get_by_code(village_code)
    if village is None:
        raise Refused(_("Unknown code %(code)r: no unit has it.", code=village_code))
    try:
        issued = issue_keys(village, by=None, via="cli")
    except InvalidInput as exc:
        raise Refused(exc.message) from None
    if not issued:
        raise Refused(_("%(name)s has no household on the register.", name=village.name))
    return village, issued


@households_cli.command("keys")
@click.option("--village", "village_code", required=True, help="Code of the village.")
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
def keys_command(village_code: str, output: Path) -> None:
    """Write code,key: a fresh one-time key for every household of a village (earlier keys
    stop working)."""
    _village, issued = _issue(village_code)
    with output.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(["code", "key"])
        writer.writerows([h.code, key] for h, key in issued)
    output.chmod(0o600)  # the keys are secrets until the letters are handed out
    db.session.commit()
    click.echo(_("%(n)d keys written to %(path)s.", n=len(issued), path=output))


@households_cli.command("letters")
@click.option("--village", "village_code", required=True, help="Code of the village.")
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
def letters_command(village_code: str, output: Path) -> None:
    """Write the printable letters (PDF) with a fresh one-time key for every household of a
    village (earlier keys stop working)."""
    village, issued = _issue(village_code)
    output.write_bytes(letters.letters_pdf(village, issued))
    output.chmod(0o600)
    db.session.commit()
    click.echo(_("%(n)d letters written to %(path)s.", n=len(issued), path=output))
