"""Outgoing e-mail: one module, sent only after the database commit.

``queue(...)`` renders a message in the recipient's language and keeps it until the session
commits; a rollback drops it. With ``SENDGRID_API_KEY`` the real SendGrid client sends it
(``SENDGRID_API_HOST`` points it elsewhere, e.g. at a fake in tests); without, it is written to
the log and to ``instance/outbox/``. A failed send is logged and the message saved under
``instance/outbox/failed/`` so ``flask --app app mail retry`` can send it later: nothing is lost.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import click
from flask import current_app, g, has_app_context, render_template, url_for
from flask.cli import AppGroup
from flask_babel import force_locale
from sqlalchemy import event
from sqlalchemy.orm import Session

from localities.names import issuer_for

log = logging.getLogger("gopy.mail")

#: Seconds to wait for the provider before keeping the message for a retry.
SEND_TIMEOUT = 15


@dataclass
class Message:
    to: str
    subject: str
    text: str
    html: str
    sender: str


def preferences_url() -> str:
    """Where the recipient changes which e-mail they receive: the consents on /me/account."""
    base = current_app.config["BASE_URL"].rstrip("/")
    try:
        path = url_for("me.account", _anchor="consents")
    except RuntimeError:  # no request: build it without one
        path = "/me/account#consents"
    return base + path


def _letter(context: dict[str, Any]) -> dict[str, Any]:
    """What every message needs beside its own context: the name in "Kính gửi ông/bà …,", the
    issuing body under "Trân trọng," and the link to the notification choices. A caller may
    pass any of them (``recipient_name``, ``issuer``, ``preferences_url``; None for no link)."""
    user = context.get("user")
    if "recipient_name" not in context:
        name = context.get("name") or (user.full_name or user.display_name if user else None)
        context["recipient_name"] = (name or "").strip() or None
    if "issuer" not in context:
        context["issuer"] = issuer_for(
            consultation=context.get("consultation"), locality=context.get("locality"), user=user
        )
    if "preferences_url" not in context:
        context["preferences_url"] = preferences_url()
    return context


def _render_text(name: str, context: dict[str, Any]) -> str:
    """A plain-text template, with its line breaks as written: the pages' environment trims the
    newline after each {% %} tag (HTML does not care), which would run a text message's lines
    together. The overlay shares the loader, filters and globals."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    env = app.extensions.get("gopy_text_env")
    if env is None:
        env = app.extensions["gopy_text_env"] = app.jinja_env.overlay(
            trim_blocks=False, lstrip_blocks=False
        )
    ctx = dict(context)
    app.update_template_context(ctx)
    return env.get_template(name).render(ctx)


def render(template: str, *, to: str, locale: str, **context: Any) -> Message:
    """Render ``templates/email/<template>.{txt,html}`` in ``locale``; the subject is the
    first line of the text version, after "Subject: ". Every message opens with the
    recipient's name and is signed by its issuing body (``_letter``)."""
    with force_locale(locale or "vi"):
        context = _letter(context)
        text = _render_text(f"email/{template}.txt", context)
        html = render_template(f"email/{template}.html", **context)
    first, _, body = text.partition("\n")
    subject = first.removeprefix("Subject:").strip()
    return Message(
        to=to,
        subject=subject,
        text=body.lstrip("\n"),
        html=html,
        sender=current_app.config["MAIL_FROM"],
    )


def queue(template: str, *, to: str | None, locale: str = "vi", **context: Any) -> None:
    """Queue a message to go out once the current transaction commits."""
    if not to:
        return
    message = render(template, to=to, locale=locale, **context)
    g.setdefault("_mail_queue", []).append(message)


def outbox_dir() -> Path:
    path = Path(current_app.config["OUTBOX_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def deliver(message: Message) -> bool:
    """Send one message now; on failure keep it for a retry. Returns whether it went out."""
    api_key = current_app.config.get("SENDGRID_API_KEY")
    if not api_key:
        _write(outbox_dir(), message)
        log.info("mail written to outbox (no SENDGRID_API_KEY): %s", message.subject)
        return True
    try:
        _send_with_sendgrid(message, api_key, current_app.config.get("SENDGRID_API_HOST"))
    except Exception as exc:  # any failure of the provider must not lose the message
        failed = outbox_dir() / "failed"
        failed.mkdir(exist_ok=True)
        _write(failed, message)
        log.error("mail not sent, saved for retry: %s (%s)", message.subject, type(exc).__name__)
        return False
    return True


def _send_with_sendgrid(message: Message, api_key: str, host: str | None) -> None:
    from sendgrid import SendGridAPIClient
    from sendgrid.helpers.mail import Mail

    client = (
        SendGridAPIClient(api_key=api_key, host=host)
        if host
        else SendGridAPIClient(api_key=api_key)
    )
    client.client.timeout = SEND_TIMEOUT  # a provider that hangs must not hold the request
    mail = Mail(
        from_email=message.sender,
        to_emails=message.to,
        subject=message.subject,
        plain_text_content=message.text,
        html_content=message.html,
    )
    response = client.send(mail)
    if response.status_code >= 300:
        raise RuntimeError(f"SendGrid answered {response.status_code}")


def _write(folder: Path, message: Message) -> Path:
    name = f"{secrets.token_hex(8)}.json"
    path = folder / name
    path.write_text(json.dumps(asdict(message), ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def retry_failed() -> tuple[int, int]:
    """Send again every message saved after a failure. Returns (sent, still failing)."""
    failed = outbox_dir() / "failed"
    sent = kept = 0
    for path in sorted(failed.glob("*.json")) if failed.exists() else []:
        message = Message(**json.loads(path.read_text(encoding="utf-8")))
        path.unlink()
        if deliver(message):
            sent += 1
        else:
            kept += 1
    return sent, kept


def flush() -> None:
    """Send what is queued (called after a commit)."""
    if not has_app_context():
        return
    pending = g.pop("_mail_queue", None) or []
    for message in pending:
        deliver(message)


def discard() -> None:
    if has_app_context():
        g.pop("_mail_queue", None)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    flush()


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction) -> None:
    discard()


mail_cli = AppGroup("mail", help="Outgoing e-mail.")


@mail_cli.command("retry")
def retry_command() -> None:
    """Send again the messages that failed to go out."""
    sent, kept = retry_failed()
    click.echo(f"{sent} sent, {kept} still failing")
    if kept:
        raise SystemExit(1)


#: Registered by cli.register().
COMMANDS = [mail_cli]
