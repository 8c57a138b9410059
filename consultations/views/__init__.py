"""Consultations and opinions on the web, on the one ``consultations`` blueprint: the list
(listing), the consultation page (here, rendered by page), the officials' forms (editing) and
decisions (lifecycle), and the opinions (opinions). /track is in consultations/tracking.py."""

from __future__ import annotations

from consultations import bp, labels
from consultations.views import editing, lifecycle, listing, opinions  # noqa: F401 - each adds its views to bp
from consultations.views.common import visible
from consultations.views.page import _render_show
from core.web import reads_only

# ``{{ value|label }}`` on every page: the translated name of an enum value.
bp.add_app_template_filter(labels.label, "label")


@bp.get("/consultations/<int:consultation_id>")
@reads_only
def show(consultation_id: int):
    """Show a consultation, its draft and the opinions on it."""
    # ``_render_show`` is looked up here, so a test can wrap it (tests/test_perf_caching.py).
    # Its articles and attachments are read only when a part that shows them is drawn (a query
    # each, then): a kept shared part and "Give your opinion" section need neither.
    return _render_show(visible(consultation_id, attachments=False, sections=False, follows=True))
