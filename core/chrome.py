"""The head links, header and footer around every page (templates/_site/), kept by
core/fragments.py: the same for every visitor with the same language, issuer and menu, they
were a third of a logged-in page's time, drawn again on every request. The CSRF token of the
"Log out" form and the count of unread notifications are holes, filled on each request;
base.html draws the rest of each page (its title, the language switch, the flashes) itself.

In debug mode nothing is kept: a template or stylesheet edited shows at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, render_template
from flask_babel import get_locale
from jinja2 import pass_context
from markupsafe import Markup

from core import fragments
from core.web import csrf_token


@dataclass(frozen=True)
class Chrome:
    head: Markup
    header: Markup
    footer: Markup


def _key(*parts) -> tuple | None:
    return None if current_app.debug else parts


@pass_context
def site_chrome(ctx, issuer_name: str, menu: dict, contact_address: str, contact_phone: str):
    """The page's head links, header and footer; ``menu``: signed_in, create, moderate, review
    (what the visitor's roles put in it); ``unread_notifications()`` is asked only when signed in."""
    locale = str(get_locale())
    flags = tuple(bool(menu.get(k)) for k in ("signed_in", "create", "moderate", "review"))

    def draw(template: str, **values) -> fragments.Part:
        return fragments.Part(render_template(template, hole=fragments.hole, **values))

    head = fragments.shared(_key("head", locale), lambda: draw("_site/head.html"))
    header = fragments.shared(
        _key("header", locale, issuer_name, flags),
        lambda: draw("_site/header.html", issuer_name=issuer_name, menu=dict(menu)),
    )
    footer = fragments.shared(
        _key("footer", locale, issuer_name, contact_address, contact_phone),
        lambda: draw(
            "_site/footer.html",
            issuer_name=issuer_name,
            contact_address=contact_address,
            contact_phone=contact_phone,
        ),
    )
    own = {}
    if flags[0]:
        # A page kept whole (consultations/views/page.py) keeps these holes for its own fill.
        own = HOLES if ctx.resolve("keeping") is True else visitor_parts()
    return Chrome(head.fill({}), header.fill(own), footer.fill({}))


#: The header's holes of a logged-in visitor, left as holes.
HOLES = {"csrf": fragments.hole("csrf"), "unread": fragments.hole("unread")}


def visitor_parts() -> dict[str, Markup | str]:
    """What fills the header's holes for the logged-in visitor: their CSRF token and count."""
    env = current_app.jinja_env
    unread = env.get_template("_site/unread.html").module.unread
    return {"csrf": csrf_token(), "unread": unread(env.globals["unread_notifications"]())}


def init_app(app) -> None:
    app.jinja_env.globals["site_chrome"] = site_chrome
