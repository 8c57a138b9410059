"""Small helpers shared by the views: refusals with a translated message, lookups that 404,
the one way to require a login, the one way to send a download, and a service call that
refuses beside the form's field."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from functools import wraps
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import quote, urlsplit

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    g,
    redirect,
    request,
    send_file,
    session,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from werkzeug.exceptions import HTTPException, default_exceptions

from core.errors import InvalidInput
from core.extensions import db, login_manager
from core.fragments import Kept
from core.textutil import safe_filename

T = TypeVar("T")


def refuse(code: int, message: str | None = None) -> NoReturn:
    """Stop the request with ``code``; ``message`` (already translated) is shown to the user."""
    exc_class = default_exceptions.get(code)
    if exc_class is None:  # pragma: no cover - only standard codes are used
        abort(code)
    exc: HTTPException = exc_class()
    exc.gopy_message = message  # type: ignore[attr-defined]
    raise exc


def get_or_404(model: type[T], ident: Any) -> T:
    try:
        ident = int(ident)
    except (TypeError, ValueError):
        refuse(404)
    if not (0 < ident < 2**63):
        refuse(404)
    obj = db.session.get(model, ident)
    if obj is None:
        refuse(404)
    return obj


def safe_next(default: str) -> str:
    """The ``next`` parameter when it points inside this site, else ``default``."""
    target = request.values.get("next") or ""
    parts = urlsplit(target)
    if (
        target.startswith("/")
        and not target.startswith("//")
        and not parts.netloc
        and not parts.scheme
        and "\\" not in target
    ):
        return target
    return default


def page_arg(name: str = "page") -> int:
    try:
        value = int(request.args.get(name, 1))
    except (TypeError, ValueError):
        return 1
    return min(max(value, 1), 100_000)


def ensure_logged_in(back_to: str | None = None) -> None:
    """Send a visitor who is not logged in to the login page, and back to ``back_to`` (the
    page itself by default) once logged in."""
    if current_user.is_authenticated:
        return
    if back_to is None:
        abort(login_manager.unauthorized())
    abort(redirect(url_for("auth.login", next=back_to)))


def login_required(view: Callable | None = None, *, back_to: Callable[..., str] | None = None):
    """``@login_required`` on a page; ``@login_required(back_to=show_url)`` on a form post,
    whose address cannot be reopened after logging in: the visitor comes back to the page the
    form was on (``back_to(**view_args)``)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(**kwargs):
            ensure_logged_in(back_to(**kwargs) if back_to is not None else None)
            return view(**kwargs)

        return wrapper

    return decorator(view) if view is not None else decorator


def reads_only(view: Callable) -> Callable:
    """Mark a page that only reads (under its route decorator): on PostgreSQL its statements run
    without a transaction around them, so no BEGIN nor ROLLBACK goes to the server. A kept
    consultation page sends two statements: four round trips become two. Each statement still
    reads one consistent snapshot. A page that writes must not be marked."""
    view.gopy_reads_only = True  # type: ignore[attr-defined]
    return view


def _begin_reading() -> None:
    if request.method not in ("GET", "HEAD") or db.engine.dialect.name != "postgresql":
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "gopy_reads_only", False):
        # Before anything reads: the session's connection is taken now, in autocommit, and
        # SQLAlchemy gives it back to the pool as it found it.
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def init_app(app: Flask) -> None:
    app.before_request_funcs.setdefault(None, []).insert(0, _begin_reading)
    app.jinja_env.globals["csrf_token"] = csrf_token  # in place of Flask-WTF's own


#: Tokens carry no time limit (WTF_CSRF_TIME_LIMIT is None), so one signed once serves every
#: later page of the session: signing it again was a thirtieth of a logged-in page.
SIGNED_TOKENS_KEPT = 20_000


def _signed_tokens() -> Kept[str]:
    """The signed CSRF token of each session's raw token, as Flask-WTF made it (this worker's)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    store = app.extensions.get("gopy_signed_tokens")
    if store is None:
        store = app.extensions["gopy_signed_tokens"] = Kept(SIGNED_TOKENS_KEPT)
    return store


def csrf_token() -> str:
    """This request's CSRF token (Flask-WTF's ``generate_csrf``), signed once per session."""
    if current_app.config.get("WTF_CSRF_TIME_LIMIT") is not None:
        return generate_csrf()
    tokens = _signed_tokens()
    if "csrf_token" not in g:
        raw = session.get("csrf_token")
        signed = tokens.get(raw) if raw else None
        if signed is not None:
            g.csrf_token = signed  # where generate_csrf and the forms' fields look first
            return signed
    signed = generate_csrf()
    if tokens.get(session["csrf_token"]) is None:
        tokens.put(session["csrf_token"], signed)
    return signed


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """``attachment; filename="tong-hop.docx"; filename*=UTF-8''T%E1%BB%95ng%20h%E1%BB%A3p.docx``:
    the Vietnamese name for every browser of the last decade (RFC 6266 and 5987), an ASCII
    one for the rest."""
    stem, ext = os.path.splitext(filename)
    suffix = safe_filename(ext[1:], default="") if ext else ""
    fallback = safe_filename(stem, default="gop-y")[:90] + (f".{suffix}" if suffix else "")
    value = f'{"inline" if inline else "attachment"}; filename="{fallback}"'
    if fallback != filename:
        value += "; filename*=UTF-8''" + quote(filename, safe="")
    return value


def download(
    body: bytes | Iterable[bytes] | Path,
    *,
    filename: str,
    content_type: str,
    public: bool = False,
    inline: bool = False,
    max_age: int = 300,
) -> Response:
    """The one way to send a file: bytes, chunks sent as they are written, or a stored file
    (with ranges and validators). ``public`` files may be cached by anyone for ``max_age``
    seconds; the rest never leave the user's browser cache."""
    if isinstance(body, Path):
        response = send_file(body, mimetype=content_type, conditional=True, max_age=0)
    else:
        response = Response(body, content_type=content_type)
    response.headers["Content-Disposition"] = content_disposition(filename, inline=inline)
    response.headers["Cache-Control"] = (
        f"public, max-age={max_age}" if public else "private, no-store"
    )
    return response


def submitted(form: FlaskForm, action: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
    """Run a service for a valid ``form``; when it refuses with InvalidInput, undo what it did
    and show the refusal beside the field it names (or above the form), keeping the input."""
    if not form.validate_on_submit():
        return False
    try:
        action(*args, **kwargs)
    except InvalidInput as exc:
        db.session.rollback()
        target = getattr(form, exc.field, None) if exc.field else None
        if target is not None and hasattr(target, "errors"):
            target.errors = [*target.errors, exc.message]
        else:
            form.form_errors.append(exc.message)
        return False
    return True


def acting_user():
    """The logged-in user as a model object (``current_user`` is a proxy), for services."""
    return current_user._get_current_object()
