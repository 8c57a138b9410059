"""Locality pages (old codes keep working after merges) and the place picker's search."""

from flask import jsonify, redirect, request, url_for

from core.web import refuse
from localities import bp, search
from localities.models import get_by_code
from localities.picker import QUERY_MAX

#: Names of units change rarely (a reform, a rename): a phone may keep an answer for a while.
SEARCH_MAX_AGE = 300


@bp.get("/search.json")
def search_json():
    """Communes, wards, special zones and villages whose name matches ``q`` (diacritics optional),
    best first, for the place picker of static/app.js. Public data only: code, name, kind and the
    units above it."""
    query = request.args.get("q", "")[:QUERY_MAX].strip()
    found, more = search.search(query)
    response = jsonify({"query": query, "results": [e.as_json() for e in found], "more": more})
    response.headers["Cache-Control"] = f"public, max-age={SEARCH_MAX_AGE}"
    return response


@bp.get("/<code>")
def show(code: str):
    """Show the consultations of a locality, following merges to the unit that exists today."""
    locality = get_by_code(code[:32])
    if locality is None:
        refuse(404)
    return redirect(url_for("consultations.index", locality=locality.current().code))
