"""``flask --app app mail …``: the outbox from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from core.extensions import db
from outbox.models import OutboxMessage, OutboxStatus, new_key
from outbox.sending import retry_now

mail_cli = AppGroup("mail", help="Outgoing e-mail.")


def import_failed_files() -> int:
    """Take the messages an older version saved as ``OUTBOX_DIR/failed/*.json`` into the
    outbox table (each file removed once its row is committed); returns how many."""
    folder = Path(current_app.config["OUTBOX_DIR"]) / "failed"
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    for path in paths:
        data = json.loads(path.read_text(encoding="utf-8"))
        db.session.add(
            OutboxMessage(
                recipient=data["to"],
                subject=data["subject"][:500],
                text=data["text"],
                html=data["html"],
                sender=data["sender"],
                kind=data.get("kind", "account"),
                headers=json.dumps(data.get("headers") or {}, ensure_ascii=False),
                idempotency_key=new_key(),
                status=OutboxStatus.failed.value,
                attempts=1,
                last_error="saved by an older version",
            )
        )
    db.session.info.pop("outbox_new", None)
    db.session.commit()
    db.session.info.pop("outbox_new", None)  # sent by retry_now below, not by the queue
    for path in paths:
        path.unlink()
    return len(paths)


@mail_cli.command("retry")
def retry_command() -> None:
    """Send at once every message waiting for a retry or kept as failed."""
    import_failed_files()
    sent, kept = retry_now()
    click.echo(f"{sent} sent, {kept} still failing")
    if kept:
        raise SystemExit(1)


#: Registered by commands.register().
COMMANDS = [mail_cli]
