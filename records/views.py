"""The record of consultation, formal reviews, and the downloads of opinions.

The blueprint has no URL prefix: every path here is complete.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from auth import permissions as can
from consultations import exports, labels
from consultations import record as records
from consultations.models import Consultation, Review, Status
from consultations.services import InvalidInput, StateError
from core.extensions import db, login_manager
from core.textutil import safe_filename
from core.web import get_or_404, refuse
from records import bp


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


def _require_login() -> None:
    if not current_user.is_authenticated:
        abort(login_manager.unauthorized())


def _staff_until_concluded(c: Consultation) -> None:
    """The record and its reviews are public once concluded; before, the locality's staff only."""
    if c.status == Status.concluded:
        return
    _require_login()
    if not can.can_export(current_user, c):
        refuse(
            403,
            _(
                "The record is public once it is published. Until then only the staff of the locality can see it."
            ),
        )


def _record_state(c: Consultation) -> None:
    if c.status in (Status.draft, Status.open):
        refuse(409, _("The record of consultation is drawn up once the consultation has closed."))
    _staff_until_concluded(c)


def _documents():
    # python-docx, lxml and WeasyPrint weigh tens of MB: loaded by the first document asked for.
    from consultations import documents

    return documents


def _download_stream(chunks: Iterator[bytes], fmt: str, stem: str, *, public: bool):
    """A document sent as it is written (the DOCX of 100,000 opinions is never whole in memory)."""
    name = safe_filename(stem, default="gop-y")[:90] + "." + fmt
    response = Response(chunks, content_type=exports.CONTENT_TYPES[fmt])
    response.headers.set("Content-Disposition", "attachment", filename=name)
    response.headers["Cache-Control"] = "public, max-age=300" if public else "private, no-store"
    return response


def _download(content: bytes, fmt: str, stem: str, *, public: bool):
    name = safe_filename(stem, default="gop-y")[:90] + "." + fmt
    response = send_file(
        io.BytesIO(content),
        mimetype=exports.MIMETYPES[fmt],
        as_attachment=True,
        download_name=name,
    )
    response.headers["Cache-Control"] = "public, max-age=300" if public else "private, no-store"
    return response


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
        can_add_review=c.status == Status.closed and can.can_review(current_user, c),
    )


@bp.get("/consultations/<int:consultation_id>/record")
def record(consultation_id: int):
    """Show the record of consultation."""
    c = _consultation(consultation_id)
    _record_state(c)
    return _render_record(c, None)


@bp.post("/consultations/<int:consultation_id>/record/publish")
@login_required
def publish(consultation_id: int):
    """Publish the record: hash it and conclude the consultation."""
    c = _consultation(consultation_id)
    if not can.can_publish_record(current_user, c):
        refuse(403)
    if c.status != Status.closed:
        refuse(409, _("The record can be published only once, after the consultation has closed."))
    form = PublishForm()
    if form.validate_on_submit():
        try:
            rec = records.publish_record(
                c,
                by=current_user._get_current_object(),
                conclusion=form.conclusion.data,
                signer_name=form.signer_name.data,
                signer_title=form.signer_title.data,
            )
        except StateError as e:
            db.session.rollback()
            refuse(409, e.message)
        except InvalidInput as e:
            db.session.rollback()
            target = (
                getattr(form, e.field)
                if e.field in ("signer_name", "signer_title")
                else form.conclusion
            )
            target.errors = [*target.errors, e.message]
        else:
            db.session.commit()
            flash(
                _(
                    "The record is published. Its content hash (SHA-256) is %(hash)s.",
                    hash=rec.content_hash,
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
    stem = f"bao-cao-lay-y-kien-{c.id}-{c.title}"
    if fmt == "docx":
        # Laid out now, with this request's session; the rows follow in a session of their own.
        chunks = _documents().docx_chunks(data, engine=db.engine)
        return _download_stream(chunks, fmt, stem, public=data.published)
    return _download(_documents().record_pdf(data), fmt, stem, public=data.published)


# --- exports of every opinion --------------------------------------------------------------------


def _streamed(chunks: Callable[..., Iterator[str]], consultation_id: int) -> Iterator[str]:
    """Produce ``chunks`` with a database session of its own, opened when the server starts
    sending: the rows are read batch by batch after the view has returned, and closing the
    response early (or never reading it) just closes that session."""
    engine = db.engine

    def generate() -> Iterator[str]:
        with Session(engine) as session:
            yield from chunks(consultation_id, session=session)

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
    stem = f"y-kien-{c.id}-{c.title}"
    if fmt in ("csv", "json"):
        chunks = exports.csv_chunks if fmt == "csv" else exports.json_chunks
        name = safe_filename(stem)[:90] + "." + fmt
        return Response(
            _streamed(chunks, c.id),
            content_type=exports.CONTENT_TYPES[fmt],
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "private, no-store",
            },
        )
    if fmt == "xlsx":
        path = exports.xlsx_tempfile(c.id)
        response = Response(
            exports.file_chunks(path),
            content_type=exports.CONTENT_TYPES[fmt],
            headers={
                "Content-Disposition": f'attachment; filename="{safe_filename(stem)[:90]}.xlsx"',
                "Content-Length": str(path.stat().st_size),
                "Cache-Control": "private, no-store",
            },
        )
        response.call_on_close(lambda: path.unlink(missing_ok=True))  # in case it is never read
        return response
    data = records.load_record(c)
    if fmt == "docx":
        chunks = _documents().docx_chunks(data, internal=True, engine=db.engine)
        return _download_stream(chunks, fmt, stem, public=False)
    return _download(_documents().record_pdf(data, internal=True), fmt, stem, public=False)


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
        if c.status not in (Status.open, Status.closed):
            refuse(
                409,
                _("A formal review can be added only while the consultation is open or closed."),
            )
        if form.validate_on_submit():
            upload = form.attachment.data
            filename = content = None
            if upload is not None and upload.filename:
                filename = upload.filename
                content = upload.stream.read(int(current_app.config["UPLOAD_MAX_BYTES"]) + 1)
            try:
                records.add_review(
                    c,
                    by=current_user._get_current_object(),
                    body=form.body.data,
                    filename=filename,
                    data=content,
                )
            except StateError as e:
                db.session.rollback()
                refuse(409, e.message)
            except InvalidInput as e:
                db.session.rollback()
                target = form.attachment if e.field == "attachment" else form.body
                target.errors = [*target.errors, e.message]
            else:
                db.session.commit()
                flash(_("Your formal review has been added to the record."), "success")
                if c.status == Status.closed:
                    return redirect(url_for("records.record", consultation_id=c.id) + "#reviews")
                return redirect(url_for("records.reviews", consultation_id=c.id))
        status = 400
    items = db.session.scalars(
        select(Review).where(Review.consultation_id == c.id).order_by(Review.id)
    ).all()
    can_add = may_review and c.status in (Status.open, Status.closed)
    return render_template(
        "records/reviews.html", c=c, form=form, reviews=items, can_add=can_add
    ), status


@bp.get("/reviews/<int:review_id>/attachment")
def review_attachment(review_id: int):
    """Download the document attached to a formal review."""
    review = get_or_404(Review, review_id)
    c = _consultation(review.consultation_id)
    _staff_until_concluded(c)
    path = records.review_attachment_path(review)
    if path is None:
        refuse(404)
    stem = (review.attachment_name or "review").removesuffix(".pdf").removesuffix(".PDF")
    # Read at once (at most UPLOAD_MAX_BYTES): no file handle outlives the request.
    response = send_file(
        io.BytesIO(path.read_bytes()),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=safe_filename(stem, default="phan-bien")[:90] + ".pdf",
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
