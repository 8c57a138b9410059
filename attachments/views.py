"""Files attached to a consultation's draft (maps, plans, the full decision text).

Officials add them while the consultation is a draft or open; anyone who can see the
consultation downloads them. Types are checked by content (``infra.storage``), never by name.
"""

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from attachments import bp
from audit.models import record as audit
from auth import permissions
from consultations.models import Attachment, Consultation
from core.extensions import db
from core.web import acting_user, get_or_404, login_required, refuse
from infra.storage import UploadError, save, send


def _consultation_url(consultation_id: int) -> str:
    return url_for("consultations.show", consultation_id=consultation_id)


@bp.post("/consultations/<int:consultation_id>/attachments")
@login_required(back_to=_consultation_url)
def upload(consultation_id: int):
    """Attach a file to a consultation."""
    c = get_or_404(Consultation, consultation_id)
    if not permissions.can_view_consultation(current_user, c):
        refuse(404)
    if not permissions.can_edit_consultation(current_user, c):
        refuse(403)
    if not permissions.is_open_to_attachments(c):
        refuse(409, _("Files can be attached only while the consultation is a draft or open."))
    target = url_for("consultations.show", consultation_id=c.id) + "#attachments"
    try:
        stored = save(request.files.get("file"))
    except UploadError as exc:
        flash(exc.message, "error")
        return redirect(target), 303
    attachment = Attachment(
        consultation=c,
        filename=stored.filename,
        content_type=stored.content_type,
        size=stored.size,
        stored_name=stored.stored_name,
        sha256=stored.sha256,
        uploaded_by_id=current_user.id,
    )
    db.session.add(attachment)
    db.session.flush()
    audit(
        "attachment.add",
        attachment,
        by=acting_user(),
        locality_id=c.locality_id,
        consultation_id=c.id,
        filename=stored.filename,
        sha256=stored.sha256,
    )
    db.session.commit()
    flash(_("The file %(name)s was attached.", name=stored.filename), "success")
    return redirect(target)


@bp.get("/attachments/<int:attachment_id>")
def download(attachment_id: int):
    """Download an attached file."""
    attachment = get_or_404(Attachment, attachment_id)
    if not permissions.can_view_consultation(current_user, attachment.consultation):
        refuse(404)
    return send(
        attachment.stored_name, filename=attachment.filename, content_type=attachment.content_type
    )
