"""Server-side login sessions: logging out ends a session for good, even if its cookie was copied.

The session cookie carries ``<user id>:<key>``; the database keeps the SHA-256 of each key.
Logging out deletes the row; a password change or reset deletes them all (the browser that
made the change gets a new one), so does deleting the account; a session older than
``LOGIN_SESSION_DAYS`` (30) is refused.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta

from flask import current_app, g, request, session
from flask_login import login_user, logout_user
from sqlalchemy import ColumnElement, bindparam, delete, select
from sqlalchemy.orm import joinedload

from auth.models import LoginSession, RoleAssignment, User
from core.extensions import db
from core.timeutil import utcnow


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _lifetime() -> timedelta:
    return timedelta(days=float(current_app.config.get("LOGIN_SESSION_DAYS", 30)))


def open_session(user: User) -> str:
    """A new login session for ``user`` (committed by the caller); returns its key."""
    key = secrets.token_urlsafe(32)
    # Expired sessions of this person go when they log in again.
    db.session.execute(
        delete(LoginSession).where(
            LoginSession.user_id == user.id, LoginSession.created_at < utcnow() - _lifetime()
        )
    )
    db.session.add(LoginSession(user_id=user.id, key_hash=_hash(key)))
    user.login_key = key
    # Inactivity counts from here (me/retention.py); a new login cancels a notice given.
    user.last_seen_at = utcnow()
    user.inactivity_notice_at = None
    return key


def begin(user: User) -> None:
    """Log ``user`` in on this browser with a fresh session (and commit it)."""
    open_session(user)
    db.session.commit()
    session.pop("_user_id", None)
    login_user(user)


def _current_key() -> str | None:
    value = session.get("_user_id") or ""
    return value.split(":", 1)[1] if ":" in value else None


def end() -> None:
    """Log out of this browser and forget the session on the server."""
    key = _current_key()
    if key:
        db.session.execute(delete(LoginSession).where(LoginSession.key_hash == _hash(key)))
        db.session.commit()
    logout_user()


def end_all(user: User) -> None:
    """End every session of ``user`` (password change or reset, account deletion)."""
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))


#: What other areas read with the person on every page, by name: a scalar subquery built
#: from ``User.id`` (notifications: the header's count of unread ones). One round trip, not two.
#: A form sent (POST) reads none of it: it answers with a redirect, not a page.
_READ_WITH_USER: dict[str, Callable[[], ColumnElement]] = {}


def read_with_user(name: str, column: Callable[[], ColumnElement]) -> None:
    """Read ``column()`` with the person of each request; it is then ``user.read_with_session[name]``."""
    _READ_WITH_USER[name] = column
    _user_of_session.cache_clear()


#: What a page reads with the person, by endpoint: the row of ``model`` its view argument
#: names and columns correlated to it (the consultation page: its consultation, and whether the
#: person follows it). On PostgreSQL that round trip was a fifth of a logged-in page.
_READ_WITH_PAGE: dict[str, tuple[type, str, Callable[[], tuple[ColumnElement, ...]]]] = {}


def read_with_page(
    endpoint: str, model: type, view_arg: str, columns: Callable[[], tuple[ColumnElement, ...]]
) -> None:
    """Read the ``model`` row that ``view_arg`` names, and ``columns()`` (correlated to it, with
    the person's id as ``user_id``), with the person of each request for ``endpoint``; the view
    finds it with ``read_for_page``."""
    _READ_WITH_PAGE[endpoint] = (model, view_arg, columns)
    _user_of_session.cache_clear()


def read_for_page(model: type, ident: int) -> tuple[object | None, tuple] | None:
    """The ``model`` row ``ident`` (None if there is none) and its columns, when they were read
    with this request's person; None when they were not."""
    held = g.get("_gopy_page_row")
    if held is None or held[:2] != (model, ident):
        return None
    return held[2], held[3]


def _page_row() -> tuple[str, int] | None:
    page = _READ_WITH_PAGE.get(request.endpoint or "")
    ident = (request.view_args or {}).get(page[1]) if page is not None else None
    if not isinstance(ident, int) or not (0 < ident < 2**63):
        return None
    return request.endpoint, ident


@functools.cache
def _user_of_session(pages: bool, endpoint: str | None = None):
    # Built once: on SQLite, building this statement cost as much as running it. The person's
    # roles are joined (one statement for staff too), not each role's locality (a dozen
    # columns more on every page; only the audit trail's menu reads it, by its key).
    stmt = (
        select(User, *(column().label(name) for name, column in _READ_WITH_USER.items() if pages))
        .options(joinedload(User.assignments).lazyload(RoleAssignment.locality))
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            User.id == bindparam("user_id"),
            LoginSession.key_hash == bindparam("key_hash"),
            LoginSession.created_at >= bindparam("since"),
        )
    )
    if endpoint is not None:
        model, _, columns = _READ_WITH_PAGE[endpoint]
        stmt = stmt.add_columns(model, *columns()).outerjoin(
            model, model.id == bindparam("page_id")
        )
    return stmt


def load(value: str) -> User | None:
    """Flask-Login's user loader: the active user whose live session this cookie names."""
    try:
        user_id, key = value.split(":", 1)
        uid = int(user_id)
    except (ValueError, TypeError):
        return None
    if not key or not (0 < uid < 2**63):
        return None
    params = {"user_id": uid, "key_hash": _hash(key), "since": utcnow() - _lifetime()}
    pages = request.method in ("GET", "HEAD")
    page = _page_row()
    if page is not None:
        params["page_id"] = page[1]
    stmt = _user_of_session(pages, page[0] if page else None)
    row = db.session.execute(stmt, params).unique().first()
    if row is None or not row[0].is_active:
        return None
    user = row[0]
    user.login_key = key
    n = 1 + (len(_READ_WITH_USER) if pages else 0)
    if pages:
        user.read_with_session = dict(zip(_READ_WITH_USER, row[1:n], strict=True))
    if page is not None:
        model = _READ_WITH_PAGE[page[0]][0]
        g._gopy_page_row = (model, page[1], row[n], tuple(row[n + 1 :]))
    return user
