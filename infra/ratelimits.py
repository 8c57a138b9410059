"""Rate limits and login lockout, applied in one place.

Every limited route is named here by its URL rule (the stable interface of PRODUCT.md), so the
views stay free of limit decorators and a reviewer sees every budget at once. Each route gets a
limit per client address and one per account: the logged-in user, or for login, registration
and password reset the e-mail address typed in (hashed, so the store never holds addresses).

Counters live in ``RATELIMIT_STORAGE_URI`` (Redis in production, shared by every worker).

Also here, as the other request budgets checked before any view: forms are capped at
``FORM_MAX_BYTES`` in either encoding (uploads keep ``MAX_CONTENT_LENGTH``), NUL characters are
dropped, the login lockout (``login_blocked`` / ``register_failure`` / ``clear_failures``), and
``TRUSTED_PROXIES`` (number of reverse proxies in front, default 0) so that per-address limits see
the client.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter import RateLimitExceeded, RouteLimit
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits.errors import StorageError
from limits.storage import Storage, storage_from_string

from core.extensions import limiter
from core.web import refuse

log = logging.getLogger(__name__)

#: Budgets by name; ``app.config["RATELIMITS"]`` may override any of them (same syntax).
#: Per-address budgets are generous because a whole commune hall can share one address.
DEFAULTS: dict[str, str] = {
    "login_ip": "30 per minute; 300 per hour",
    "login_account": "20 per hour",
    "register_ip": "10 per hour; 50 per day",
    "register_account": "3 per hour",
    "reset_ip": "10 per hour; 50 per day",
    "reset_account": "3 per hour",
    "new_password_ip": "20 per hour",
    "resend_account": "5 per hour",
    # Guessing the current password from a stolen session, or deleting in a loop.
    "password_account": "10 per hour",
    # An official typing in a pile of paper ballots stays well under these.
    "opinion_ip": "60 per minute; 1000 per hour",
    "opinion_account": "10 per minute; 300 per hour",
    "edit_account": "30 per hour",
    "flag_ip": "100 per hour",
    "flag_account": "20 per hour",
    # Documents rendered on demand (PDF, DOCX, XLSX) cost seconds of CPU each.
    "download_ip": "30 per minute; 300 per hour",
    "data_account": "10 per hour",
    # The place picker asks for matches as a resident types (a few per name); a commune hall
    # registering together shares one address.
    "locality_search_ip": "120 per minute; 3000 per hour",
    # Looking up opinions by tracking number: generous for a commune hall, not for guessing.
    "track_ip": "30 per minute; 300 per hour",
}

#: Bodies that are not file uploads (form posts, JSON) are capped lower than MAX_CONTENT_LENGTH:
#: the longest draft law fits in well under this, and a refused form echoes the typed text back.
FORM_MAX_BYTES = 2 * 1024 * 1024

#: Login lockout: after this many wrong passwords within the window, the account refuses
#: every login (with the usual "incorrect" message) for ``LOGIN_LOCK_SECONDS``.
LOGIN_MAX_FAILURES = 5
LOGIN_FAILURE_WINDOW = 15 * 60
LOGIN_LOCK_SECONDS = 15 * 60


def _ip_key() -> str:
    return "ip:" + (get_remote_address() or "unknown")


def _hashed(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode("utf-8", "replace")).hexdigest()[:32]


def _user_key() -> str:
    """The logged-in user, else the client address."""
    if current_user and current_user.is_authenticated:
        return f"user:{current_user.id}"
    return _ip_key()


def _email_key() -> str:
    """The e-mail address typed into the form (login, registration, reset), else the address."""
    email = request.form.get("email", "") if request.method == "POST" else ""
    if email.strip():
        return "email:" + _hashed(email)
    return _ip_key()


def _budget(name: str) -> Callable[[], str]:
    def provider() -> str:
        return (current_app.config.get("RATELIMITS") or {}).get(name, DEFAULTS[name])

    provider.__name__ = f"budget_{name}"
    return provider


def _limit(
    name: str,
    key: Callable[[], str],
    methods: tuple[str, ...] | None,
    exempt_when: Callable[[], bool] | None = None,
) -> RouteLimit:
    # Built once per process: the limiter keeps decorated limits in a set keyed by the view's
    # name, so wrapping the views of a second app (tests) does not count every hit twice.
    return RouteLimit(
        limit_provider=_budget(name),
        key_function=key,
        scope=name,
        methods=list(methods) if methods else None,
        exempt_when=exempt_when,
        limiter=limiter,
    )


def _finding_a_place() -> bool:
    """A registration form sent back to look for a commune by name ("Find", localities/picker.py):
    it registers nobody, so it spends no registration attempt."""
    from localities.picker import finding

    return finding()


@dataclass(frozen=True)
class Rule:
    #: Matches the Flask URL rule, e.g. ``/consultations/<int:consultation_id>/opinions``.
    pattern: str
    limits: tuple[RouteLimit, ...]
    #: False for routes that come later or are optional (their absence is not an error).
    required: bool = True


POST = ("POST",)
_ARG = r"<[^>]+>"

RULES: tuple[Rule, ...] = (
    Rule(
        r"/auth/login",
        (_limit("login_ip", _ip_key, POST), _limit("login_account", _email_key, POST)),
    ),
    Rule(
        r"/auth/register",
        (
            _limit("register_ip", _ip_key, POST, _finding_a_place),
            _limit("register_account", _email_key, POST, _finding_a_place),
        ),
    ),
    Rule(
        r"/auth/reset",
        (_limit("reset_ip", _ip_key, POST), _limit("reset_account", _email_key, POST)),
    ),
    Rule(rf"/auth/reset/{_ARG}", (_limit("new_password_ip", _ip_key, POST),)),
    Rule(r"/auth/verify/resend", (_limit("resend_account", _user_key, POST),), required=False),
    Rule(
        rf"/consultations/{_ARG}/opinions",
        (_limit("opinion_ip", _ip_key, POST), _limit("opinion_account", _user_key, POST)),
    ),
    Rule(rf"/opinions/{_ARG}/(edit|withdraw)", (_limit("edit_account", _user_key, POST),)),
    Rule(
        rf"/opinions/{_ARG}/flag",
        (_limit("flag_ip", _ip_key, POST), _limit("flag_account", _user_key, POST)),
    ),
    Rule(
        rf"/consultations/{_ARG}/(record|export|notice)\.{_ARG}",
        (_limit("download_ip", _ip_key, None),),
    ),
    Rule(r"/me/account/password", (_limit("password_account", _user_key, POST),), required=False),
    Rule(r"/me/delete", (_limit("password_account", _user_key, POST),), required=False),
    Rule(r"/me/data", (_limit("data_account", _user_key, None),), required=False),
    Rule(r"/localities/search\.json", (_limit("locality_search_ip", _ip_key, None),)),
    Rule(r"/track", (_limit("track_ip", _ip_key, None),)),
)


def limited_endpoints(app: Flask) -> dict[str, Rule]:
    """Endpoints of ``app`` that the rules above match."""
    found: dict[str, Rule] = {}
    for url_rule in app.url_map.iter_rules():
        for rule in RULES:
            if re.fullmatch(rule.pattern, url_rule.rule):
                found[url_rule.endpoint] = rule
    return found


def missing_rules(app: Flask) -> list[str]:
    """Required patterns that match no route (a renamed URL would silently lose its limit)."""
    rules = [r.rule for r in app.url_map.iter_rules()]
    return [
        rule.pattern
        for rule in RULES
        if rule.required and not any(re.fullmatch(rule.pattern, r) for r in rules)
    ]


def init_app(app: Flask) -> None:
    """Wrap the limited views, install the 429 page and the login-lockout store.
    Call after the blueprints are registered."""
    for endpoint, rule in limited_endpoints(app).items():
        view = app.view_functions[endpoint]
        for route_limit in rule.limits:
            view = route_limit(view)
        app.view_functions[endpoint] = view

    _refuse_per_worker_limits(app)
    app.register_error_handler(RateLimitExceeded, _too_many)
    # First of all hooks: CSRF protection reads the form in its own before_request.
    app.before_request_funcs.setdefault(None, []).insert(0, _cap_body_size)
    app.before_request_funcs[None].insert(1, _drop_nul)
    app.extensions["gopy_lockout"] = storage_from_string(
        app.config["RATELIMIT_STORAGE_URI"], wrap_exceptions=True
    )

    proxies = int(app.config.get("TRUSTED_PROXIES") or os.environ.get("TRUSTED_PROXIES") or 0)
    if proxies:
        # Behind nginx every request comes from 127.0.0.1: per-address limits need the
        # client address the proxies saw. Only trust as many hops as really exist.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]


def gunicorn_workers(argv: list[str] | None = None) -> int:
    """How many worker processes the gunicorn serving this app runs (1 when not gunicorn):
    from its command line, ``GUNICORN_CMD_ARGS`` and ``WEB_CONCURRENCY``, as gunicorn reads them."""
    argv = sys.argv if argv is None else argv
    if not argv or not os.path.basename(argv[0]).startswith("gunicorn"):
        return 1
    from gunicorn.config import Config  # only under gunicorn, which is then loaded anyway

    parser = Config().parser()
    extra = shlex.split(os.environ.get("GUNICORN_CMD_ARGS", ""))
    workers = parser.parse_args(argv[1:] + extra).workers
    if workers is None:
        workers = int(os.environ.get("WEB_CONCURRENCY") or 1)
    return workers


def _refuse_per_worker_limits(app: Flask) -> None:
    """With memory:// each worker process counts on its own: two workers let a guesser try twice
    as many passwords before the lockout. Outside development, refuse to serve that way."""
    storage = str(app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if not storage.startswith("memory://") or app.config.get("RATELIMIT_ENABLED") is False:
        return
    if app.debug or app.testing or os.environ.get("GOPY_ENV") == "development":
        return
    workers = gunicorn_workers()
    if workers > 1:
        raise RuntimeError(
            f"RATELIMIT_STORAGE_URI is memory:// with {workers} gunicorn workers: rate limits and "
            "the login lockout would count in each worker separately. Set RATELIMIT_STORAGE_URI="
            "redis://… (shared by every worker and server), or run one worker."
        )
    app.logger.warning(
        "RATELIMIT_STORAGE_URI is memory://: rate limits and the login lockout live in this one "
        "process; use redis://… as soon as there is more than one worker or server."
    )


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


def _too_many(error: RateLimitExceeded):
    """The 429 page, saying how long to wait."""
    current = limiter.current_limit
    wait = current.reset_at - time.time() if current else 60
    minutes = max(1, math.ceil(wait / 60))
    message = ngettext(
        "You have sent this too many times. Please wait %(num)d minute and try again.",
        "You have sent this too many times. Please wait %(num)d minutes and try again.",
        minutes,
    )
    if request.path.startswith("/api/"):
        body, status = {"error": message, "status": 429}, 429
    else:
        body, status = render_template("errors/error.html", code=429, message=message), 429
    return body, status, {"Retry-After": str(max(1, math.ceil(wait)))}


# --- login lockout ---------------------------------------------------------------------------


def _store() -> Storage:
    return current_app.extensions["gopy_lockout"]


def _max_failures() -> int:
    return int(current_app.config.get("LOGIN_MAX_FAILURES", LOGIN_MAX_FAILURES))


def login_blocked(user) -> bool:
    """True while the account refuses logins after repeated wrong passwords."""
    if _max_failures() <= 0:
        return False
    try:
        return _store().get(f"gopy/login-lock/{user.id}") > 0
    except StorageError:
        # The store (Redis) is down: let people log in rather than lock everyone out.
        log.warning("login lockout store unavailable", exc_info=True)
        return False


def register_failure(user) -> bool:
    """Count a wrong password; returns True when this failure locked the account."""
    limit = _max_failures()
    if limit <= 0:
        return False
    store, lock_seconds = (
        _store(),
        int(current_app.config.get("LOGIN_LOCK_SECONDS", LOGIN_LOCK_SECONDS)),
    )
    try:
        failures = store.incr(f"gopy/login-fail/{user.id}", LOGIN_FAILURE_WINDOW)
        if failures < limit:
            return False
        store.incr(f"gopy/login-lock/{user.id}", lock_seconds)
        store.clear(f"gopy/login-fail/{user.id}")
    except StorageError:
        log.warning("login lockout store unavailable", exc_info=True)
        return False
    from audit.models import record

    # No actor: the system locked it. The caller's commit stores the event.
    record(
        "user.login_locked",
        user,
        locality_id=user.locality_id,
        failures=failures,
        minutes=lock_seconds // 60,
    )
    return True


def clear_failures(user) -> None:
    """Forget earlier wrong passwords after a successful login."""
    try:
        _store().clear(f"gopy/login-fail/{user.id}")
    except StorageError:
        log.warning("login lockout store unavailable", exc_info=True)
