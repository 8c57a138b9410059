"""Command-line interface: ``flask --app app <command>``; each area lists its commands in
``COMMANDS``, and this package holds the ones that belong to no area (demo data, backups)."""

from __future__ import annotations

from flask import Flask

from alike import cli as alike_cli
from auth import cli as auth_cli
from commands import backup, demo
from households import cli as households_cli
from infra import queue
from localities import cli as localities_cli
from me import retention
from notifications import cli as notifications_cli
from outbox import cli as outbox_cli
from records import cli as records_cli


def register(app: Flask) -> None:
    """Attach every command group to ``app``."""
    for module in (
        demo,
        auth_cli,
        localities_cli,
        records_cli,
        outbox_cli,
        queue,
        backup,
        retention,
        notifications_cli,
        households_cli,
        alike_cli,
    ):
        for command in module.COMMANDS:
            app.cli.add_command(command)
