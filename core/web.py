"""Small helpers shared by the views: refusals with a translated message, lookups that 404."""

from __future__ import annotations

from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit

from flask import abort, request
from werkzeug.exceptions import HTTPException, default_exceptions

from core.extensions import db

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
