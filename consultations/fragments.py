"""The shared part of a consultation page, drawn once per change (core/fragments.py keeps it).

Everyone who reads a consultation (a resident logged in or not, another resident, the next
one) sees the same draft, counts and page of opinions; only a few places are their own: the
follow buttons, the household vote, the forms (each with its CSRF token), and beside each
opinion the author's "Edit" or a reader's "Report". The shared part
(templates/consultations/_show_shared.html) has a hole in each of those places and is kept
under a key that changes whenever what it shows changes: ``page_version`` (bumped by triggers,
consultations/pageversion.py), ``opinion_count`` (grows with every opinion), the
consultation's own ``updated_at`` and state, the day, the language, the page and article asked
for, and the permissions that change what staff see (consultations/views/page.py). The SQL of
a page stays constant and small, and the opinions are neither loaded nor drawn again until
one of them changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_login import current_user
from markupsafe import Markup

from auth import permissions as can
from core.fragments import Part, hole

#: An opinion id no database reaches, replaced in the drawn links by each opinion's own.
_STAND_IN = 987_654_321_987_654_321


#: Every kind of action ``can.opinion_actions`` decides (a page kept whole draws each once).
KINDS = ("edit", "report")


def _each(opinions: dict, consultation: Any, draw: Callable[[str], str]) -> Callable:
    """The filler of the opinions' holes: for each, the kind this visitor may do, as ``draw``
    draws it for the stand-in id, with the opinion's own id put in."""
    action = can.opinion_actions(current_user, consultation)

    def each(_name: str, opinion_id: int) -> Markup:
        kind = action(*opinions.get(opinion_id, (None, None)))
        if kind is None:
            return Markup()
        return Markup(draw(kind).replace(str(_STAND_IN), str(opinion_id)))  # noqa: S704

    return each


def fill(
    part: Part,
    parts: dict[str, Any],
    actions: Callable[[str, int], str] | None,
    consultation: Any,
) -> Markup:
    """``part`` (its ``data``: opinion id -> (author id, status)) with its holes filled: ``parts``
    by name, and each opinion's with ``actions(kind, opinion_id)`` for the kind
    auth/permissions.py decides for this visitor (None: nothing, as for a visitor who is not
    logged in)."""
    if actions is None:
        return part.fill(parts)
    drawn: dict[str, str] = {}

    def draw(kind: str) -> str:
        # Drawn once per kind, for a stand-in id: the links of each opinion differ only there.
        if kind not in drawn:
            drawn[kind] = str(actions(kind, _STAND_IN))
        return drawn[kind]

    return part.fill(parts, _each(part.data, consultation, draw))


def keep_holes(
    part: Part,
    drawn: dict[str, str],
    parts: dict[str, Any],
    actions: Callable[[str, int], str] | None,
    consultation: Any,
) -> Markup:
    """As ``fill``, for a page kept whole (consultations/views/page.py): the opinions' holes
    stay holes, and each kind of action is drawn into ``drawn`` for ``fill_kept``."""
    if actions is not None:
        drawn.update({kind: str(actions(kind, _STAND_IN)) for kind in KINDS})
    return part.fill(parts, hole)


def fill_kept(page: Part, parts: dict[str, Any], consultation: Any) -> Markup:
    """A page kept whole (its ``data``: the opinions and the actions ``keep_holes`` drew) with
    this visitor's parts and actions."""
    opinions, drawn = page.data
    return page.fill(parts, _each(opinions, consultation, drawn.__getitem__))
