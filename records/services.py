"""Formal reviews (phản biện) by the Fatherland Front: written while the consultation takes them,
with an optional signed PDF that ``infra.storage`` checks, writes and hashes like every other
upload. Services here check, flush and audit; the view commits."""

from __future__ import annotations

from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from audit.models import record as audit
from auth.models import User
from auth.permissions import is_concluded, is_open_to_reviews
from consultations.models import Consultation, Review
from consultations.record import REVIEW_MAX
from core.errors import InvalidInput, StateError
from core.extensions import db
from core.textutil import clean_text
from infra import storage

#: The signed review is a PDF, whatever the reviewer's scanner offers.
REVIEW_FILE_KINDS = frozenset({"pdf"})


def add_review(
    c: Consultation, *, by: User, body: str, attachment: FileStorage | None = None
) -> Review:
    """Attach a formal review to the consultation's record, with the signed PDF if one is sent."""
    if is_concluded(c):
        raise StateError(
            _("The record of this consultation is published and can no longer change.")
        )
    if not is_open_to_reviews(c):
        raise StateError(_("A review can be added only while the consultation is open or closed."))
    body = clean_text(body)
    if not body:
        raise InvalidInput(_("Write the review."), "body")
    if len(body) > REVIEW_MAX:
        raise InvalidInput(_("A review can be at most %(n)d characters.", n=REVIEW_MAX), "body")
    stored = None
    if attachment is not None and attachment.filename:
        try:
            stored = storage.save(attachment, allowed=REVIEW_FILE_KINDS)
        except storage.UploadError as exc:
            raise InvalidInput(exc.message, "attachment") from None
    try:
        review = Review(
            consultation_id=c.id,
            reviewer_id=by.id,
            body=body,
            # The name as the reviewer gave it ("Phản biện số 1/2026.pdf"), shown and downloaded.
            attachment_name=(clean_text(attachment.filename)[:255] or stored.filename)
            if stored
            else None,
            attachment_stored=stored.stored_name if stored else None,
        )
        db.session.add(review)
        db.session.flush()
        # The review has no column for the hash: the append-only trail holds it.
        audit(
            "review.create",
            review,
            by=by,
            locality_id=c.locality_id,
            consultation_id=c.id,
            attachment=review.attachment_name,
            **({"sha256": stored.sha256} if stored else {}),
        )
    except Exception:
        if stored:
            storage.delete(stored.stored_name)  # no file without its review
        raise
    return review
