"""``/track?number=YK-2026-000123``: anyone, without an account, follows an opinion by its
tracking number (the receipt and the printed notice give this address). Public fields only:
the opinion's state, its text when published, and the authority's answer; never a name."""

from __future__ import annotations

import re

from flask import render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import Form, StringField

from auth import permissions as can
from consultations import bp
from consultations.authors import public_author
from consultations.models import Opinion
from core.extensions import db

#: YK-<year>-<6 digits> (PRODUCT.md); typed with spaces or in lower case, it is still found.
NUMBER = re.compile(r"YK-\d{4}-\d{6}")


class TrackForm(Form):
    """A GET form without a CSRF token: the page needs no session and can be cached."""

    number = StringField(
        _l("Tracking number"),
        render_kw={"autocomplete": "off", "spellcheck": "false", "inputmode": "text"},
    )


def normalise(raw: str) -> str:
    return "".join(raw.split()).upper().replace("–", "-").replace("—", "-")


@bp.get("/track")
def track():
    """Show an opinion's state and answer from its tracking number."""
    form = TrackForm(request.args)
    raw = request.args.get("number", "")
    if not raw.strip():
        return render_template("consultations/track.html", form=form, opinion=None)
    number = normalise(raw)
    if not NUMBER.fullmatch(number):
        form.number.errors = [
            _(
                "Enter the tracking number as it is printed on your receipt, for example YK-2026-000123."
            )
        ]
        return render_template("consultations/track.html", form=form, opinion=None), 400
    opinion = db.session.scalar(select(Opinion).where(Opinion.tracking_number == number))
    if opinion is None or not can.can_view_consultation(current_user, opinion.consultation):
        form.number.errors = [
            _(
                "No opinion has the tracking number %(number)s. Check the number on your receipt.",
                number=number,
            )
        ]
        return render_template("consultations/track.html", form=form, opinion=None), 404
    form.number.data = number
    return render_template(
        "consultations/track.html",
        form=form,
        opinion=opinion,
        c=opinion.consultation,
        # Never the offline contributor's name unless they agreed (consultations/authors.py).
        author=public_author(opinion),
    )
