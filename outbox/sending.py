"""Sending the outbox: claim a row, hand it to the provider, record what happened.

A committed row is handed to the queue (``send`` jobs, collected from the session's flushes
and enqueued after its commit). Whatever the queue loses (Redis restarted, down when we
enqueued, a worker killed) the periodic ``sweep`` finds in the table: every pending row that is
due, and every row left in ``sending`` longer than ``MAIL_CLAIM_SECONDS``.

A row is claimed with one conditional UPDATE (its rowcount says whether this worker won), so
two workers never send it at once. Each attempt counts when it is claimed; a failure puts the
next one ``MAIL_RETRY_BASE_SECONDS · 2^(attempts-1)`` later (capped at six hours), and after
``MAIL_MAX_ATTEMPTS`` the row is ``failed``, kept and listed on ``/admin/mail``. The worker
may die between the provider's answer and our UPDATE: the row is claimed again later and sent
with the same idempotency key, so it is recognisably the same message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, event, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from core.extensions import db
from core.timeutil import utcnow
from infra import mail, queue
from outbox.models import OutboxMessage, OutboxStatus

log = logging.getLogger("gopy.outbox")

T = OutboxMessage.__table__
PENDING, SENDING = OutboxStatus.pending.value, OutboxStatus.sending.value
SENT, FAILED = OutboxStatus.sent.value, OutboxStatus.failed.value

#: The longest wait between two attempts.
MAX_DELAY = timedelta(hours=6)
#: Messages per ``send`` job: a group answer to 5,000 opinions is 100 jobs, not 5,000.
CHUNK = 50


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: base, 2·base, 4·base … ≤ 6 h."""
    base = float(current_app.config["MAIL_RETRY_BASE_SECONDS"])
    return min(timedelta(seconds=base * 2 ** max(attempts - 1, 0)), MAX_DELAY)


def _stale_before(now: datetime) -> datetime:
    return now - timedelta(seconds=float(current_app.config["MAIL_CLAIM_SECONDS"]))


def _claimable(now: datetime):
    return or_(
        and_(T.c.status == PENDING, T.c.next_attempt_at <= now),
        and_(T.c.status == SENDING, T.c.claimed_at < _stale_before(now)),
    )


def _claim(conn: Connection, message_id: int, now: datetime) -> dict | None:
    won = conn.execute(
        update(T)
        .where(T.c.id == message_id, _claimable(now))
        .values(status=SENDING, claimed_at=now, attempts=T.c.attempts + 1)
    ).rowcount
    if won != 1:
        return None
    return conn.execute(select(T).where(T.c.id == message_id)).mappings().one()


def send_one(message_id: int) -> bool | None:
    """Try to send one message if it is due (or stale); True sent, False failed this time,
    None when it was not ours to send (sent already, not due, claimed by another worker)."""
    now = utcnow()
    with db.engine.begin() as conn:
        row = _claim(conn, message_id, now)
    if row is None:
        return None
    if row["kind"] == mail.FANOUT:
        return _expand(row, now)
    if row["template"] and not row["text"]:
        try:
            row = _render_later(row)
        except Exception as exc:  # a builder that fails must not stop the others
            log.exception("mail %s could not be rendered", message_id)
            _failed(message_id, row["attempts"], now, f"not rendered: {type(exc).__name__}")
            return False
        if row is None:
            with db.engine.begin() as conn:
                conn.execute(
                    update(T)
                    .where(T.c.id == message_id)
                    .values(status=OutboxStatus.cancelled.value, last_error="nobody to write to")
                )
            return None
    message = mail.Message(
        to=row["recipient"],
        subject=row["subject"],
        text=row["text"],
        html=row["html"],
        sender=row["sender"],
        kind=row["kind"],
        headers=json.loads(row["headers"] or "{}"),
    )
    try:
        mail.transmit(message, row["idempotency_key"])
    except Exception as exc:  # any failure: the row waits for its next attempt
        reason = str(exc) if isinstance(exc, mail.SendError) else type(exc).__name__
        _failed(message_id, row["attempts"], now, reason)
        return False
    with db.engine.begin() as conn:
        conn.execute(update(T).where(T.c.id == message_id).values(status=SENT, sent_at=utcnow()))
    return True


def _render_later(row) -> dict | None:
    """Render a ``queue_later`` message and keep the result in its row (so a second attempt
    sends the very same letter). A fresh application context, so a fresh session (this may
    run in the commit hook of a request whose session can no longer query), and a request
    context on BASE_URL for the links."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with app.app_context(), app.test_request_context(base_url=app.config["BASE_URL"]):
        message = mail.build(row["template"], json.loads(row["params"] or "{}"))
    if message is None:
        return None
    values = {
        "recipient": message.to,
        "subject": message.subject[:500],
        "text": message.text,
        "html": message.html,
        "sender": message.sender,
        "kind": message.kind,
        "headers": json.dumps(message.headers, ensure_ascii=False),
    }
    with db.engine.begin() as conn:
        conn.execute(update(T).where(T.c.id == row["id"]).values(**values))
    return {**row, **values}


def _expand(row, claimed_at: datetime) -> bool | None:
    """Expand a fan-out row into its notifications and messages, and mark it done, in one
    transaction: a worker killed halfway leaves nothing, the row goes stale and is expanded
    again; a slower worker whose claim was taken over finds its mark refused and rolls back."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        with app.app_context(), app.test_request_context(base_url=app.config["BASE_URL"]):
            session = db.session
            won = session.execute(
                update(T)
                .where(T.c.id == row["id"], T.c.status == SENDING, T.c.claimed_at == claimed_at)
                .values(status=SENT, sent_at=utcnow())
            ).rowcount
            if won != 1:
                session.rollback()
                return None
            mail.expand(row["template"], json.loads(row["params"] or "{}"))
            session.commit()
    except Exception as exc:  # retried as a message is, and kept as failed after the last try
        log.exception("fan-out %s could not be expanded", row["id"])
        _failed(row["id"], row["attempts"], claimed_at, f"not expanded: {type(exc).__name__}")
        return False
    return True


def _failed(message_id: int, attempts: int, claimed_at: datetime, reason: str) -> None:
    last = attempts >= int(current_app.config["MAIL_MAX_ATTEMPTS"])
    values = {"last_error": reason[:500], "claimed_at": None}
    if last:
        values["status"] = FAILED
    else:
        values.update(status=PENDING, next_attempt_at=utcnow() + backoff(attempts))
    with db.engine.begin() as conn:
        # Only our own claim: a slower attempt must not undo a later worker's success.
        conn.execute(
            update(T)
            .where(T.c.id == message_id, T.c.status == SENDING, T.c.claimed_at == claimed_at)
            .values(**values)
        )
    log.warning(
        "mail %s not sent (attempt %d%s): %s",
        message_id,
        attempts,
        ", giving up" if last else "",
        reason,
    )


def send_due(limit: int | None = None) -> tuple[int, int]:
    """Send every message that is due or stale now; returns (sent, failed this time)."""
    with db.engine.connect() as conn:
        query = select(T.c.id).where(_claimable(utcnow())).order_by(T.c.next_attempt_at)
        ids = conn.execute(query.limit(limit) if limit else query).scalars().all()
    return _send_all(ids)


def _send_all(ids: Iterable[int]) -> tuple[int, int]:
    sent = failed = 0
    for message_id in ids:
        result = send_one(message_id)
        sent += result is True
        failed += result is False
    return sent, failed


@queue.task()
def send(message_ids: list[int]) -> None:
    """Send these messages (the job enqueued after the commit that wrote them)."""
    _send_all(message_ids)


@queue.periodic(queue.crontab(minute="*"))
def sweep() -> None:
    """Every minute: send what the queue lost or a dead worker left (safe to run twice)."""
    sent, failed = send_due()
    if sent or failed:
        log.info("outbox sweep: %d sent, %d failed", sent, failed)


@queue.periodic(queue.crontab(minute="17"))
def forget_sent() -> int:
    """Every hour: delete the messages sent or cancelled more than ``MAIL_KEEP_DAYS`` ago: an
    address and a letter are personal data, kept no longer than a complaint about delivery
    could need them."""
    cutoff = utcnow() - timedelta(days=int(current_app.config["MAIL_KEEP_DAYS"]))
    done = db.session.execute(
        T.delete().where(
            T.c.status.in_([SENT, OutboxStatus.cancelled.value]), T.c.created_at < cutoff
        )
    ).rowcount
    db.session.commit()
    return done


def cancel_for(address: str | None) -> int:
    """Cancel the notifications still waiting for ``address`` (its account is being erased);
    account mail, the notice of the deletion among it, still goes. The caller commits."""
    if not address:
        return 0
    return db.session.execute(
        T.update()
        .where(
            T.c.recipient == address,
            T.c.kind == "notification",
            T.c.status.in_([PENDING, FAILED]),
        )
        .values(status=OutboxStatus.cancelled.value)
    ).rowcount


# --- retrying now -----------------------------------------------------------------------------


def make_due(session: Session, message_ids: Iterable[int] | None = None) -> list[int]:
    """Make waiting and failed messages due now (all of them, or these); returns their ids.
    The caller commits; the messages are handed to the queue after that commit."""
    waiting = T.c.status.in_([PENDING, FAILED])
    query = select(T.c.id).where(waiting)
    if message_ids is not None:
        query = query.where(T.c.id.in_(list(message_ids)))
    ids = session.execute(query).scalars().all()
    if ids:
        session.execute(
            update(T)
            .where(T.c.id.in_(ids), waiting)
            .values(status=PENDING, next_attempt_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        session.info.setdefault("outbox_new", []).extend(ids)
    return ids


def retry_now() -> tuple[int, int]:
    """``mail retry``: every message waiting for a retry, or failed, is sent at once, here.
    Returns (sent, still failing)."""
    make_due(db.session)
    db.session.info.pop("outbox_new", None)  # sent below, not by the queue
    db.session.commit()
    return send_due()


# --- handing committed rows to the queue ------------------------------------------------------


@event.listens_for(Session, "after_flush")
def _collect(session: Session, flush_context) -> None:
    new = [obj.id for obj in session.new if isinstance(obj, OutboxMessage)]
    if new:
        session.info.setdefault("outbox_new", []).extend(new)


@event.listens_for(Session, "after_commit")
def _enqueue(session: Session) -> None:
    ids = session.info.pop("outbox_new", None)
    if not ids:
        return
    try:
        for start in range(0, len(ids), CHUNK):
            send(ids[start : start + CHUNK])
    except Exception:  # the queue is down: the rows are safe, the sweep sends them
        log.exception("could not enqueue %d messages; the outbox sweep will send them", len(ids))


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction) -> None:
    # A rolled-back savepoint leaves the outer transaction's ids (a job for a row that is not
    # there does nothing); the outer transaction rolled back takes them all.
    if not previous_transaction.nested:
        session.info.pop("outbox_new", None)
