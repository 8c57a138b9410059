"""Which language a request is answered in: the visitor's choice, the account's, else Vietnamese."""

from __future__ import annotations

import functools

from babel import Locale
from flask import current_app, g, request
from flask_login import current_user

LANGUAGES = ("vi", "en")


@functools.cache
def _locale(identifier: str) -> Locale:
    # Flask-Babel parses what the selector returns unless it is a Locale already: parsing
    # looks for the locale's data file on disk, on every request.
    return Locale.parse(identifier)


def select_locale() -> Locale:
    return _locale(_selected())


def _selected() -> str:
    forced = g.get("mail_locale")
    if forced:
        return forced
    lang = request.cookies.get("lang") if request else None
    if lang in LANGUAGES:
        return lang
    if current_user and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]
