"""Command-line interface: ``flask --app app <command>``; each area lists its commands in
``COMMANDS``, and this package holds the ones that belong to no area (demo data, backups)."""

from __future__ import annotations

from flask import Flask

from auth import cli as auth_cli
from commands import backup, demo
from infra import mail
from localities import cli as localities_cli
from me import retention
from records import cli as records_cli


def register(app: Flask) -> None:
    """Attach every command group to ``app``."""
    for module in (demo, auth_cli, localities_cli, records_cli, mail, backup, retention):
        for command in module.COMMANDS:
            app.cli.add_command(command)
