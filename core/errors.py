"""The two refusals services raise, and the one place that turns every refusal into a page."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import gettext as _

from core.extensions import db


class StateError(Exception):
    """The consultation's state does not allow this (answered with 409)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidInput(Exception):
    """A value breaks a rule the form could not check (answered with 400, or beside the field
    when the view re-shows its form: core.forms.submitted)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


MESSAGES = {
    400: lambda: _("The request could not be understood. Please check what you entered."),
    401: lambda: _("Please log in to continue."),
    403: lambda: _("You do not have permission to do this."),
    404: lambda: _("The page you asked for does not exist or has been removed."),
    405: lambda: _("This action is not available here."),
    409: lambda: _("This cannot be done in the consultation's current state."),
    413: lambda: _("The file or text you sent is too large."),
    429: lambda: _("Too many requests. Please wait a moment and try again."),
    500: lambda: _("Something went wrong on our side. Please try again later."),
}


def _page(code: int, message: str):
    if request.path.startswith("/api/"):
        return {"error": message, "status": code}, code
    return render_template("errors/error.html", code=code, message=message), code


def init_app(app: Flask) -> None:
    def handle(error):
        code = getattr(error, "code", 500) or 500
        if code == 500:
            db.session.rollback()
        return _page(
            code, getattr(error, "gopy_message", None) or MESSAGES.get(code, MESSAGES[500])()
        )

    def refused(code: int):
        def handler(error: StateError | InvalidInput):
            # Nothing the service did before it refused is kept.
            db.session.rollback()
            return _page(code, error.message)

        return handler

    for code in MESSAGES:
        app.register_error_handler(code, handle)
    app.register_error_handler(StateError, refused(409))
    app.register_error_handler(InvalidInput, refused(400))
