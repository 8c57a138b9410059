"""``flask --app app notifications …``: the sweeps the worker also runs on its schedule."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from core.extensions import db
from notifications import digests, services
from notifications.models import Frequency

notifications_cli = AppGroup("notifications", help="Notifications and digests.")


def _in_request(fn):
    """Run ``fn`` where links can be built (under BASE_URL) and commit what it did."""
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        result = fn()
        db.session.commit()
    return result


@notifications_cli.command("digest")
@click.option(
    "--frequency",
    type=click.Choice([Frequency.daily.value, Frequency.weekly.value]),
    required=True,
    help="Which digests to send.",
)
def digest_command(frequency: str) -> None:
    """Send the daily or weekly digests that are due."""
    sent = _in_request(lambda: digests.send_digests(frequency))
    click.echo(f"{sent} digest(s) sent")


@notifications_cli.command("closing-soon")
def closing_soon_command() -> None:
    """Tell followers of consultations that close within 3 days (once each)."""
    told = _in_request(services.notify_closing_soon)
    click.echo(f"{told} notification(s)")


@notifications_cli.command("openings")
def openings_command() -> None:
    """Tell followers of the places where a scheduled consultation has opened (once each)."""
    told = _in_request(services.notify_openings)
    click.echo(f"{told} notification(s)")


#: Registered by commands.register().
COMMANDS = [notifications_cli]
