"""The letters PDF made by a job of the worker: WeasyPrint takes about 0.18 s a letter on the
2-core server (a village of 300 households: about a minute), far too long for a request.

Small and self-contained, without a table: the request writes ``letters/<token>.json`` (who
asked, for which village) and enqueues :func:`make_letters`; the job issues the fresh keys,
renders the PDF to ``letters/<token>.pdf`` (in the store, :mod:`infra.storage`) and commits the keys only once the file is written
(a failed render leaves the earlier letters working). The file holds the keys: only the
official who asked may download it, it is deleted once downloaded, and any left after
``TTL`` by the periodic sweep. The keys never pass through the queue's store.
"""

from __future__ import annotations

import json
import logging
import secrets
import time

from auth.models import User
from core.extensions import db
from households import letters
from households.services import issue_keys
from infra import queue, storage
from localities.models import Locality

log = logging.getLogger("gopy.households")

FOLDER = "letters"
#: A letters file not downloaded within this many seconds is deleted.
TTL = 3600
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


def _name(token: str, ext: str) -> str:
    return f"{token}.{ext}"


def state(token: str) -> dict | None:
    try:
        return json.loads(storage.read(_name(token, "json"), folder=FOLDER).decode("utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def _write_state(token: str, data: dict) -> None:
    storage.put(_name(token, "json"), json.dumps(data).encode("utf-8"), folder=FOLDER)


def request_letters(village: Locality, *, by, count: int) -> str:
    """Enqueue the letters of ``village``; the token of their page."""
    sweep()
    token = secrets.token_hex(16)
    _write_state(
        token,
        {
            "status": QUEUED,
            "village_id": village.id,
            "user_id": by.id,
            "count": count,
            "at": time.time(),
        },
    )
    make_letters(token)
    return token


@queue.task(retries=0)
def make_letters(token: str) -> None:
    """Issue fresh keys for the village of ``token`` and write its letters PDF."""
    run(token)


def run(token: str) -> None:
    data = state(token)
    if data is None or data["status"] != QUEUED:
        return  # run twice, or swept
    _write_state(token, {**data, "status": RUNNING})
    try:
        village = db.session.get(Locality, data["village_id"])
        by = db.session.get(User, data["user_id"])
        issued = issue_keys(village, by=by, via="letters")
        pdf = letters.letters_pdf(village, issued)
        storage.put(_name(token, "pdf"), pdf, folder=FOLDER)
        db.session.commit()
    except Exception as exc:  # the job's failure is shown on its page
        db.session.rollback()
        log.exception("letters %s failed", token)
        storage.delete(_name(token, "pdf"), folder=FOLDER)
        _write_state(token, {**data, "status": FAILED, "error": type(exc).__name__})
        return
    _write_state(token, {**data, "status": DONE, "count": len(issued)})


def take(token: str) -> bytes | None:
    """The finished PDF, read once and deleted with its state (it holds the keys)."""
    try:
        body = storage.read(_name(token, "pdf"), folder=FOLDER)
    except FileNotFoundError:
        return None
    storage.delete(_name(token, "pdf"), folder=FOLDER)
    storage.delete(_name(token, "json"), folder=FOLDER)
    return body


def sweep(now: float | None = None) -> int:
    """Delete letters files older than TTL; how many."""
    now = now or time.time()
    gone = 0
    for name, modified, _size in list(storage.listing(FOLDER)):
        if modified.timestamp() < now - TTL:
            storage.delete(name, folder=FOLDER)
            gone += 1
    return gone


@queue.periodic(queue.crontab(minute="*/10"))
def expire_letters() -> None:
    """Delete the letters files never downloaded (every ten minutes)."""
    sweep()
