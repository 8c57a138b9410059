"""Flask extensions, created once and bound in ``create_app``."""

from functools import cached_property

from flask import g
from flask_babel import Babel, Domain
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from jinja2 import pass_context
from markupsafe import Markup
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# A naming convention keeps constraint names stable, so migrations are reproducible
# and batch mode on SQLite can find the constraints it must recreate.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


class _Domain(Domain):
    """Flask-Babel's message domain, with the translations found once per request and
    language rather than for every string: that lookup cost about 11 µs a string, and a
    consultation page translates over a hundred (bench/)."""

    def get_translations(self):
        try:
            held = g._get_current_object().__dict__
        except RuntimeError:  # outside an application context
            return super().get_translations()
        babel_ctx = held.get("_flask_babel")
        locale = getattr(babel_ctx, "babel_locale", None)
        cached = held.get("_gopy_translations")
        # force_locale() and refresh() put another Locale object in place: looked up again.
        if cached is not None and locale is not None and cached[0] is locale:
            return cached[1]
        translations = super().get_translations()
        held["_gopy_translations"] = (held["_flask_babel"].babel_locale, translations)
        return translations


class _Babel(Babel):
    @cached_property
    def domain_instance(self):
        return _Domain(domain=self.domain)

    def init_app(self, app, *args, **kwargs):
        super().init_app(app, *args, **kwargs)

        # Templates call the domain directly, without Flask-Babel's lookup of it per string,
        # and ``_`` is gettext itself rather than Jinja's alias that looks it up by name: a
        # page translates dozens of strings, each was three calls through the context.
        def translations():
            return self.domain_instance.get_translations()

        app.jinja_env.install_gettext_callables(
            gettext=lambda s: translations().ugettext(s),
            ngettext=lambda s, p, n: translations().ungettext(s, p, n),
            newstyle=True,
            pgettext=lambda c, s: translations().upgettext(c, s),
            npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        )

        # As jinja2.ext's newstyle gettext: autoescaped, and always a format string.
        @pass_context
        def gettext(ctx, string, /, **variables):
            rv = translations().ugettext(string)
            return (Markup(rv) if ctx.eval_ctx.autoescape else rv) % variables  # noqa: S704 - our catalogue

        @pass_context
        def ngettext(ctx, singular, plural, num, /, **variables):
            variables.setdefault("num", num)
            rv = translations().ungettext(singular, plural, num)
            return (Markup(rv) if ctx.eval_ctx.autoescape else rv) % variables  # noqa: S704 - our catalogue

        app.jinja_env.globals.update(_=gettext, gettext=gettext, ngettext=ngettext)


babel = _Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
