"""Locality pages (old codes keep working after merges)."""

from flask import redirect, url_for

from localities import bp
from localities.models import get_by_code
from web import refuse


@bp.get("/<code>")
def show(code: str):
    """Show the consultations of a locality, following merges to the unit that exists today."""
    locality = get_by_code(code[:32])
    if locality is None:
        refuse(404)
    return redirect(url_for("consultations.index", locality=locality.current().code))
