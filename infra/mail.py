"""Outgoing e-mail: rendering, the outbox row, and the provider.

``queue(...)`` renders a message in the recipient's language and adds it to the durable outbox
(``outbox/``) in the current transaction: a rollback drops it with the change, a commit hands
it to the worker (``outbox/sending.py``), which calls ``transmit``. With ``SENDGRID_API_KEY``
the real SendGrid client sends it (``SENDGRID_API_HOST`` points it elsewhere, e.g. at a fake in
tests); without, it is written to ``OUTBOX_DIR`` as JSON. Nothing here waits in a request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app, render_template, url_for
from flask_babel import force_locale
from sqlalchemy import insert

from core.extensions import db
from core.timeutil import utcnow
from localities.names import issuer_for
from outbox.models import OutboxMessage, OutboxStatus, new_key

log = logging.getLogger("gopy.mail")

#: Seconds the worker waits for the provider before counting the attempt as failed.
SEND_TIMEOUT = 15


#: What a message is about: account and security mail (verification, password reset, receipts
#: and answers to one's own opinions) or a notification (needs the ``notifications`` consent
#: and carries List-Unsubscribe). The two never share a message.
KINDS = ("account", "notification")


@dataclass
class Message:
    to: str
    subject: str
    text: str
    html: str
    sender: str
    kind: str = "account"
    #: Extra headers, e.g. List-Unsubscribe and List-Unsubscribe-Post (RFC 8058).
    headers: dict[str, str] = field(default_factory=dict)


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


def render(
    template: str,
    *,
    to: str,
    locale: str,
    kind: str = "account",
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Message:
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
        kind=kind,
        headers=dict(headers or {}),
    )


def queue(
    template: str,
    *,
    to: str | None,
    locale: str = "vi",
    kind: str = "account",
    headers: dict[str, str] | None = None,
    **context: Any,
) -> OutboxMessage | None:
    """Render a message and add it to the outbox in the current transaction: it goes out (by
    the worker) once the transaction commits, and a rollback drops it with the change."""
    if not to:
        return None
    if kind not in KINDS:
        raise ValueError(f"unknown kind of mail: {kind}")
    message = render(template, to=to, locale=locale, kind=kind, headers=headers, **context)
    row = OutboxMessage(
        recipient=message.to,
        subject=message.subject[:500],
        text=message.text,
        html=message.html,
        sender=message.sender,
        kind=message.kind,
        headers=json.dumps(message.headers, ensure_ascii=False),
        idempotency_key=new_key(),
        status=OutboxStatus.pending.value,
        attempts=0,
        next_attempt_at=utcnow(),
    )
    db.session.add(row)
    return row


#: Builders of messages queued by ``queue_later``: template name -> a function of the params
#: giving ``render``'s keyword arguments (``to``, ``locale``, context…), or None when there is
#: no longer anyone to write to.
BUILDERS: dict[str, Callable[..., dict[str, Any] | None]] = {}


def builder(template: str) -> Callable[[Callable], Callable]:
    """Register the function that builds ``template``'s message from its params (by the
    worker, in an application context of its own)."""

    def decorator(fn: Callable) -> Callable:
        BUILDERS[template] = fn
        return fn

    return decorator


def _unrendered(
    template: str,
    params: dict[str, Any],
    now,
    *,
    to: str,
    sender: str,
    kind: str = "account",
) -> dict[str, Any]:
    """An outbox row to be rendered (or expanded) by the worker at its first attempt."""
    return {
        "recipient": to,
        "subject": "",
        "text": "",
        "html": "",
        "sender": sender,
        "kind": kind,
        "headers": "{}",
        "idempotency_key": new_key(),
        "status": OutboxStatus.pending.value,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "template": template,
        "params": json.dumps(params),
    }


def queue_later(template: str, items: list[tuple[str, dict[str, Any]]]) -> int:
    """Add many messages to the outbox in the current transaction without rendering them now
    (a group answer to 5,000 opinions must not render 5,000 letters in the request): one row
    per (recipient, params), rendered by ``template``'s builder at the first attempt. One
    INSERT; the rows go to the queue after the commit, as ``queue``'s."""
    if template not in BUILDERS:
        raise ValueError(f"no builder for the mail template {template!r}")
    now = utcnow()
    sender = current_app.config["MAIL_FROM"]
    rows = [_unrendered(template, params, now, to=to, sender=sender) for to, params in items if to]
    if not rows:
        return 0
    table = OutboxMessage.__table__
    ids = db.session.execute(insert(table).returning(table.c.id), rows).scalars().all()
    db.session.info.setdefault("outbox_new", []).extend(ids)
    return len(ids)


#: What a fan-out row (``queue_fanout``) stands for: kind of the row, never a message's.
FANOUT = "fanout"

#: Expanders of fan-out rows: name -> a function of the params that adds, in the worker's
#: transaction, the rows one event leaves (notifications, a ``queue_later`` message each).
FANOUTS: dict[str, Callable[..., None]] = {}


def fanout(name: str) -> Callable[[Callable], Callable]:
    """Register the function that expands ``name``'s fan-out rows (run by the worker)."""

    def decorator(fn: Callable) -> Callable:
        FANOUTS[name] = fn
        return fn

    return decorator


def queue_fanout(name: str, params: dict[str, Any]) -> None:
    """One outbox row, in the current transaction, standing for everything an event leaves for
    many people: a group answer to 5,000 opinions writes this one row, not 9,000, and the
    worker expands it (``outbox.sending``) once, in one transaction, into the notifications
    and the messages. Durable as any message: retried, kept as failed, swept."""
    if name not in FANOUTS:
        raise ValueError(f"no expander for the fan-out {name!r}")
    table = OutboxMessage.__table__
    row = _unrendered(name, params, utcnow(), to="", sender="", kind=FANOUT)
    row_id = db.session.execute(insert(table).returning(table.c.id), [row]).scalar_one()
    db.session.info.setdefault("outbox_new", []).append(row_id)


def expand(name: str, params: dict[str, Any]) -> None:
    FANOUTS[name](**params)


def build(template: str, params: dict[str, Any]) -> Message | None:
    """Render a message queued by ``queue_later`` (None: nobody to write to any more)."""
    kwargs = BUILDERS[template](**params)
    if kwargs is None:
        return None
    return render(template, **kwargs)


def outbox_dir() -> Path:
    path = Path(current_app.config["OUTBOX_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


#: The header (and SendGrid custom_args name) carrying a message's idempotency key.
KEY_HEADER = "X-Gopy-Message-Key"
KEY_ARG = "gopy_message_key"


class SendError(Exception):
    """The provider did not take the message; ``str()`` is a short reason for the admins."""


def transmit(message: Message, key: str) -> None:
    """Hand one message to the provider now, with its idempotency key; raise SendError when it
    was not taken. Without SENDGRID_API_KEY it is written to OUTBOX_DIR as ``<key>.json``
    (sent twice, the same file)."""
    api_key = current_app.config.get("SENDGRID_API_KEY")
    if not api_key:
        _write(outbox_dir(), message, key)
        log.info("mail written to outbox (no SENDGRID_API_KEY): %s", message.subject)
        return
    try:
        _send_with_sendgrid(message, key, api_key, current_app.config.get("SENDGRID_API_HOST"))
    except SendError:
        raise
    except Exception as exc:  # any failure of the provider is a reason to try again later
        status = getattr(exc, "status_code", None) or getattr(exc, "code", None)
        reason = f"SendGrid answered {status}" if status else f"{type(exc).__name__}: {exc}"
        raise SendError(reason[:300]) from exc


def _send_with_sendgrid(message: Message, key: str, api_key: str, host: str | None) -> None:
    from sendgrid import (
        SendGridAPIClient,
    )  # lazy: only where a key is set; the client is slow to import
    from sendgrid.helpers.mail import CustomArg, Header, Mail  # lazy: as above

    client = (
        SendGridAPIClient(api_key=api_key, host=host)
        if host
        else SendGridAPIClient(api_key=api_key)
    )
    client.client.timeout = SEND_TIMEOUT  # a provider that hangs must not hold the worker
    mail = Mail(
        from_email=message.sender,
        to_emails=message.to,
        subject=message.subject,
        plain_text_content=message.text,
        html_content=message.html,
    )
    for name, value in message.headers.items():
        mail.add_header(Header(name, value))
    mail.add_header(Header(KEY_HEADER, key))
    mail.add_custom_arg(CustomArg(KEY_ARG, key))
    response = client.send(mail)
    if response.status_code >= 300:
        raise SendError(f"SendGrid answered {response.status_code}")


def _write(folder: Path, message: Message, key: str) -> Path:
    path = folder / f"{key}.json"
    path.write_text(json.dumps(asdict(message), ensure_ascii=False, indent=1), encoding="utf-8")
    return path
