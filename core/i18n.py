"""Which language a request is answered in: the visitor's choice, the account's, else Vietnamese."""

from __future__ import annotations

from flask import current_app, g, request
from flask_login import current_user

LANGUAGES = ("vi", "en")


def select_locale() -> str:
    forced = g.get("mail_locale")
    if forced:
        return forced
    lang = request.cookies.get("lang") if request else None
    if lang in LANGUAGES:
        return lang
    if current_user and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]
