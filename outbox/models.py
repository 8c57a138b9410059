"""One outgoing message, as rendered when it was queued, and where it stands."""

from __future__ import annotations

import enum
import json
import secrets
from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.timeutil import UTCDateTime, utcnow


class OutboxStatus(enum.StrEnum):
    #: Waiting for its next attempt (``next_attempt_at``).
    pending = "pending"
    #: Claimed by a worker, which is talking to the provider now (or died doing so).
    sending = "sending"
    sent = "sent"
    #: Every attempt failed; kept, and listed for admins, until someone sends it again.
    failed = "failed"
    #: Not sent on purpose: when the worker came to build it, nobody was to be written to
    #: (the account deleted, the author chose a digest).
    cancelled = "cancelled"


def new_key() -> str:
    return secrets.token_urlsafe(24)


class OutboxMessage(db.Model):
    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    sender: Mapped[str] = mapped_column(String(320))
    #: "account" or "notification" (infra.mail.KINDS).
    kind: Mapped[str] = mapped_column(String(16), default="account")
    #: Extra headers as a JSON object (List-Unsubscribe…).
    headers: Mapped[str] = mapped_column(Text, default="{}")
    #: Random, sent with the message (header and SendGrid custom_args): a message sent again
    #: after a crash between the provider's answer and our update is the same message.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True, default=new_key)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.pending.value)
    #: Attempts begun (counted when claimed, so a message that kills its worker runs out too).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: A message queued before it was rendered (``infra.mail.queue_later``): the template and
    #: the ids its builder needs; the worker renders it at the first attempt.
    template: Mapped[str | None] = mapped_column(String(64))
    params: Mapped[str | None] = mapped_column(Text)
    #: Why the last attempt failed, short (never the body).
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    def header_dict(self) -> dict[str, str]:
        return json.loads(self.headers or "{}")
