"""The read-only open-data JSON API: public fields only, never an e-mail, phone or full name."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, request, url_for
from flask_babel import gettext as _

from api import bp
from auth import permissions
from consultations import queries
from consultations.authors import public_author
from consultations.models import Consultation, Opinion, OpinionStatus
from core.pagination import Page, paginate
from core.web import page_arg, refuse
from decisions.results import results as vote_results

OPINIONS_PER_PAGE = 50


def _json(data: Any, status: int = 200) -> Response:
    # Vietnamese stays readable in the payload; the body is UTF-8 either way.
    return Response(
        json.dumps(data, ensure_ascii=False), status=status, mimetype="application/json"
    )


def _iso(dt) -> str | None:
    return dt.isoformat() if dt else None


def _page_meta(page: Page) -> dict[str, int]:
    return {"page": page.page, "pages": page.pages, "total": page.total, "per_page": page.per_page}


def _consultation(c: Consultation) -> dict[str, Any]:
    return {
        "id": c.id,
        "title": c.title,
        "summary": c.summary,
        "kind": c.kind.value,
        "category": c.category.value,
        "status": c.status.value,
        "locality": {"code": c.locality.code, "name": c.locality.name},
        "opens_at": _iso(c.opens_at),
        "closes_at": _iso(c.closes_at),
        "closed_early_at": _iso(c.closed_early_at),
        "close_reason": c.close_reason if c.closed_early_at else None,
        "opinion_count": c.opinion_count,
        "url": url_for("consultations.show", consultation_id=c.id, _external=True),
    }


def _opinion(op: Opinion) -> dict[str, Any]:
    public = op.status == OpinionStatus.published
    return {
        "id": op.id,
        "tracking_number": op.tracking_number,
        "stance": op.stance.value,
        "channel": op.channel.value,
        "section_id": op.section_id,
        "status": op.status.value,
        "body": op.body if public else None,
        "hidden_reason": op.hidden_reason if op.status == OpinionStatus.hidden else None,
        "edited_at": _iso(op.edited_at) if public else None,
        "response": (
            {"outcome": op.response.outcome.value, "explanation": op.response.explanation}
            if op.response is not None
            else None
        ),
        "created_at": _iso(op.created_at),
        "received_at": _iso(op.received_at),
        # Never an offline contributor's name unless they agreed to be named (authors.py).
        "author": public_author(op) or None,
    }


def _public(consultation_id: int) -> Consultation:
    c = queries.load_consultation(consultation_id)
    # The API is for everyone: drafts do not exist here, whoever asks.
    if c is None or not permissions.is_public(c):
        refuse(404)
    return c


@bp.get("/consultations")
def consultations():
    """List public consultations (filters: status, locality, category, q; ?page=)."""
    filters = queries.parse_filters(request.args)
    page = paginate(
        queries.public_consultations(filters),
        page_arg(),
        int(current_app.config["CONSULTATIONS_PER_PAGE"]),
        queries.listing_order(filters.q),
    )
    return _json({"items": [_consultation(c) for c in page.items], **_page_meta(page)})


@bp.get("/consultations/<int:consultation_id>")
def consultation(consultation_id: int):
    """One public consultation with its articles."""
    c = _public(consultation_id)
    data = _consultation(c)
    data["sections"] = [
        {"id": s.id, "position": s.position, "heading": s.heading, "text": s.text}
        for s in c.sections
    ]
    return _json(data)


@bp.get("/consultations/<int:consultation_id>/opinions")
def opinions(consultation_id: int):
    """The opinions on a public consultation, oldest first, 50 a page: ``?page=``, or
    ``?after=<id>`` to walk them all at a constant cost (``next_after`` gives the next step)."""
    c = _public(consultation_id)
    after = _after_arg()
    page = queries.opinions_page(
        c,
        page=page_arg(),
        per_page=OPINIONS_PER_PAGE,
        oldest_first=True,
        history=False,
        after=after,
    )
    meta: dict[str, Any] = {"total": page.total, "per_page": page.per_page}
    if after is None:
        meta.update(_page_meta(page))
    else:
        meta["after"] = after
    # Where a client goes on from: none once a page comes back short (the end).
    meta["next_after"] = page.items[-1].id if len(page.items) == page.per_page else None
    return _json({"items": [_opinion(op) for op in page.items], **meta})


@bp.get("/consultations/<int:consultation_id>/results")
def results(consultation_id: int):
    """The results of a decide consultation's household vote: counts only, never a household;
    ``status`` is "provisional" until they are published, then frozen with ``content_hash``."""
    c = _public(consultation_id)
    if not permissions.is_decided_by_vote(c):
        refuse(404)
    return _json(vote_results(c))


#: The largest id the opinion table holds (an INTEGER primary key: 32 bits on PostgreSQL).
MAX_ID = 2**31 - 1


def _after_arg() -> int | None:
    raw = request.args.get("after")
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        refuse(400, _("after= takes the id of an opinion, a whole number."))
    # Past the largest id the database can hold there is nothing more: an empty page, not an
    # OverflowError from the driver.
    return min(max(value, 0), MAX_ID)
