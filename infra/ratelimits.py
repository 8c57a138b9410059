"""Rate limits and login lockout, applied in one place.

Every limited route is named here by its URL rule (the stable interface of PRODUCT.md), so the
views stay free of limit decorators and a reviewer sees every budget at once. Each route gets a
limit per client address and one per account: the logged-in user, or for login, registration
and password reset the e-mail address typed in (hashed, so the store never holds addresses).

Counters live in ``RATELIMIT_STORAGE_URI`` (Redis in production, shared by every worker).

Also here, the login lockout (``login_blocked`` / ``register_failure`` / ``clear_failures``).
The other budgets checked before any view (the form size cap, NUL characters, the proxies
trusted for the client's address) are in core/http.py.
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
from flask_babel import ngettext
from flask_limiter import RateLimitExceeded, RouteLimit
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits.errors import StorageError
from limits.storage import Storage, storage_from_string

from audit.models import record
from core.extensions import limiter
from localities.picker import finding

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
    # Linking an account to a household with its letter's key: a few tries for a typo, far
    # too few to guess a key (31^10); a commune hall linking together shares one address.
    "household_link_account": "10 per hour; 30 per day",
    "household_link_ip": "60 per hour",
}

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
        rf"/consultations/{_ARG}/(record|export|notice|results)\.{_ARG}",
        (_limit("download_ip", _ip_key, None),),
    ),
    Rule(r"/me/account/password", (_limit("password_account", _user_key, POST),), required=False),
    Rule(r"/me/delete", (_limit("password_account", _user_key, POST),), required=False),
    Rule(r"/me/data", (_limit("data_account", _user_key, None),), required=False),
    Rule(r"/localities/search\.json", (_limit("locality_search_ip", _ip_key, None),)),
    Rule(r"/track", (_limit("track_ip", _ip_key, None),)),
    Rule(
        r"/me/household",
        (
            _limit("household_link_ip", _ip_key, POST),
            _limit("household_link_account", _user_key, POST),
        ),
    ),
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
    app.extensions["gopy_lockout"] = storage_from_string(
        app.config["RATELIMIT_STORAGE_URI"], wrap_exceptions=True
    )


def gunicorn_workers(argv: list[str] | None = None) -> int:
    """How many worker processes the gunicorn serving this app runs (1 when not gunicorn):
    from its command line, ``GUNICORN_CMD_ARGS`` and ``WEB_CONCURRENCY``, as gunicorn reads them."""
    argv = sys.argv if argv is None else argv
    if not argv or not os.path.basename(argv[0]).startswith("gunicorn"):
        return 1
    from gunicorn.config import Config  # lazy: only under gunicorn, which is then loaded anyway

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
