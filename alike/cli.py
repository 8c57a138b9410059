"""``flask --app app opinions group <consultation id>``: recompute a consultation's groups."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from alike import grouping
from consultations.models import Consultation
from core.extensions import db

opinions_group = AppGroup("opinions", help="Opinions: alike groups.")


@opinions_group.command("group")
@click.argument("consultation_id", type=int)
def group(consultation_id: int) -> None:
    """Recompute the groups of alike opinions of a consultation (the moderator's removals and
    merges are kept)."""
    if db.session.get(Consultation, consultation_id) is None:
        raise click.ClickException(f"there is no consultation {consultation_id}")
    stats = grouping.recompute(consultation_id)
    db.session.commit()
    click.echo(
        f"{stats['opinions']} opinions: {stats['groups']} groups holding {stats['grouped']}, "
        f"{stats['campaigns']} campaigns"
    )


COMMANDS = [opinions_group]
