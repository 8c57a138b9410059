"""What the authors of answered opinions are told, by the worker: a group answer writes one
fan-out row (``respond`` in moderation/services.py), expanded here into each author's
notification and e-mail."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from auth.models import User
from consultations.models import Opinion, Response
from core.extensions import db
from infra import mail
from moderation.forms import OUTCOME_LABELS
from notifications import services as notifications

#: The fan-out a group answer writes (``mail.queue_fanout``).
ANSWERED = "opinions_answered"


@mail.fanout(ANSWERED)
def _tell_authors_answered(response_id: int, opinion_ids: list[int], by_id: int | None) -> None:
    """The worker's half of ``respond``: each author's notification and e-mail, for the
    opinions the answer still holds (one answered again since is told by the newer answer)."""
    response = db.session.get(Response, response_id)
    if response is None:
        return
    by = db.session.get(User, by_id) if by_id is not None else None
    ops: list[Opinion] = []
    for start in range(0, len(opinion_ids), 500):
        ops.extend(
            db.session.scalars(
                select(Opinion).where(
                    Opinion.id.in_(opinion_ids[start : start + 500]),
                    Opinion.response_id == response_id,
                )
            )
        )
    ops.sort(key=lambda o: o.id)
    notifications.opinions_answered(ops, by=by, at=response.created_at)
    # Never told what one did oneself: a moderator answering their own opinion gets no mail.
    _mail_authors_answered([op for op in ops if op.author_id != by_id], response)


def _mail_authors_answered(ops: list[Opinion], response: Response) -> None:
    """Tell each author of ``ops`` the answer: one outbox row each, written in this
    transaction and rendered by the worker (a group answer may hold thousands)."""
    author_ids = {op.author_id for op in ops if op.author_id is not None}
    emails = dict(
        db.session.execute(
            select(User.id, User.email).where(User.id.in_(author_ids), User.email.is_not(None))
        ).all()
    )
    mail.queue_later(
        "opinion_answered",
        [
            (emails[op.author_id], {"opinion_id": op.id, "response_id": response.id})
            for op in ops
            if op.author_id in emails
        ],
    )


@mail.builder("opinion_answered")
def _answered_mail(opinion_id: int, response_id: int) -> dict[str, Any] | None:
    """The answer to one opinion, as its author is to read it (built by the worker)."""
    opinion = db.session.get(Opinion, opinion_id)
    response = db.session.get(Response, response_id)
    author = opinion.author if opinion is not None else None
    if response is None or author is None or not author.email or not author.is_active:
        return None  # offline opinions and deleted accounts have no one to write to
    if not notifications.account_mail_wanted(author, "opinion_answered"):
        return None  # the author chose a digest, or no e-mail, for this (notifications/)
    return {
        "to": author.email,
        "locale": author.locale,
        "user": author,
        "opinion": opinion,
        "consultation": opinion.consultation,
        "section": opinion.section,
        "outcome_labels": OUTCOME_LABELS,
        "response": response,
    }
