"""The place of residence on the registration and account forms, for a country of 3,321 communes.

The form field stays ``locality`` (a code, PRODUCT.md). Up to a few hundred units it is a select
(auth.services.locality_choices); beyond, templates/auth/_locality.html draws a search:

- without JavaScript, a text field ``locality_q`` and a "Find" button (``locality_search``) inside
  the same form: the form comes back (200, nothing stored) with everything typed kept and the
  matches as radio buttons named ``locality``. Sending the form with a name typed but nothing
  chosen picks the commune of that exact name when there is only one ("cam lo" → Xã Cam Lộ);
- with JavaScript, static/app.js turns the text field into a combobox fed by
  ``/localities/search.json`` (views.py) and fills the same radio buttons.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import g, request
from werkzeug.datastructures import MultiDict

from auth.services import residence_locality
from localities import search
from localities.search import Entry

QUERY = "locality_q"
BUTTON = "locality_search"
#: Longest name looked for (the longest unit name is well under this).
QUERY_MAX = 100


@dataclass
class Picker:
    #: The select of few units (communes with villages); None: the search is drawn instead.
    choices: list | None = None
    query: str = ""
    options: list[Entry] = field(default_factory=list)
    #: A search was made (say so when it found nothing).
    searched: bool = False
    more: bool = False
    #: The "Find" button was pressed: show the matches, store nothing.
    searching: bool = False


def _query() -> str:
    if request.method != "POST":
        return request.args.get(QUERY, "")[:QUERY_MAX].strip()
    return request.form.get(QUERY, "")[:QUERY_MAX].strip()


def formdata():
    """The posted form, with ``locality`` filled from the typed name when that names exactly one
    commune or village and nothing was chosen. None on GET (no data: the form is empty)."""
    if request.method != "POST":
        return None
    form = request.form
    query = _query()
    if form.get("locality", "").strip() or not query or form.get(BUTTON):
        return form
    found = search.exact(query)
    communes = [e for e in found if e.kind.value == "commune"]
    one = communes if len(communes) == 1 else found if len(found) == 1 else []
    if not one:
        return form
    data = MultiDict(form)
    data["locality"] = one[0].code
    return data


def finding() -> bool:
    """This post asked for the matches of a typed name ("Find"): the view stores nothing and
    shows the form again. Pressing Enter in another field also sends "Find" (the first button of
    the form): when the place is already chosen among the matches, the post is the form's own.
    Registration's rate limits skip these posts (ratelimits.py), so looking costs no attempt."""
    if request.method != "POST" or not request.form.get(BUTTON):
        return False
    cached = g.get("_locality_finding")
    if cached is None:
        query = _query()
        chosen = request.form.get("locality", "").strip()
        codes = {e.code for e in search.search(query)[0]} if query else set()
        cached = g._locality_finding = bool(query) and chosen not in codes
    return cached


def build(f, choices: list | None) -> Picker:
    """What the template draws for the field ``f`` (its data is the chosen code, if any)."""
    if choices:
        return Picker(choices=choices)
    picker = Picker(query=_query())
    chosen = (f.data or "").strip() if isinstance(f.data, str) else ""
    if chosen and search.entry(chosen) is None:
        # A unit merged since it was chosen: offer the one that absorbed it.
        current = residence_locality(chosen)
        chosen = current.code if current is not None else chosen
    if picker.query:
        found, picker.more = search.search(picker.query)
        picker.searched = True
        codes = {e.code for e in found}
        picker.searching = finding()
        current = search.entry(chosen)
        if current is not None and current.code not in codes:
            found.insert(0, current)  # what was chosen stays on offer while looking again
        picker.options = found
    elif chosen:
        picker.options = search.around(chosen)
    return picker
