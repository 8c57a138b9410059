"""The canonical serialisation of the record of consultation, and its hash.

``canonical_json`` is the exact text hashed when the record is published (consultations/record.py)
and recomputed by ``flask --app app record verify`` (``verify_record``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from consultations.models import Consultation, OpinionStatus, Record, Response, Review
from consultations.opinion_rows import OpinionRow, _value, opinion_rows_select
from core.extensions import db
from localities.models import Locality

#: Bumped if the canonical serialisation ever changes shape; stored inside it.
CANONICAL_VERSION = 1


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat(timespec="seconds") if dt else None


def canonical_json(
    c: Consultation,
    *,
    conclusion: str,
    published_at: datetime,
    signer: tuple[str, str] | None = None,
) -> str:
    """The record as canonical JSON (sorted keys, no insignificant whitespace, UTF-8 text).

    Only stable facts are included: the locality by its code, not names that a later renaming
    or a user's new display name would change. Hidden opinions appear with the moderator's
    reason instead of their text, as the public reads them; withdrawn ones without text.
    What the documents came to print later (an answer's summary, the "Căn cứ" lines, the
    meetings, the signer) is included only when set, so a record published before still verifies.
    """
    opinions = []
    rows = db.session.execute(opinion_rows_select(c.id).add_columns(Response.summary))
    for *fields, summary in rows:
        r = OpinionRow(*fields)
        status = _value(r.status)
        answer = (
            None
            if r.response_id is None
            else {"outcome": _value(r.outcome), "explanation": r.explanation}
        )
        if answer is not None and summary:
            answer["summary"] = summary
        opinions.append(
            {
                "tracking_number": r.tracking_number,
                "section": r.section_position,
                "stance": _value(r.stance),
                "channel": _value(r.channel),
                "status": status,
                "body": r.body if status == OpinionStatus.published.value else None,
                "hidden_reason": r.hidden_reason if status == OpinionStatus.hidden.value else None,
                "answer": answer,
            }
        )
    reviews = db.session.execute(
        select(Review.id, Review.body, Review.created_at, Review.attachment_name)
        .where(Review.consultation_id == c.id)
        .order_by(Review.id)
    ).all()
    locality_code = db.session.scalar(select(Locality.code).where(Locality.id == c.locality_id))
    doc = {
        "version": CANONICAL_VERSION,
        "consultation": {
            "id": c.id,
            "title": c.title,
            "summary": c.summary or "",
            "kind": _value(c.kind),
            "category": _value(c.category),
            "locality": locality_code,
            "opens_at": _iso(c.opens_at),
            "closes_at": _iso(c.closes_at),
            "closed_early_at": _iso(c.closed_early_at),
            "close_reason": c.close_reason,
        },
        "sections": [
            {"position": s.position, "heading": s.heading, "text": s.text} for s in c.sections
        ],
        "opinions": opinions,
        "reviews": [
            {"id": rid, "body": body, "created_at": _iso(at), "attachment": name}
            for rid, body, at, name in reviews
        ],
        "conclusion": conclusion,
        "published_at": _iso(published_at),
    }
    doc["consultation"].update(
        (k, v) for k, v in (("legal_basis", c.legal_basis), ("meetings", c.meetings)) if v
    )
    if signer:
        doc["signer"] = {"name": signer[0], "title": signer[1]}
    vote = published_vote(c)
    if vote is not None:  # a decide consultation only: other records hash as they always did
        doc["vote_results"] = vote
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def published_vote(c: Consultation) -> dict | None:
    """The published results of a decide consultation's household vote and their own hash
    (decisions/results.py), included in its record; None for every other kind."""
    if _value(c.kind) != "decide":
        return None
    decision = getattr(c, "decision", None)  # the backref of decisions.models.Decision
    if decision is None or decision.published_at is None or not decision.content:
        return None
    return {"content": decision.content, "content_hash": decision.content_hash}


def content_hash(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass
class Verification:
    ok: bool
    stored_hash: str
    computed_hash: str
    #: Tracking numbers (or part names) whose content differs from the published record.
    differences: list[str]


def verify_record(rec: Record) -> Verification:
    """Recompute the canonical serialisation from today's data and compare it with the hash."""
    c = rec.consultation
    signer = (rec.signer_name, rec.signer_title or "") if rec.signer_name else None
    computed = canonical_json(
        c, conclusion=rec.conclusion, published_at=rec.published_at, signer=signer
    )
    computed_hash = content_hash(computed)
    ok = computed_hash == rec.content_hash and content_hash(rec.canonical) == rec.content_hash
    return Verification(
        ok, rec.content_hash, computed_hash, [] if ok else _differences(rec.canonical, computed)
    )


def _differences(stored: str, computed: str) -> list[str]:
    try:
        old, new = json.loads(stored), json.loads(computed)
    except ValueError:
        return ["canonical"]
    diffs = [k for k in sorted(set(old) | set(new)) if k != "opinions" and old.get(k) != new.get(k)]
    before = {o["tracking_number"]: o for o in old.get("opinions", [])}
    after = {o["tracking_number"]: o for o in new.get("opinions", [])}
    diffs += [n for n in sorted(set(before) | set(after)) if before.get(n) != after.get(n)]
    return diffs
