"""The list of public consultations (the home page)."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from consultations import bp, queries
from consultations.models import Category
from consultations.views.common import per_page
from core.pagination import paginate
from core.web import page_arg


@bp.get("/")
def index():
    """List public consultations, with filters and a diacritic-free search."""
    filters = queries.parse_filters(request.args)
    page = paginate(
        queries.public_consultations(filters),
        page_arg(),
        per_page("CONSULTATIONS_PER_PAGE"),
        queries.listing_order(filters.q),
    )
    drafts = queries.drafts_for(current_user) if page.page == 1 else []
    return render_template(
        "consultations/index.html",
        page=page,
        filters=filters,
        drafts=drafts,
        localities=queries.listed_localities(filters.locality),
        statuses=queries.PUBLIC_STATUSES,
        categories=list(Category),
    )
