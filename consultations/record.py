"""The record of consultation: generated from the data, published once, frozen by a hash.

``load_record`` gathers what the record shows (the page, the DOCX and the PDF all read it);
``canonical_json`` is the exact serialisation that is hashed when the record is published and
recomputed by ``flask --app app record verify``. Services here check, flush and audit; the
view commits.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections import namedtuple
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import String, func, select, type_coerce
from sqlalchemy.orm import Session, aliased

from audit.models import record as audit
from auth.models import User
from consultations.figures import Count, Figures, figures  # noqa: F401 - the record's figures, re-exported
from consultations.locking import lock_consultation
from consultations.models import (
    Consultation,
    Opinion,
    OpinionStatus,
    Record,
    Response,
    Review,
    Section,
    Status,
)
from consultations.services import InvalidInput, StateError
from core.extensions import db
from core.textutil import clean_text
from core.timeutil import utcnow
from localities.models import Locality

#: Bumped if the canonical serialisation ever changes shape; stored inside it.
CANONICAL_VERSION = 1
CONCLUSION_MAX = 20_000
#: The signer's name and title ("Nguyễn Văn A", "Chủ tịch"), printed in the signature block.
SIGNER_NAME_MAX = 100
SIGNER_TITLE_MAX = 100
REVIEW_MAX = 20_000
PDF_MAGIC = b"%PDF-"

OpinionRow = namedtuple(
    "OpinionRow",
    "id tracking_number created_at section_position section_heading stance channel status body "
    "hidden_reason display_name contributor_name locality_code response_id outcome explanation "
    "edited_at withdrawn_at",
)


def _value(v: Any) -> Any:
    return getattr(v, "value", v)


def opinion_rows_select(consultation_id: int, *, by_section: bool = False, raw: bool = False):
    """Plain columns of every opinion of a consultation (never ORM objects), with its article,
    public name, locality and answer. Ordered by id, or by article then id.

    ``raw``: datetimes and enums as the driver gives them (naive UTC, or on SQLite its text;
    the enums' values), skipping SQLAlchemy's conversions: two thirds of the time of reading
    100,000 rows on SQLite went there (bench/)."""
    author = aliased(User)
    loc = aliased(Locality)

    def plain(column, name):
        return type_coerce(column, String).label(name) if raw else column

    stmt = (
        select(
            Opinion.id,
            Opinion.tracking_number,
            plain(Opinion.created_at, "created_at"),
            Section.position.label("section_position"),
            Section.heading.label("section_heading"),
            plain(Opinion.stance, "stance"),
            plain(Opinion.channel, "channel"),
            plain(Opinion.status, "status"),
            Opinion.body,
            Opinion.hidden_reason,
            author.display_name,
            Opinion.contributor_name,
            loc.code.label("locality_code"),
            Response.id.label("response_id"),
            plain(Response.outcome, "outcome"),
            Response.explanation,
            plain(Opinion.edited_at, "edited_at"),
            plain(Opinion.withdrawn_at, "withdrawn_at"),
        )
        .select_from(Opinion)
        .outerjoin(Section, Opinion.section_id == Section.id)
        .outerjoin(author, Opinion.author_id == author.id)
        .outerjoin(loc, Opinion.locality_id == loc.id)
        .outerjoin(Response, Opinion.response_id == Response.id)
        .where(Opinion.consultation_id == consultation_id)
    )
    if by_section:  # the whole draft first, then article by article
        return stmt.order_by(Section.position.is_not(None), Section.position, Opinion.id)
    return stmt.order_by(Opinion.id)


def opinion_rows(
    consultation_id: int,
    *,
    by_section: bool = False,
    session: Session | None = None,
    raw: bool = False,
):
    """The rows of :func:`opinion_rows_select` (plain tuples), fetched in batches of 1,000: a
    server-side cursor on PostgreSQL, so memory stays bounded. ``session`` lets a streamed
    download read outside the request's own session."""
    # Executed on the connection (Core): plain rows need none of the ORM's loading machinery,
    # which cost a fifth of a 100,000-row export (bench/).
    connection = (session or db.session).connection()
    return connection.execute(
        opinion_rows_select(consultation_id, by_section=by_section, raw=raw).execution_options(
            yield_per=1000
        )
    )


def iter_opinions(
    consultation_id: int, *, by_section: bool = False, session: Session | None = None
) -> Iterator[OpinionRow]:
    """Stream the opinions as :class:`OpinionRow` (see :func:`opinion_rows`)."""
    for row in opinion_rows(consultation_id, by_section=by_section, session=session):
        yield OpinionRow(*row)


# --- the record as shown ----------------------------------------------------------------------


@dataclass
class RecordData:
    consultation: Consultation
    sections: list[Section]
    figures: Figures
    reviews: list[Review]
    record: Record | None

    @property
    def published(self) -> bool:
        return self.record is not None

    def opinions(self, *, by_section: bool = True) -> Iterator[OpinionRow]:
        return iter_opinions(self.consultation.id, by_section=by_section)

    def section_label(self, key: int | None, *, vietnamese: bool = False) -> str:
        if key is None:
            return "Toàn bộ dự thảo" if vietnamese else _("Whole draft")
        for s in self.sections:
            if s.position == key:
                return s.heading or ("Phần mở đầu" if vietnamese else _("Preamble"))
        return str(key)


def load_record(c: Consultation) -> RecordData:
    """What the record shows, in a fixed number of queries whatever the number of opinions."""
    reviews = list(
        db.session.scalars(select(Review).where(Review.consultation_id == c.id).order_by(Review.id))
    )
    rec = db.session.scalar(select(Record).where(Record.consultation_id == c.id))
    return RecordData(
        consultation=c, sections=list(c.sections), figures=figures(c), reviews=reviews, record=rec
    )


# --- canonical serialisation and hash -----------------------------------------------------------


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
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


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


# --- services ---------------------------------------------------------------------------------


def unanswered_count(consultation_id: int) -> int:
    """Opinions that still need an answer: every one but the withdrawn needs one."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Opinion)
            .where(
                Opinion.consultation_id == consultation_id,
                Opinion.status != OpinionStatus.withdrawn,
                Opinion.response_id.is_(None),
            )
        )
        or 0
    )


def _signer(name: str, title: str) -> tuple[str, str]:
    name, title = " ".join(clean_text(name).split()), " ".join(clean_text(title).split())
    if not name:
        raise InvalidInput(_("Write the name of the person who signs the record."), "signer_name")
    if len(name) > SIGNER_NAME_MAX:
        raise InvalidInput(
            _("The signer's name can be at most %(n)d characters.", n=SIGNER_NAME_MAX),
            "signer_name",
        )
    if not title:
        raise InvalidInput(
            _("Write the title of the person who signs, for example Chairman."), "signer_title"
        )
    if len(title) > SIGNER_TITLE_MAX:
        raise InvalidInput(
            _("The signer's title can be at most %(n)d characters.", n=SIGNER_TITLE_MAX),
            "signer_title",
        )
    return name, title


def publish_record(
    c: Consultation, *, by: User, conclusion: str, signer_name: str, signer_title: str
) -> Record:
    """Publish the record of a closed consultation: hash it, conclude and freeze it; the
    signer (name and title) is printed in the signature block and hashed with the rest."""
    # Two publishes, or a publish and an answer, never overlap (consultations/locking.py).
    lock_consultation(c.id)
    if c.status == Status.concluded:
        raise StateError(_("The record of this consultation is already published."))
    if c.status != Status.closed:
        raise StateError(_("The record can be published only after the consultation has closed."))
    conclusion = clean_text(conclusion)
    if not conclusion:
        raise InvalidInput(_("Write the conclusion of the consultation."), "conclusion")
    if len(conclusion) > CONCLUSION_MAX:
        raise InvalidInput(
            _("The conclusion can be at most %(n)d characters.", n=CONCLUSION_MAX), "conclusion"
        )
    signer = _signer(signer_name, signer_title)
    missing = unanswered_count(c.id)
    if missing:
        raise InvalidInput(
            ngettext(
                "%(num)d opinion has no answer yet. Every opinion must be answered before the record is published.",
                "%(num)d opinions have no answer yet. Every opinion must be answered before the record is published.",
                missing,
            ),
            "conclusion",
        )
    # Seconds only: the timestamp is part of the hashed text and must read back identically.
    now = utcnow().replace(microsecond=0)
    canonical = canonical_json(c, conclusion=conclusion, published_at=now, signer=signer)
    rec = Record(
        consultation_id=c.id,
        conclusion=conclusion,
        signer_name=signer[0],
        signer_title=signer[1],
        published_at=now,
        published_by_id=by.id,
        canonical=canonical,
        content_hash=content_hash(canonical),
    )
    db.session.add(rec)
    c.stored_status = Status.concluded
    c.concluded_at = now
    db.session.flush()
    audit(
        "record.publish",
        rec,
        by=by,
        locality_id=c.locality_id,
        consultation_id=c.id,
        content_hash=rec.content_hash,
    )
    return rec


def add_review(
    c: Consultation, *, by: User, body: str, filename: str | None = None, data: bytes | None = None
) -> Review:
    """Attach a formal review (phản biện) while the consultation is open or closed.

    ``data`` is an optional PDF, checked by its content, stored under a random name."""
    if c.status == Status.concluded:
        raise StateError(
            _("The record of this consultation is published and can no longer change.")
        )
    if c.status not in (Status.open, Status.closed):
        raise StateError(_("A review can be added only while the consultation is open or closed."))
    body = clean_text(body)
    if not body:
        raise InvalidInput(_("Write the review."), "body")
    if len(body) > REVIEW_MAX:
        raise InvalidInput(_("A review can be at most %(n)d characters.", n=REVIEW_MAX), "body")
    stored = None
    if data:
        limit = int(current_app.config["UPLOAD_MAX_BYTES"])
        if len(data) > limit:
            raise InvalidInput(
                _("The file is too large: at most %(mb)d MB.", mb=limit // (1024 * 1024)),
                "attachment",
            )
        if not data.startswith(PDF_MAGIC):
            raise InvalidInput(_("Only PDF files can be attached."), "attachment")
        folder = Path(current_app.config["UPLOAD_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        stored = secrets.token_hex(16) + ".pdf"
        (folder / stored).write_bytes(data)
    review = Review(
        consultation_id=c.id,
        reviewer_id=by.id,
        body=body,
        attachment_name=(clean_text(filename)[:255] or "review.pdf") if stored else None,
        attachment_stored=stored,
    )
    db.session.add(review)
    db.session.flush()
    audit(
        "review.create",
        review,
        by=by,
        locality_id=c.locality_id,
        consultation_id=c.id,
        attachment=review.attachment_name,
    )
    return review


def review_attachment_path(review: Review) -> Path | None:
    if not review.attachment_stored:
        return None
    path = Path(current_app.config["UPLOAD_DIR"]) / review.attachment_stored
    return path if path.is_file() else None
