"""``flask --app app opinions group <consultation id>``: recompute a consultation's groups."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from alike import grouping
from auth.permissions import is_concluded
from consultations.models import Consultation
from core.extensions import db

opinions_group = AppGroup("opinions", help="Opinions: alike groups.")


@opinions_group.command("group")
@click.argument("consultation_id", type=int)
def group(consultation_id: int) -> None:
    """Recompute the groups of alike opinions of a consultation (the moderator's removals and
    merges are kept)."""
    c = db.session.get(Consultation, consultation_id)
    if c is None:
        raise click.ClickException(f"there is no consultation {consultation_id}")
    if is_concluded(c):  # the published record prints its groups: they are frozen with it
        raise click.ClickException(f"the record of consultation {consultation_id} is published")
    stats = grouping.recompute(consultation_id)
    db.session.commit()
    click.echo(
        f"{stats['opinions']} opinions: {stats['groups']} groups holding {stats['grouped']}, "
        f"{stats['campaigns']} campaigns"
    )


COMMANDS = [opinions_group]
