"""Góp ý: the application factory."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask, g, render_template, request
from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.routing import IntegerConverter

from extensions import babel, csrf, db, limiter, login_manager, migrate

LANGUAGES = ("vi", "en")

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


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route, capped at the largest id a table holds (32-bit INTEGER on
    PostgreSQL): a larger number is a 404, not a 500 from the driver."""

    def __init__(self, url_map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = 2**31 - 1, signed: bool = False) -> None:
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _env_config() -> dict[str, Any]:
    env = os.environ
    cfg: dict[str, Any] = {}
    for name in (
        "SECRET_KEY",
        "SENDGRID_API_KEY",
        "SENDGRID_API_HOST",
        "MAIL_FROM",
        "BASE_URL",
        "RATELIMIT_STORAGE_URI",
        "BABEL_DEFAULT_LOCALE",
        *PRIVACY_TEXT_SETTINGS,
    ):
        if env.get(name):
            cfg[name] = env[name]
    for name in PRIVACY_NUMBER_SETTINGS:
        if env.get(name):
            cfg[name] = int(env[name])
    if env.get("DATABASE_URL"):
        cfg["SQLALCHEMY_DATABASE_URI"] = _normalise_db_url(env["DATABASE_URL"])
    if env.get("RATELIMIT_ENABLED"):
        cfg["RATELIMIT_ENABLED"] = env["RATELIMIT_ENABLED"].strip().lower() not in {"0", "false", "no", "off"}
    if env.get("MIN_COMMENT_DAYS"):
        cfg["MIN_COMMENT_DAYS"] = int(env["MIN_COMMENT_DAYS"])
    if env.get("LOGIN_SESSION_DAYS"):
        cfg["LOGIN_SESSION_DAYS"] = float(env["LOGIN_SESSION_DAYS"])
    return cfg


def _normalise_db_url(url: str) -> str:
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants the driver named.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure a Góp ý application."""
    from ratelimits import FORM_MAX_BYTES

    app = Flask(__name__, instance_relative_config=True)
    app.url_map.converters["int"] = IdConverter
    # The templates' own indentation around {% %} tags is not sent: about 5% of a page's bytes.
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(
        SECRET_KEY="development-only-key",  # noqa: S106 - refused outside development, see INSECURE_KEYS
        SQLALCHEMY_DATABASE_URI="sqlite:///" + str(Path(app.instance_path) / "gopy.sqlite"),
        SQLALCHEMY_ENGINE_OPTIONS={},
        SENDGRID_API_KEY=None,
        SENDGRID_API_HOST=None,
        MAIL_FROM="Góp ý <no-reply@gopy.local>",
        BASE_URL="http://127.0.0.1:5000",
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_HEADERS_ENABLED=True,
        # Redis down must not take the site down: limits fall back to each worker's memory.
        RATELIMIT_SWALLOW_ERRORS=True,
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        BABEL_DEFAULT_LOCALE="vi",
        BABEL_DEFAULT_TIMEZONE="Asia/Ho_Chi_Minh",
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        MIN_COMMENT_DAYS=30,
        LOGIN_SESSION_DAYS=30,
        OPERATOR_NAME="Đơn vị vận hành Cổng Góp ý",
        OPERATOR_ADDRESS="",
        OPERATOR_EMAIL="",
        OPERATOR_PHONE="",
        PRIVACY_CONTACT_NAME="",
        PRIVACY_CONTACT_EMAIL="",
        PRIVACY_CONTACT_PHONE="",
        UNVERIFIED_ACCOUNT_DAYS=30,
        INACTIVE_ACCOUNT_YEARS=3,
        INACTIVE_NOTICE_DAYS=30,
        CONSENT_RECORD_YEARS=5,
        PRIVACY_ANSWER_HOURS=72,
        MAX_CONTENT_LENGTH=12 * 1024 * 1024,
        UPLOAD_MAX_BYTES=10 * 1024 * 1024,
        # One cap for the text of any form (ratelimits._cap_body_size): Flask's default for a
        # multipart field, 500,000 bytes, refused the consultation form's longest draft.
        FORM_MAX_BYTES=FORM_MAX_BYTES,
        MAX_FORM_MEMORY_SIZE=FORM_MAX_BYTES,
        OUTBOX_DIR=str(Path(app.instance_path) / "outbox"),
        UPLOAD_DIR=str(Path(app.instance_path) / "uploads"),
        OPINIONS_PER_PAGE=20,
        CONSULTATIONS_PER_PAGE=10,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.config.from_mapping(_env_config())
    if test_config:
        app.config.from_mapping(test_config)
    secure = str(app.config["BASE_URL"]).startswith("https://")
    app.config["SESSION_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"] or secure
    app.config["REMEMBER_COOKIE_SECURE"] = app.config.get("REMEMBER_COOKIE_SECURE") or secure

    if app.config["SECRET_KEY"] in INSECURE_KEYS and not (app.debug or app.testing or _dev_mode()):
        raise RuntimeError(
            "SECRET_KEY must be set to a long random value outside development "
            '(python -c "import secrets; print(secrets.token_hex(32))").'
        )

    _configure_logging(app)
    _init_extensions(app)
    _register_blueprints(app)
    import ratelimits

    ratelimits.init_app(app)
    _register_template_helpers(app)
    import pagecontext

    pagecontext.init_app(app)
    _register_error_handlers(app)
    _register_security_headers(app)

    import caching

    caching.init_app(app)

    import cli

    cli.register(app)
    return app


def _dev_mode() -> bool:
    return os.environ.get("FLASK_DEBUG") in {"1", "true"} or os.environ.get("GOPY_ENV") == "development"


def _configure_logging(app: Flask) -> None:
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):  # pragma: no cover - driver hook
    # WAL lets readers and one writer work at once; the busy timeout makes writers wait
    # for each other instead of failing; foreign keys are off by default in SQLite.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()


def _select_locale() -> str:
    from flask_login import current_user

    forced = g.get("mail_locale")
    if forced:
        return forced
    lang = request.cookies.get("lang") if request else None
    if lang in LANGUAGES:
        return lang
    if current_user and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    from flask import current_app

    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _init_extensions(app: Flask) -> None:
    # Import every model so metadata is complete for migrations and create_all.
    import audit.models  # noqa: F401
    import audit.triggers  # noqa: F401 - append-only triggers, built by create_all
    import auth.models
    import auth.sessions
    import consultations.models  # noqa: F401
    import consultations.tally  # noqa: F401 - counts kept by triggers, built by create_all
    import localities.models  # noqa: F401

    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None  # the login page explains itself

    @login_manager.user_loader
    def load_user(value: str):
        return auth.sessions.load(value)


def _register_blueprints(app: Flask) -> None:
    import consultations.tracking  # noqa: F401 - /track, on the consultations blueprint
    from api.views import bp as api_bp
    from attachments.views import bp as attachments_bp
    from audit.views import bp as audit_bp
    from auth.views import bp as auth_bp
    from consultations.views import bp as consultations_bp
    from localities.views import bp as localities_bp
    from me.views import bp as me_bp
    from moderation.views import bp as moderation_bp
    from notices.views import bp as notices_bp
    from records.views import bp as records_bp

    app.register_blueprint(consultations_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(moderation_bp, url_prefix="/moderation")
    app.register_blueprint(me_bp, url_prefix="/me")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(localities_bp, url_prefix="/localities")
    app.register_blueprint(audit_bp, url_prefix="/audit")
    app.register_blueprint(records_bp)
    app.register_blueprint(attachments_bp)
    app.register_blueprint(notices_bp)
    csrf.exempt(api_bp)

    @app.get("/healthz")
    def healthz():
        """Report whether the application and its database answer."""
        from sqlalchemy import text

        db.session.execute(text("SELECT 1"))
        return {"status": "ok"}


def _register_template_helpers(app: Flask) -> None:
    import timeutil
    from auth import permissions

    class _Can:
        def __getattr__(self, name: str):
            return permissions.PREDICATES[name]

    @app.context_processor
    def inject():
        from flask_babel import get_locale

        return {"can": _Can(), "locale": str(get_locale() or "vi"), "languages": LANGUAGES}

    @app.template_filter("paragraphs")
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

    @app.template_filter("localdate")
    def localdate(dt):
        """A date or an instant as its calendar day in Vietnam: 14/8/2026."""
        from datetime import datetime

        if not dt:
            return ""
        return _day(timeutil.local_date(dt) if isinstance(dt, datetime) else dt)

    @app.template_filter("localdatetime")
    def localdatetime(dt):
        """An instant in Vietnam's time: "09:30 ngày 14/8/2026" ("09:30 on 14/8/2026" in English)."""
        if not dt:
            return ""
        local = timeutil.to_local(dt)
        return _("%(time)s on %(date)s", time=f"{local:%H:%M}", date=_day(local))

    @app.template_filter("closingdate")
    def closingdate(dt):
        """The last day on which opinions are accepted (closes_at is exclusive): 17/9/2026."""
        return _day(timeutil.closing_date(dt)) if dt else ""

    @app.template_filter("number")
    def number(value):
        from flask_babel import format_decimal

        return format_decimal(value or 0)


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


def _register_security_headers(app: Flask) -> None:
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


def _register_error_handlers(app: Flask) -> None:
    messages = {
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

    def handle(error):
        code = getattr(error, "code", 500) or 500
        if code == 500:
            db.session.rollback()
        description = getattr(error, "gopy_message", None) or messages.get(code, messages[500])()
        if request.path.startswith("/api/"):
            return {"error": description, "status": code}, code
        return render_template("errors/error.html", code=code, message=description), code

    for code in messages:
        app.register_error_handler(code, handle)
