"""The record of consultation, formal reviews, and the downloads of opinions.

The blueprint has no URL prefix: every path here is complete.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from auth import permissions as can
from consultations import documents, exports, labels
from consultations import record as records
from consultations.models import Consultation, Record, Review
from core.extensions import db
from core.web import (
    acting_user,
    download,
    ensure_logged_in,
    get_or_404,
    login_required,
    refuse,
    submitted,
)
from exportjobs import views as export_jobs
from infra import storage
from records import bp
from records import services as reviewing


class PublishForm(FlaskForm):
    conclusion = TextAreaField(
        _l("Conclusion"),
        validators=[
            InputRequired(message=_l("Write the conclusion of the consultation.")),
            Length(max=records.CONCLUSION_MAX),
        ],
    )
    signer_name = StringField(
        _l("Name of the signer"),
        validators=[
            InputRequired(message=_l("Write the name of the person who signs the record.")),
            Length(
                max=records.SIGNER_NAME_MAX,
                message=_l("The signer's name can be at most %(max)d characters."),
            ),
        ],
        render_kw={"maxlength": records.SIGNER_NAME_MAX, "autocomplete": "name"},
    )
    signer_title = StringField(
        _l("Title of the signer"),
        validators=[
            InputRequired(
                message=_l("Write the title of the person who signs, for example Chairman.")
            ),
            Length(
                max=records.SIGNER_TITLE_MAX,
                message=_l("The signer's title can be at most %(max)d characters."),
            ),
        ],
        render_kw={"maxlength": records.SIGNER_TITLE_MAX},
    )


class ReviewForm(FlaskForm):
    body = TextAreaField(
        _l("Formal review"),
        validators=[InputRequired(message=_l("Write the review.")), Length(max=records.REVIEW_MAX)],
    )
    attachment = FileField(
        _l("Signed review document (PDF, optional)"), render_kw={"accept": "application/pdf,.pdf"}
    )


# --- access ---------------------------------------------------------------------------------------


def _consultation(consultation_id: int) -> Consultation:
    c = get_or_404(Consultation, consultation_id)
    if not can.can_view_consultation(current_user, c):
        refuse(404)  # a draft is not known to those who may not see it
    return c


def _staff_until_concluded(c: Consultation) -> None:
    """The record and its reviews are public once concluded; before, the locality's staff only."""
    if can.can_view_record(current_user, c):
        return
    ensure_logged_in()
    refuse(
        403,
        _(
            "The record is public once it is published. Until then only the staff of the locality can see it."
        ),
    )


def _record_state(c: Consultation) -> None:
    if not can.has_record(c):
        refuse(409, _("The record of consultation is drawn up once the consultation has closed."))
    _staff_until_concluded(c)


#: The record of consultation, and the download of every opinion (the staff's, not a record).
RECORD_NAME = "Báo cáo tổng hợp ý kiến"
OPINIONS_NAME = "Ý kiến góp ý"
#: A title this long is cut in a file name (the whole title is inside the file).
NAME_TITLE_MAX = 80


def _file_name(kind: str, c: Consultation, fmt: str) -> str:
    """ "Báo cáo tổng hợp ý kiến – Quy định về chợ.docx": the document's legal name, in
    Vietnamese whatever the reader's language, as the file is filed and forwarded."""
    title = " ".join(c.title.split())
    if len(title) > NAME_TITLE_MAX:
        title = title[: NAME_TITLE_MAX - 1].rstrip() + "…"
    return f"{kind} – {title}.{fmt}"


def _document(body, c: Consultation, kind: str, fmt: str, *, public: bool):
    """The record or an export: bytes, or chunks sent as they are written (the DOCX of 100,000
    opinions is never whole in memory)."""
    return download(
        body,
        filename=_file_name(kind, c, fmt),
        content_type=exports.CONTENT_TYPES[fmt],
        public=public,
    )


# --- the record ------------------------------------------------------------------------------------


def _charts(data: records.RecordData) -> list[tuple[str, str, list[tuple[str, int]]]]:
    f = data.figures
    return [
        (
            "by-section",
            _("Opinions by article"),
            [(data.section_label(k), n) for k, n in f.by_section],
        ),
        (
            "by-stance",
            _("Opinions by stance"),
            [(str(labels.STANCES[k]), n) for k, n in f.by_stance],
        ),
        (
            "by-channel",
            _("Opinions by channel"),
            [(str(labels.CHANNELS[k]), n) for k, n in f.by_channel],
        ),
        (
            "by-locality",
            _("Opinions by place of residence"),
            [(k or _("Not stated"), n) for k, n in f.by_locality],
        ),
    ]


def _render_record(c: Consultation, form: PublishForm | None):
    data = records.load_record(c)
    if form is None and not data.published and can.can_publish_record(current_user, c):
        form = PublishForm()
    return render_template(
        "records/record.html",
        data=data,
        c=c,
        form=form,
        charts=_charts(data),
        labels=labels,
    )


@bp.get("/consultations/<int:consultation_id>/record")
def record(consultation_id: int):
    """Show the record of consultation."""
    c = _consultation(consultation_id)
    _record_state(c)
    return _render_record(c, None)


def _record_url(consultation_id: int) -> str:
    return url_for("records.record", consultation_id=consultation_id)


@bp.post("/consultations/<int:consultation_id>/record/publish")
@login_required(back_to=_record_url)
def publish(consultation_id: int):
    """Publish the record: hash it and conclude the consultation."""
    c = _consultation(consultation_id)
    if not can.can_publish_record(current_user, c):
        refuse(403)
    if not can.is_open_to_publishing(c):
        refuse(409, _("The record can be published only once, after the consultation has closed."))
    form = PublishForm()
    if submitted(
        form,
        records.publish_record,
        c,
        by=acting_user(),
        conclusion=form.conclusion.data,
        signer_name=form.signer_name.data,
        signer_title=form.signer_title.data,
    ):
        db.session.commit()
        flash(
            _(
                "The record is published. Its content hash (SHA-256) is %(hash)s.",
                hash=db.session.scalar(
                    select(Record.content_hash).where(Record.consultation_id == c.id)
                ),
            ),
            "success",
        )
        return redirect(url_for("records.record", consultation_id=c.id))
    return _render_record(c, form), 400


@bp.get("/consultations/<int:consultation_id>/record.<any(docx, pdf):fmt>")
def record_download(consultation_id: int, fmt: str):
    """Download the record as DOCX or PDF."""
    c = _consultation(consultation_id)
    _record_state(c)
    data = records.load_record(c)
    if fmt == "docx":
        # Laid out now, with this request's session; the rows follow in a session of their own.
        body = documents.docx_chunks(data, engine=db.engine)
    else:
        body = documents.record_pdf(data)
    return _document(body, c, RECORD_NAME, fmt, public=data.published)


# --- exports of every opinion --------------------------------------------------------------------


def _streamed(chunks: Callable[..., Iterator[str]], consultation_id: int) -> Iterator[bytes]:
    """Produce ``chunks`` with a database session of its own, opened when the server starts
    sending: the rows are read batch by batch after the view has returned, and closing the
    response early (or never reading it) just closes that session."""
    engine = db.engine

    def generate() -> Iterator[bytes]:
        with Session(engine) as session:
            for chunk in chunks(consultation_id, session=session):
                yield chunk.encode()

    return generate()


@bp.get("/consultations/<int:consultation_id>/export.<any(csv, xlsx, json, docx, pdf):fmt>")
@login_required
def export(consultation_id: int, fmt: str):
    """Download every opinion of a consultation, hidden and withdrawn ones too."""
    c = get_or_404(Consultation, consultation_id)
    if not can.can_view_consultation(current_user, c):
        refuse(404)  # a draft is hidden as on its public page
    if not can.can_export(current_user, c):
        refuse(403)
    if exports.runs_as_job(c, fmt):
        # Too heavy for a web worker: made by a job into storage, a progress page meanwhile.
        return export_jobs.respond(c, fmt, filename=_file_name(OPINIONS_NAME, c, fmt))
    if fmt in ("csv", "json"):
        chunks = exports.csv_chunks if fmt == "csv" else exports.json_chunks
        return _document(_streamed(chunks, c.id), c, OPINIONS_NAME, fmt, public=False)
    if fmt == "xlsx":
        path = exports.xlsx_tempfile(c.id)
        response = _document(exports.file_chunks(path), c, OPINIONS_NAME, fmt, public=False)
        response.headers["Content-Length"] = str(path.stat().st_size)
        response.call_on_close(lambda: path.unlink(missing_ok=True))  # in case it is never read
        return response
    data = records.load_record(c)
    if fmt == "docx":
        body = documents.docx_chunks(data, internal=True, engine=db.engine)
    else:
        body = documents.record_pdf(data, internal=True)
    return _document(body, c, OPINIONS_NAME, fmt, public=False)


# --- formal reviews ---------------------------------------------------------------------------------


@bp.route("/consultations/<int:consultation_id>/reviews", methods=["GET", "POST"])
@login_required
def reviews(consultation_id: int):
    """List the formal reviews and let a reviewer add one."""
    c = _consultation(consultation_id)
    may_review = can.can_review(current_user, c)
    if not (may_review or can.can_export(current_user, c)):
        refuse(403)
    form = ReviewForm()
    status = 200
    if request.method == "POST":
        if not may_review:
            refuse(403)
        if not can.is_open_to_reviews(c):
            refuse(
                409,
                _("A formal review can be added only while the consultation is open or closed."),
            )
        if submitted(
            form,
            reviewing.add_review,
            c,
            by=acting_user(),
            body=form.body.data,
            attachment=form.attachment.data,
        ):
            db.session.commit()
            flash(_("Your formal review has been added to the record."), "success")
            if can.has_record(c):
                return redirect(url_for("records.record", consultation_id=c.id) + "#reviews")
            return redirect(url_for("records.reviews", consultation_id=c.id))
        status = 400
    items = db.session.scalars(
        select(Review).where(Review.consultation_id == c.id).order_by(Review.id)
    ).all()
    return render_template("records/reviews.html", c=c, form=form, reviews=items), status


@bp.get("/reviews/<int:review_id>/attachment")
def review_attachment(review_id: int):
    """Download the document attached to a formal review."""
    review = get_or_404(Review, review_id)
    c = _consultation(review.consultation_id)
    _staff_until_concluded(c)
    if not review.attachment_stored:
        refuse(404)
    name = review.attachment_name or "Phản biện.pdf"
    if not name.lower().endswith(".pdf"):
        name += ".pdf"
    # Stored by infra.storage under a random name, as reviews always were: old files read too.
    return storage.send(review.attachment_stored, filename=name, content_type="application/pdf")
