"""The record of consultation: generated from the data, published once, frozen by a hash.

``load_record`` gathers what the record shows (the page, the DOCX and the PDF all read it); the
hashed serialisation is in consultations/canonical.py, the opinions' rows in
consultations/opinion_rows.py (both re-exported here). Services here check the state
(auth/permissions.py), flush and audit; the view commits.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select

from audit.models import record as audit
from auth.models import User
from auth.permissions import is_concluded, is_open_to_publishing
from consultations import record_groups
from consultations.canonical import (  # noqa: F401 - re-exported: records/ and the tests read them here
    CANONICAL_VERSION,
    Verification,
    canonical_json,
    content_hash,
    verify_record,
)
from consultations.figures import Count, Figures, figures  # noqa: F401 - the record's figures, re-exported
from consultations.locking import lock_consultation
from consultations.models import (
    Consultation,
    Opinion,
    OpinionStatus,
    Record,
    Review,
    Section,
    Status,
)
from consultations.opinion_rows import (  # noqa: F401 - re-exported
    OpinionRow,
    _value,
    iter_opinions,
    opinion_rows,
    opinion_rows_select,
)
from core.errors import InvalidInput, StateError
from core.extensions import db
from core.textutil import clean_text
from core.timeutil import utcnow
from notifications import services as notifications

CONCLUSION_MAX = 20_000
#: The signer's name and title ("Nguyễn Văn A", "Chủ tịch"), printed in the signature block.
SIGNER_NAME_MAX = 100
SIGNER_TITLE_MAX = 100
REVIEW_MAX = 20_000


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

    def entries(self) -> Iterator[record_groups.Entry]:
        """The opinions as the record lists them: one entry per opinion, or per group of
        alike opinions sharing an answer."""
        return record_groups.entries(opinion_rows(self.consultation.id, grouped=True))

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
    if is_concluded(c):
        raise StateError(_("The record of this consultation is already published."))
    if not is_open_to_publishing(c):
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
    notifications.record_published(c, by=by)
    return rec
