"""Configuration: the defaults, what the environment may set, and what is refused outside
development."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from core.http import FORM_MAX_BYTES

ROOT = Path(__file__).resolve().parent.parent

#: Values a deployment must change; refusing them outside development keeps sessions safe.
INSECURE_KEYS = {"", "dev", "change-me", "development-only-key"}

#: Who runs the platform and whom to ask about personal data, printed on /me/privacy
#: (Law 91/2025/QH15: the data subject is told who processes the data and how to reach them).
PRIVACY_TEXT_SETTINGS = (
    "OPERATOR_NAME",
    "OPERATOR_ADDRESS",
    "OPERATOR_EMAIL",
    "OPERATOR_PHONE",
    "PRIVACY_CONTACT_NAME",
    "PRIVACY_CONTACT_EMAIL",
    "PRIVACY_CONTACT_PHONE",
)
#: Retention periods (me/retention.py enforces them; /me/privacy prints them) and answer time.
PRIVACY_NUMBER_SETTINGS = (
    "UNVERIFIED_ACCOUNT_DAYS",
    "INACTIVE_ACCOUNT_YEARS",
    "INACTIVE_NOTICE_DAYS",
    "CONSENT_RECORD_YEARS",
    "PRIVACY_ANSWER_HOURS",
)


def defaults(instance_path: str) -> dict[str, Any]:
    """What a development checkout runs with; the environment and ``test_config`` override it."""
    instance = Path(instance_path)
    return {
        "SECRET_KEY": "development-only-key",
        "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(instance / "gopy.sqlite"),
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        # PostgreSQL reached through PgBouncer in transaction mode: psycopg must not prepare
        # statements, since the next transaction may run on another server connection.
        "DATABASE_PGBOUNCER": False,
        "SENDGRID_API_KEY": None,
        "SENDGRID_API_HOST": None,
        "MAIL_FROM": "Góp ý <no-reply@gopy.local>",
        "BASE_URL": "http://127.0.0.1:5000",
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        # Redis down must not take the site down: limits fall back to each worker's memory.
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "BABEL_DEFAULT_LOCALE": "vi",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "BABEL_TRANSLATION_DIRECTORIES": str(ROOT / "translations"),
        "MIN_COMMENT_DAYS": 30,
        "LOGIN_SESSION_DAYS": 30,
        "OPERATOR_NAME": "Đơn vị vận hành Cổng Góp ý",
        "OPERATOR_ADDRESS": "",
        "OPERATOR_EMAIL": "",
        "OPERATOR_PHONE": "",
        "PRIVACY_CONTACT_NAME": "",
        "PRIVACY_CONTACT_EMAIL": "",
        "PRIVACY_CONTACT_PHONE": "",
        "UNVERIFIED_ACCOUNT_DAYS": 30,
        "INACTIVE_ACCOUNT_YEARS": 3,
        "INACTIVE_NOTICE_DAYS": 30,
        "CONSENT_RECORD_YEARS": 5,
        "PRIVACY_ANSWER_HOURS": 72,
        "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,
        "UPLOAD_MAX_BYTES": 10 * 1024 * 1024,
        # One cap for the text of any form (core.http._cap_body_size): Flask's default for
        # a multipart field, 500,000 bytes, refused the consultation form's longest draft.
        "FORM_MAX_BYTES": FORM_MAX_BYTES,
        "MAX_FORM_MEMORY_SIZE": FORM_MAX_BYTES,
        "OUTBOX_DIR": str(instance / "outbox"),
        "UPLOAD_DIR": str(instance / "uploads"),
        # infra/stores.py: empty keeps the files in UPLOAD_DIR; s3://BUCKET/PREFIX puts them
        # in an S3-compatible store (AWS_* and AWS_ENDPOINT_URL), shared by every app server.
        "STORAGE_URL": "",
        "OPINIONS_PER_PAGE": 20,
        "CONSULTATIONS_PER_PAGE": 10,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        # infra/queue.py: the job queue's store (default instance/queue.sqlite; redis://… in
        # production) and whether jobs run at once where they are enqueued (the tests).
        "QUEUE_URL": "sqlite:///" + str(instance / "queue.sqlite"),
        "QUEUE_IMMEDIATE": False,
        # outbox/sending.py: attempts before a message is kept as failed (1 min, 2, 4 … 6 h
        # apart: the 13th comes about 26 hours after the first), the first wait, and how long
        # a claim holds before a dead worker's message is taken up again.
        "MAIL_MAX_ATTEMPTS": 13,
        "MAIL_RETRY_BASE_SECONDS": 60,
        "MAIL_CLAIM_SECONDS": 300,
        # Sent and cancelled messages (address and text: personal data) are kept this long.
        "MAIL_KEEP_DAYS": 30,
        # exportjobs/: the PDF export, and exports of more opinions than this, are made by a
        # job into storage; the file is kept (and reused while current) this many hours.
        "EXPORT_INLINE_MAX": 10_000,
        "EXPORT_TTL_HOURS": 24,
        # decisions/: ballots of a community of more households than this are printed by a job.
        "BALLOTS_INLINE_MAX": 50,
        # consultations/fragments.py: shared parts of consultation pages kept in each worker
        # (a copy is some 30 KB; 0 draws every page in full).
        "FRAGMENT_CACHE_ENTRIES": 512,
    }


def from_environment() -> dict[str, Any]:
    env = os.environ
    cfg: dict[str, Any] = {}
    for name in (
        "SECRET_KEY",
        "SENDGRID_API_KEY",
        "SENDGRID_API_HOST",
        "MAIL_FROM",
        "BASE_URL",
        "RATELIMIT_STORAGE_URI",
        "QUEUE_URL",
        "STORAGE_URL",
        "BABEL_DEFAULT_LOCALE",
        *PRIVACY_TEXT_SETTINGS,
    ):
        if env.get(name):
            cfg[name] = env[name]
    for name in PRIVACY_NUMBER_SETTINGS:
        if env.get(name):
            cfg[name] = int(env[name])
    if env.get("DATABASE_URL"):
        cfg["SQLALCHEMY_DATABASE_URI"] = normalise_db_url(env["DATABASE_URL"])
    if env.get("RATELIMIT_ENABLED"):
        cfg["RATELIMIT_ENABLED"] = not _no(env["RATELIMIT_ENABLED"])
    if env.get("DATABASE_PGBOUNCER"):
        cfg["DATABASE_PGBOUNCER"] = _yes(env["DATABASE_PGBOUNCER"])
    if env.get("QUEUE_IMMEDIATE"):
        cfg["QUEUE_IMMEDIATE"] = _yes(env["QUEUE_IMMEDIATE"])
    if env.get("MAIL_KEEP_DAYS"):
        cfg["MAIL_KEEP_DAYS"] = int(env["MAIL_KEEP_DAYS"])
    for name in ("MAIL_MAX_ATTEMPTS", "MAIL_RETRY_BASE_SECONDS", "MAIL_CLAIM_SECONDS"):
        if env.get(name):
            cfg[name] = float(env[name]) if name != "MAIL_MAX_ATTEMPTS" else int(env[name])
    for name in (
        "EXPORT_INLINE_MAX",
        "EXPORT_TTL_HOURS",
        "BALLOTS_INLINE_MAX",
        "FRAGMENT_CACHE_ENTRIES",
    ):
        if env.get(name):
            cfg[name] = int(env[name])
    if env.get("MIN_COMMENT_DAYS"):
        cfg["MIN_COMMENT_DAYS"] = int(env["MIN_COMMENT_DAYS"])
    if env.get("LOGIN_SESSION_DAYS"):
        cfg["LOGIN_SESSION_DAYS"] = float(env["LOGIN_SESSION_DAYS"])
    return cfg


def _yes(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _no(value: str) -> bool:
    return value.strip().lower() in {"0", "false", "no", "off"}


def engine_options(config: dict[str, Any]) -> dict[str, Any]:
    """SQLALCHEMY_ENGINE_OPTIONS with what DATABASE_PGBOUNCER needs: no prepared statements."""
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if config.get("DATABASE_PGBOUNCER") and str(config["SQLALCHEMY_DATABASE_URI"]).startswith(
        "postgresql"
    ):
        options["connect_args"] = {**options.get("connect_args", {}), "prepare_threshold": None}
    return options


def normalise_db_url(url: str) -> str:
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants the driver named.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def dev_mode() -> bool:
    return (
        os.environ.get("FLASK_DEBUG") in {"1", "true"}
        or os.environ.get("GOPY_ENV") == "development"
    )


def refuse_insecure(config: dict[str, Any], debug: bool, testing: bool) -> None:
    """Stop a deployment that kept the development secret key."""
    if config["SECRET_KEY"] in INSECURE_KEYS and not (debug or testing or dev_mode()):
        raise RuntimeError(
            "SECRET_KEY must be set to a long random value outside development "
            '(python -c "import secrets; print(secrets.token_hex(32))").'
        )
