"""Command-line interface: ``flask --app app <command>``."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Attach every command group to ``app``; each area lists its commands in ``COMMANDS``."""
    import backup
    import demo
    import mail
    from auth import cli as auth_cli
    from localities import cli as localities_cli
    from me import retention
    from records import cli as records_cli

    for module in (demo, auth_cli, localities_cli, records_cli, mail, backup, retention):
        for command in module.COMMANDS:
            app.cli.add_command(command)
