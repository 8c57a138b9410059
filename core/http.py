"""What every request and response goes through: id converters that 404 past the column's
range, the cap on a form's size, NUL and invisible characters taken out of what was typed, the
reverse proxies trusted for the client's address (``TRUSTED_PROXIES``), and the security
headers."""

from __future__ import annotations

import os
import re

from flask import Flask, current_app, request
from flask_babel import gettext as _
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from core.web import refuse

#: Bodies that are not file uploads (form posts, JSON) are capped lower than MAX_CONTENT_LENGTH:
#: the longest draft law fits in well under this, and a refused form echoes the typed text back.
FORM_MAX_BYTES = 2 * 1024 * 1024


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # Inline style attributes only (server-drawn SVG charts); never inline scripts.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route, capped at the largest id a table holds (32-bit INTEGER on
    PostgreSQL): a larger number is a 404, not a 500 from the driver."""

    def __init__(
        self,
        url_map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = 2**31 - 1,
        signed: bool = False,
    ) -> None:
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _cap_body_size() -> None:
    """Hold every form to ``FORM_MAX_BYTES`` of text, whatever its encoding: a url-encoded or
    JSON body as a whole (before it is read), a multipart one by its text fields (files keep
    ``MAX_CONTENT_LENGTH``). Without this werkzeug would refuse a multipart field at Flask's
    500,000 bytes, less than the consultation form's longest draft."""
    cap = int(current_app.config.get("FORM_MAX_BYTES", FORM_MAX_BYTES))
    if request.mimetype != "multipart/form-data":
        overall = current_app.config.get("MAX_CONTENT_LENGTH")
        request.max_content_length = min(cap, overall) if overall else cap
        return
    request.max_form_memory_size = cap  # one field over the cap stops the parser at once
    if request.method in ("POST", "PUT", "PATCH"):
        text = sum(len(k.encode()) + len(v.encode()) for k, v in request.form.items(multi=True))
        if text > cap:
            refuse(413)


#: What no keyboard types and nobody sees: NUL, and the invisible format characters (zero-width
#: space, word joiner, BOM, direction marks and overrides, soft hyphen). A "required" text of only
#: these would otherwise pass as written. The joiners (U+200C, U+200D) that emoji need stay.
_UNSEEN = re.compile(
    "[\x00\u00ad\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]"
)


def _without_nul(values):
    return type(values)(
        (key.replace("\x00", ""), _UNSEEN.sub("", value)) for key, value in values.items(multi=True)
    )


def _drop_nul() -> None:
    """No keyboard types NUL, and PostgreSQL cannot store it in text: take it out of every
    form field and query parameter before any view sees them (the views then judge what is
    left, e.g. "Write your opinion." for a body that was only control characters). A URL or a
    file name with NUL in it names nothing here: 404 / 400."""
    if any("\x00" in k or "\x00" in v for k, v in request.args.items(multi=True)):
        request.args = _without_nul(request.args)  # type: ignore[misc]
    if request.method in ("POST", "PUT", "PATCH"):
        form = request.form
        if any("\x00" in k or _UNSEEN.search(v) for k, v in form.items(multi=True)):
            request.form = _without_nul(form)  # type: ignore[misc]
        if any("\x00" in (f.filename or "") for f in request.files.values()):
            refuse(
                400,
                _(
                    "The name of the file you sent contains characters that cannot be stored. Rename the file and try again."
                ),
            )
    if any(isinstance(v, str) and "\x00" in v for v in (request.view_args or {}).values()):
        refuse(404)


def init_app(app: Flask) -> None:
    # First of all hooks: CSRF protection reads the form in its own before_request.
    app.before_request_funcs.setdefault(None, []).insert(0, _cap_body_size)
    app.before_request_funcs[None].insert(1, _drop_nul)
    proxies = int(app.config.get("TRUSTED_PROXIES") or os.environ.get("TRUSTED_PROXIES") or 0)
    if proxies:
        # Behind nginx every request comes from 127.0.0.1: per-address limits need the
        # client address the proxies saw. Only trust as many hops as really exist.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]

    https = str(app.config["BASE_URL"]).startswith("https://")

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if https:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
