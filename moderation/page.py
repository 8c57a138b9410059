"""The moderator's page of a consultation: the progress of the answers, the groups of alike
opinions and a page of opinions with the forms beside each.

All of it but the CSRF token is the same for every moderator with the same rights, so it is drawn
once and kept (core/fragments.py) under the consultation's ``page_version`` (bumped by triggers
when an opinion, an answer, a report or a group changes: consultations/pageversion.py) and
``opinion_count``, the filters, the page and the rights that change the forms. A kept page reads
no opinion, tally or group. A page with a refused form is drawn each time, with what was sent.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import render_template, url_for
from flask_babel import get_locale
from flask_login import current_user

from alike import queries as alike_queries
from auth import permissions
from consultations import tally
from consultations.models import Consultation, Opinion
from core import fragments as kept
from core.web import csrf_token
from moderation import queries, services
from moderation.forms import OUTCOME_LABELS


def int_arg(args: Mapping[str, str], name: str) -> int | None:
    try:
        value = int(args.get(name, ""))
    except (TypeError, ValueError):
        return None
    return value if 0 < value < 2**63 else None


def page_number(args: Mapping[str, str]) -> int:
    return min(int_arg(args, "page") or 1, 100_000)


def point_at(failed: dict | None, items: list[Opinion]) -> None:
    """Tell the error summary at the top of the page (pagecontext.py) where the fields of the
    refused form are: they are drawn by hand, with the opinion in their ids (_macros.html)."""
    if not failed:
        return
    form, kind = failed["form"], failed["kind"]
    if kind == "hide":
        form.error_anchors = {"reason": f"reason-{failed['opinion_id']}"}
        return
    prefix = "group" if kind == "group" else f"op{failed['opinion_id']}"
    form.error_anchors = {
        "outcome": f"outcome-{prefix}-{next(iter(OUTCOME_LABELS))}",
        "explanation": f"explanation-{prefix}",
        "summary": f"summary-{prefix}",
    }
    if kind == "group":
        first = next((op for op in items if op.status != "withdrawn"), None)
        form.error_anchors["opinion_ids"] = f"select-{first.id}" if first else "group-answer"


def render(
    c: Consultation, args: Mapping[str, str], *, status: int = 200, failed: dict | None = None
):
    state = args.get("state") if args.get("state") in queries.STATES else "all"
    whole = args.get("section") == "whole"
    section_id = None if whole else int_arg(args, "section")
    page = page_number(args)
    rights = {
        "can_hide": permissions.can_moderate(current_user, c.locality),
        "concluded": permissions.is_concluded(c),
        "anywhere": permissions.can_moderate_anywhere(current_user),  # where "Back" leads
    }
    key = None
    if not failed:
        key = (
            "moderation",
            c.id,
            c.page_version,
            c.opinion_count,
            c.updated_at,
            c.status,
            str(get_locale()),
            state,
            whole,
            section_id,
            page,
            tuple(rights.values()),
        )

    def draw() -> kept.Part:
        return _draw(c, state, whole, section_id, page, rights, failed)

    part = kept.shared(key, draw)
    return render_template(
        "moderation/consultation.html",
        c=c,
        content=part.fill({"csrf": csrf_token()}),
        failed=failed,  # the error summary at the top finds the refused form here
    ), status


def _draw(
    c: Consultation,
    state: str,
    whole: bool,
    section_id: int | None,
    page: int,
    rights: dict[str, bool],
    failed: dict | None,
) -> kept.Part:
    counts = tally.read(c.id)  # the page's count and the progress: one read of the tally
    pagination = queries.consultation_opinions(
        c, state=state, section_id=section_id, whole_draft=whole, page=page, counts=counts
    )
    items = list(pagination.items)
    point_at(failed, items)
    here_args = {
        k: v
        for k, v in (
            ("state", state if state != "all" else None),
            ("section", "whole" if whole else section_id),
        )
        if v
    }
    html = render_template(
        "moderation/_consultation_content.html",
        c=c,
        progress=services.answer_progress(c.id, counts),
        state=state,
        section_filter="whole" if whole else section_id,
        pagination=pagination,
        items=items,
        flags=queries.open_flags([op.id for op in items]),
        groups=alike_queries.groups_of([op.id for op in items]),
        alike=alike_queries.overview(c.id),
        can_hide=rights["can_hide"],
        concluded=rights["concluded"],
        back_to_queue=rights["anywhere"],
        here=url_for(
            "moderation.consultation", consultation_id=c.id, page=pagination.page, **here_args
        ),
        here_args=here_args,
        failed=failed,
        csrf_token=lambda: kept.hole("csrf"),
    )
    return kept.Part(html)
