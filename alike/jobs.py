"""The worker's part of grouping: an opinion posted or edited is grouped after its commit
(``group_new``); the sweep groups what a lost job left out (opinions without an OpinionAlike
row). Like the outbox, the ids are collected in the session and enqueued after its commit."""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from alike import grouping
from alike.models import OpinionAlike
from consultations.models import Opinion
from core.extensions import db
from infra import queue

log = logging.getLogger("gopy.alike")

#: Opinions the sweep groups at a time.
SWEEP_BATCH = 500


def schedule(opinion: Opinion) -> None:
    """Called when an opinion is posted or edited: grouped by the worker after the commit."""
    db.session.info.setdefault("alike_new", []).append(opinion.id)


def _group_all(opinion_ids: list[int]) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    for opinion_id in opinion_ids:
        with app.app_context():  # a session of its own, one transaction per opinion
            try:
                grouping.add(opinion_id)
                db.session.commit()
            except Exception:  # one opinion must not stop the others; the sweep retries
                db.session.rollback()
                log.exception("opinion %s could not be grouped", opinion_id)


@queue.task()
def group_new(opinion_ids: list[int]) -> None:
    """Group these opinions (the job enqueued after the commit that stored them)."""
    _group_all(opinion_ids)


@queue.periodic(queue.crontab(minute="*"))
def sweep() -> int:
    """Every minute: group the opinions a lost job left out (safe to run twice)."""
    ids = list(
        db.session.scalars(
            select(Opinion.id)
            .outerjoin(OpinionAlike, OpinionAlike.opinion_id == Opinion.id)
            .where(OpinionAlike.opinion_id.is_(None))
            .order_by(Opinion.id)
            .limit(SWEEP_BATCH)
        )
    )
    db.session.rollback()
    _group_all(ids)
    return len(ids)


@event.listens_for(Session, "after_commit")
def _enqueue(session: Session) -> None:
    ids = session.info.pop("alike_new", None)
    if not ids:
        return
    try:
        group_new(ids)
    except Exception:  # the queue is down: the sweep groups them
        log.exception("could not enqueue the grouping of %d opinions", len(ids))


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction) -> None:
    if not previous_transaction.nested:
        session.info.pop("alike_new", None)
