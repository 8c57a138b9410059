"""Follow and unfollow buttons, /me/following, /me/notifications and its settings, and the
one-click unsubscribe of the mail (the only view here that needs no login and no CSRF token:
mail clients post to it, RFC 8058)."""

from __future__ import annotations

import functools

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import selectinload

from auth import permissions as can
from auth.models import User
from consultations.views.common import show_url, visible
from core import fragments
from core.errors import StateError
from core.extensions import csrf, db
from core.pagination import paginate
from core.timeutil import utcnow
from core.web import acting_user, csrf_token, login_required, page_arg, refuse, safe_next
from localities.models import get_by_code
from notifications import bp, mailing, pagestate, services
from notifications.forms import TYPE_LABELS, SettingsForm
from notifications.models import Frequency, Notification, NotificationType

PER_PAGE = 20


@bp.app_template_global()
def unread_notifications() -> int:
    """The header's count, only ever asked for a logged-in visitor: read with the person
    (pagestate.unread_of_user), else one COUNT."""
    if not current_user.is_authenticated:
        return 0
    held = current_user.read_with_session.get("unread")
    if held is not None:
        return int(held)
    return db.session.scalar(_unread_stmt(), {"user_id": current_user.id}) or 0


@functools.cache
def _unread_stmt():
    # Built once: it is on every page a logged-in visitor opens.
    return (
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == bindparam("user_id"), Notification.read_at.is_(None))
    )


@bp.app_template_global()
def follow_block(c) -> Markup:
    """The follow buttons and share block of a consultation page, kept per consultation,
    language and follow state (core/fragments.py); the CSRF token is put in on each request."""
    public = can.is_public(c)
    follows = None
    if public and current_user.is_authenticated and can.can_follow(current_user, c):
        follows = follow_state(c)
    key = ("follow", c.id, c.locality.code, c.locality.name, str(get_locale()), public, follows)

    def render() -> fragments.Part:
        html = render_template(
            "notifications/_consultation.html",
            c=c,
            public=public,
            follows=follows,
            csrf_token=lambda: fragments.hole("csrf"),
        )
        return fragments.Part(html)

    part = fragments.shared(key, render)
    return part.fill({"csrf": csrf_token()} if follows else {})


@bp.app_template_global()
def follow_state(c) -> tuple[bool, bool]:
    """(follows the consultation, follows its locality) for the logged-in visitor."""
    if not current_user.is_authenticated:
        return False, False
    return pagestate.held_follow_state(current_user, c) or services.follow_state(current_user, c)


@bp.app_template_global()
def follows_locality(locality) -> bool:
    """Whether the logged-in visitor follows ``locality`` (the list of its consultations)."""
    return current_user.is_authenticated and services.follows_locality(current_user, locality)


# --- following -------------------------------------------------------------------------------


def _followable(consultation_id: int):
    c = visible(consultation_id, attachments=False)
    if not can.is_public(c):
        raise StateError(_("A consultation can be followed once it is open."))
    if not can.can_follow(current_user, c):
        refuse(403)
    return c


def _back(default: str):
    return redirect(safe_next(default))


@bp.post("/consultations/<int:consultation_id>/follow")
@login_required(back_to=show_url)
def follow_consultation(consultation_id: int):
    """Follow a consultation."""
    c = _followable(consultation_id)
    services.follow(acting_user(), consultation=c)
    db.session.commit()
    flash(_("You follow this consultation. You will be told of its news."), "success")
    return _back(show_url(c.id))


@bp.post("/consultations/<int:consultation_id>/unfollow")
@login_required(back_to=show_url)
def unfollow_consultation(consultation_id: int):
    """Stop following a consultation."""
    c = visible(consultation_id, attachments=False)
    services.unfollow(acting_user(), consultation=c)
    db.session.commit()
    flash(_("You no longer follow this consultation."), "success")
    return _back(show_url(c.id))


def _locality(code: str):
    locality = get_by_code(code[:32])
    if locality is None:
        refuse(404)
    if not can.can_follow_locality(current_user, locality):
        refuse(403)
    return locality


def _locality_url(code: str) -> str:
    return url_for("consultations.index", locality=code)


@bp.post("/localities/<code>/follow")
@login_required(back_to=_locality_url)
def follow_locality(code: str):
    """Follow a locality: be told of the consultations opened there or below."""
    locality = _locality(code)
    services.follow(acting_user(), locality=locality.current())
    db.session.commit()
    flash(
        _(
            "You follow %(place)s: you will be told of new consultations there.",
            place=locality.current().name,
        ),
        "success",
    )
    return _back(_locality_url(locality.current().code))


@bp.post("/localities/<code>/unfollow")
@login_required(back_to=_locality_url)
def unfollow_locality(code: str):
    """Stop following a locality."""
    locality = _locality(code)
    services.unfollow(acting_user(), locality=locality)
    services.unfollow(acting_user(), locality=locality.current())
    db.session.commit()
    flash(_("You no longer follow %(place)s.", place=locality.current().name), "success")
    return _back(_locality_url(locality.current().code))


@bp.get("/me/following")
@login_required
def following():
    """List what I follow, each with a button to stop."""
    return render_template("notifications/following.html", follows=services.following(current_user))


# --- notifications ---------------------------------------------------------------------------


@bp.get("/me/notifications")
@login_required
def index():
    """List my notifications, newest first; those shown are then marked read."""
    stmt = (
        select(Notification)
        .where(Notification.user_id == current_user.id)
        .options(selectinload(Notification.consultation), selectinload(Notification.opinion))
        .order_by(Notification.id.desc())
    )
    page = paginate(stmt, page_arg(), PER_PAGE)
    unread = {n.id for n in page.items if n.read_at is None}
    html = render_template("notifications/index.html", page=page, unread=unread)
    if unread:
        db.session.execute(
            update(Notification)
            .where(Notification.id.in_(unread), Notification.read_at.is_(None))
            .values(read_at=utcnow())
        )
        db.session.commit()
    return html


@bp.post("/me/notifications/read")
@login_required(back_to=lambda **_: url_for("notifications.index"))
def mark_all_read():
    """Mark every notification read."""
    db.session.execute(
        update(Notification)
        .where(Notification.user_id == current_user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    db.session.commit()
    return redirect(url_for("notifications.index"))


@bp.route("/me/notifications/settings", methods=["GET", "POST"])
@login_required
def settings():
    """Choose, per type, to be told at once, once a day, once a week or never."""
    user = acting_user()
    form = SettingsForm()
    if request.method == "GET":
        for type_, frequency in services.settings([user.id])[user.id].items():
            getattr(form, type_).data = str(frequency)
    elif form.validate_on_submit():
        for type_ in TYPE_LABELS:
            services.set_frequency(user, type_, getattr(form, str(type_)).data)
        db.session.commit()
        flash(_("Your notification choices are saved."), "success")
        return redirect(url_for("notifications.settings"))
    status = 400 if form.errors else 200
    return render_template("notifications/settings.html", form=form), status


# --- unsubscribing from a mail ---------------------------------------------------------------


def _subscription(token: str) -> tuple[User, list[str], str]:
    found = mailing.read_token(token)
    user = db.session.get(User, found[0]) if found else None
    if found is None or user is None or not user.is_active:
        refuse(404, _("This link is not valid."))
    what = found[1]
    if what.startswith(mailing.DIGEST_PREFIX):
        frequency = what.removeprefix(mailing.DIGEST_PREFIX)
        if frequency not in (Frequency.daily, Frequency.weekly):
            refuse(404, _("This link is not valid."))
        chosen = services.settings([user.id])[user.id]
        types = [t for t, f in chosen.items() if f == frequency]
        return user, types, frequency
    if what not in NotificationType.__members__:
        refuse(404, _("This link is not valid."))
    return user, [what], ""


@csrf.exempt
@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):
    """Stop the e-mail of one type of notification (the link of every such mail), no login."""
    user, types, digest = _subscription(token)
    labels = [TYPE_LABELS[NotificationType(t)] for t in types]
    if request.method == "POST":
        for type_ in types:
            services.set_frequency(user, type_, Frequency.off)
        db.session.commit()
        return render_template(
            "notifications/unsubscribe.html", done=True, labels=labels, digest=digest
        )
    return render_template(
        "notifications/unsubscribe.html", done=False, labels=labels, digest=digest, token=token
    )
