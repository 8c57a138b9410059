"""Commands: export opinions, verify a published record."""

from __future__ import annotations

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from consultations import exports
from consultations import record as records
from consultations.models import Consultation, Record
from core.extensions import db

record_group = AppGroup("record", help="Published records of consultation.")


@record_group.command("verify")
@click.argument("consultation_id", type=int)
def verify(consultation_id: int) -> None:
    """Recompute a published record from the data and compare it with its hash."""
    rec = db.session.scalar(select(Record).where(Record.consultation_id == consultation_id))
    if rec is None:
        raise click.ClickException(f"consultation {consultation_id} has no published record")
    result = records.verify_record(rec)
    if result.ok:
        click.echo(f"OK {result.stored_hash}")
        return
    click.echo("MISMATCH")
    click.echo(f"published hash: {result.stored_hash}")
    click.echo(f"data now gives: {result.computed_hash}")
    if result.differences:
        click.echo("differs in: " + ", ".join(result.differences[:50]))
    raise SystemExit(1)


@click.command("export")
@click.argument("consultation_id", type=int)
@click.option(
    "--format", "fmt", type=click.Choice(exports.FORMATS), required=True, help="File format."
)
@click.option(
    "--output", type=click.Path(dir_okay=False, writable=True), required=True, help="File to write."
)
@with_appcontext
def export(consultation_id: int, fmt: str, output: str) -> None:
    """Export every opinion of a consultation, hidden and withdrawn ones too."""
    if db.session.get(Consultation, consultation_id) is None:
        raise click.ClickException(f"consultation {consultation_id} does not exist")

    def progress(n: int) -> None:
        click.echo(f"{n} opinions written", err=True)

    with open(output, "wb") as fh:
        exports.write_export(consultation_id, fmt, fh, progress)
    click.echo(f"written {output}", err=True)


COMMANDS: list = [record_group, export]
