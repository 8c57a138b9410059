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
from core.fragments import Part

#: An opinion id no database reaches, replaced in the drawn links by each opinion's own.
_STAND_IN = 987_654_321_987_654_321


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
    action = can.opinion_actions(current_user, consultation)
    drawn: dict[str, str] = {}

    def each(_name: str, opinion_id: int) -> Markup:
        kind = action(*part.data.get(opinion_id, (None, None)))
        if kind is None:
            return Markup()
        # Drawn once per kind, for a stand-in id: the links of each opinion differ only there.
        if kind not in drawn:
            drawn[kind] = str(actions(kind, _STAND_IN))
        return Markup(drawn[kind].replace(str(_STAND_IN), str(opinion_id)))  # noqa: S704

    return part.fill(parts, each)
