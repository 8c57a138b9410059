"""``/admin/mail``: the messages that could not be sent, why, and "send again" (admins only)."""

from __future__ import annotations

from datetime import timedelta

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import and_, or_, select

from auth import permissions
from core.extensions import db
from core.pagination import paginate
from core.timeutil import utcnow
from core.web import get_or_404, login_required, page_arg, refuse
from outbox import bp
from outbox.models import OutboxMessage, OutboxStatus
from outbox.sending import make_due

PER_PAGE = 50
#: A message still pending after this long is listed with the failed ones.
LONG_WAIT = timedelta(minutes=15)


def _ensure_admin() -> None:
    if not permissions.can_manage_mail(current_user):
        refuse(403)


def _listed():
    """Failed messages, and those that failed at least once or have waited long."""
    m = OutboxMessage
    waiting = and_(
        m.status.in_([OutboxStatus.pending.value, OutboxStatus.sending.value]),
        or_(m.attempts > 0, m.created_at < utcnow() - LONG_WAIT),
    )
    return select(m).where(or_(m.status == OutboxStatus.failed.value, waiting))


@bp.get("/admin/mail")
@login_required
def index():
    """List the mail that failed or has waited long, with the reason."""
    _ensure_admin()
    stmt = _listed().order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    pagination = paginate(stmt, page_arg(), PER_PAGE)
    return render_template("outbox/index.html", pagination=pagination, form=FlaskForm())


@bp.post("/admin/mail/<int:message_id>/send")
@login_required(back_to=lambda **_kw: url_for("outbox.index"))
def send_again(message_id: int):
    """Send a failed or waiting message again now (by the worker)."""
    _ensure_admin()
    message = get_or_404(OutboxMessage, message_id)
    if not FlaskForm().validate_on_submit():
        refuse(400)
    if message.status == OutboxStatus.sent.value:
        flash(_("This message was sent already."), "info")
    elif make_due(db.session, [message.id]):
        db.session.commit()
        if message.recipient:
            flash(
                _("The message to %(to)s will be sent again now.", to=message.recipient),
                "success",
            )
        else:  # a fan-out row: the notifications of one event, prepared by the worker
            flash(_("The notifications will be prepared again now."), "success")
    else:
        flash(_("This message is being sent now."), "info")
    return redirect(url_for("outbox.index"))
