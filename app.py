"""Góp ý: the application factory."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

# Every model, so the metadata is complete for migrations and create_all; the triggers that
# keep the audit trail append-only and the counts current are part of that metadata.
import alike.grouping
import alike.models  # noqa: F401
import audit.models
import audit.triggers  # noqa: F401
import auth.models  # noqa: F401
import commands
import consultations.models
import consultations.pageversion
import consultations.tally
import consultations.tracking  # noqa: F401 - /track, on the consultations blueprint
import decisions.models  # noqa: F401
import exportjobs.models  # noqa: F401
import households.models  # noqa: F401
import localities.models  # noqa: F401
import notifications.jobs  # the worker's schedule of sweeps and digests
import notifications.models  # noqa: F401
import outbox.models
import outbox.sending  # noqa: F401 - the send jobs, the sweep and the session hooks
from alike.views import bp as alike_bp
from api.views import bp as api_bp
from attachments.views import bp as attachments_bp
from audit.views import bp as audit_bp
from auth import sessions
from auth.views import bp as auth_bp
from consultations.views import bp as consultations_bp
from consultations.views import common as consultation_views
from core import chrome, config, cookiesession, errors, http, i18n, pagecontext, templating, web
from core.extensions import babel, csrf, db, limiter, login_manager, migrate
from decisions.views import bp as decisions_bp
from exportjobs.views import bp as exportjobs_bp
from households.views import bp as households_bp
from infra import caching, queue, ratelimits
from localities import names as locality_names
from localities.views import bp as localities_bp
from me.views import bp as me_bp
from moderation.views import bp as moderation_bp
from notices.views import bp as notices_bp
from notifications import pagestate
from notifications.views import bp as notifications_bp
from outbox.views import bp as outbox_bp
from records.views import bp as records_bp

# Kept importable from here: the stable way to ask which languages the site speaks.
LANGUAGES = i18n.LANGUAGES


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure a Góp ý application."""
    app = Flask(__name__, instance_relative_config=True)
    app.url_map.converters["int"] = http.IdConverter
    # The templates' own indentation around {% %} tags is not sent: about 5% of a page's bytes.
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(config.defaults(app.instance_path))
    app.config.from_mapping(config.from_environment())
    if test_config:
        app.config.from_mapping(test_config)
    secure = str(app.config["BASE_URL"]).startswith("https://")
    app.config["SESSION_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"] or secure
    app.config["REMEMBER_COOKIE_SECURE"] = app.config.get("REMEMBER_COOKIE_SECURE") or secure
    config.refuse_insecure(app.config, app.debug, app.testing)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = config.engine_options(app.config)

    if not app.debug and not app.testing:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    _init_extensions(app)
    queue.init_app(app)
    _register_blueprints(app)
    ratelimits.init_app(app)
    templating.init_app(app)
    pagecontext.init_app(app)
    chrome.init_app(app)
    locality_names.init_app(app)
    errors.init_app(app)
    http.init_app(app)
    cookiesession.init_app(app)  # a session cookie verified once per process
    caching.init_app(app)
    commands.register(app)
    web.init_app(app)  # last: its hook runs before every other one
    return app


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


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None  # the login page explains itself
    login_manager.user_loader(sessions.load)
    pagestate.init_app(app)  # the header's unread count read with the person of each request
    consultation_views.init_app(app)  # the consultation page's consultation read with them too


def _register_blueprints(app: Flask) -> None:
    app.register_blueprint(consultations_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(moderation_bp, url_prefix="/moderation")
    app.register_blueprint(alike_bp, url_prefix="/moderation")
    app.register_blueprint(me_bp, url_prefix="/me")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(localities_bp, url_prefix="/localities")
    app.register_blueprint(audit_bp, url_prefix="/audit")
    app.register_blueprint(records_bp)
    app.register_blueprint(exportjobs_bp)
    app.register_blueprint(attachments_bp)
    app.register_blueprint(notices_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(households_bp)
    app.register_blueprint(decisions_bp)
    app.register_blueprint(outbox_bp)
    csrf.exempt(api_bp)

    @app.get("/healthz")
    def healthz():
        """Report whether the application and its database answer."""
        db.session.execute(text("SELECT 1"))
        return {"status": "ok"}
