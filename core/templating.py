"""What every template may use: ``can.<predicate>``, the language, and the filters for text,
dates and numbers."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime

from flask import Flask
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from jinja2.ext import Extension
from markupsafe import Markup, escape

from auth import permissions
from core import timeutil
from core.i18n import LANGUAGES


class Dedent(Extension):
    """Drop the indentation of the HTML templates' own lines when they are compiled (once):
    the browser ignores it, a phone on a weak signal pays for it (about a tenth of a page).
    Whitespace stays wherever there was some: a line after a block tag, whose newline
    trim_blocks removes, keeps one space of its indentation, so no words run together. Text
    e-mail (.txt) keeps its layout; a literal <pre> or <textarea> block is left as written."""

    _KEEP = re.compile(r"(<(pre|textarea)\b.*?</\2>)", re.S)

    @staticmethod
    def _dedent(text: str) -> str:
        lines = text.split("\n")
        out = [lines[0]]
        for previous, line in itertools.pairwise(lines):
            stripped = line.lstrip(" \t")
            if stripped != line and previous.rstrip().endswith(("%}", "#}")):
                stripped = " " + stripped  # the newline before it is trimmed: keep a space
            out.append(stripped)
        return "\n".join(out)

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        if not (name or "").endswith(".html"):
            return source
        parts = self._KEEP.split(source)
        # split() with two groups yields: text, whole kept block, tag name, text, …
        return "".join(
            self._dedent(part) if i % 3 == 0 else part for i, part in enumerate(parts) if i % 3 != 2
        )


class _Can:
    def __getattr__(self, name: str):
        return permissions.PREDICATES[name]


def paragraphs(text: str | None) -> Markup:
    """Escape plain text and keep its paragraphs and line breaks."""
    if not text:
        return Markup("")
    parts = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    html = "".join(
        "<p>" + str(escape(p.strip())).replace("\n", Markup("<br>")) + "</p>" for p in parts
    )
    return Markup(html)  # noqa: S704 - every part was escaped above


# One form of dates on every page (translations/GLOSSARY.md, "Dates"), in Vietnam's time:
# 14/8/2026, and "09:30 ngày 14/8/2026" (English: "09:30 on 14/8/2026", the same msgid as the
# audit trail's audit.actions.time_text). Never Babel's "14 thg 8, 2026" nor UTC. A
# <time datetime="…"> beside it keeps the machine-readable form.
def _day(d) -> str:
    return f"{d.day}/{d.month}/{d.year}"


def localdate(dt) -> str:
    """A date or an instant as its calendar day in Vietnam: 14/8/2026."""
    if not dt:
        return ""
    return _day(timeutil.local_date(dt) if isinstance(dt, datetime) else dt)


def localdatetime(dt) -> str:
    """An instant in Vietnam's time: "09:30 ngày 14/8/2026" ("09:30 on 14/8/2026" in English)."""
    if not dt:
        return ""
    local = timeutil.to_local(dt)
    return _("%(time)s on %(date)s", time=f"{local:%H:%M}", date=_day(local))


def closingdate(dt) -> str:
    """The last day on which opinions are accepted (closes_at is exclusive): 17/9/2026."""
    return _day(timeutil.closing_date(dt)) if dt else ""


def isotime(dt) -> str:
    """The machine-readable instant of a <time datetime="…">, in UTC to the second:
    "2026-12-01T07:08:19Z" (a page of opinions carries twenty of them)."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if dt else ""


def number(value) -> str:
    return format_decimal(value or 0)


def init_app(app: Flask) -> None:
    app.jinja_env.add_extension(Dedent)

    @app.context_processor
    def inject():
        return {"can": _Can(), "locale": str(get_locale() or "vi"), "languages": LANGUAGES}

    for f in (paragraphs, localdate, localdatetime, closingdate, isotime, number):
        app.add_template_filter(f)
