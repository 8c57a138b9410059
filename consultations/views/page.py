"""The consultation page as rendered: the draft, the counts, the opinions and every form that acts
on it (the ``show`` view, in __init__.py; the forms' views re-render it with their refusal)."""

from __future__ import annotations

import functools

from flask import current_app, render_template, request, session
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup

from auth import permissions as can
from consultations import fragments, queries, tally
from consultations.forms import CloseForm, ExtendForm, OfflineOpinionForm, OpinionForm
from consultations.models import Channel, Consultation, Section
from consultations.views.common import per_page
from core import chrome
from core import fragments as kept
from core.web import csrf_token, page_arg
from localities.names import page_authority_of
from notifications.views import follow_block


def _section_arg(c: Consultation) -> Section | None:
    try:
        wanted = int(request.args.get("section", ""))
    except ValueError:
        return None
    return next((s for s in c.sections if s.id == wanted), None)


def _chosen_section(c: Consultation) -> Section | None:
    """The article named by ``?section_id=`` (the opinion form's own field name), if it is one of c's."""
    wanted = request.args.get("section_id", "")
    return next((s for s in c.sections if str(s.id) == wanted), None) if wanted.isdigit() else None


def _blank(form_class, c: Consultation | None = None):
    # formdata=None: on a re-rendered POST, only the form that was sent shows the typed text.
    form = form_class(formdata=None)
    if c is not None and hasattr(form, "set_sections"):
        form.set_sections(c.sections)
    return form


def _perms(c: Consultation) -> dict[str, bool]:
    """What changes the shared part between visitors (the staff's links): part of its key."""
    user = current_user._get_current_object()  # type: ignore[attr-defined]  # once, not seven times
    return {
        "see_hidden": can.can_see_hidden(user, c),
        "read_record": can.can_read_record(user, c),
        "respond": can.can_respond(user, c),
        "add_review": can.can_add_review(user, c),
        "export": can.can_export(user, c),
        "attach": can.can_attach_file(user, c),
        "edit_draft": can.can_edit_draft(user, c),
    }


def _shared_key(c: Consultation, section: Section | None, perms: dict[str, bool]) -> tuple | None:
    """Everything the shared part depends on; None for a draft (few read it, and its links are
    the officials' own)."""
    if not can.is_public(c):
        return None
    return (
        c.id,
        c.page_version,
        c.opinion_count,
        c.updated_at,
        c.status,
        queries.days_left(c),
        str(get_locale()),
        page_arg(),
        per_page("OPINIONS_PER_PAGE"),
        section.id if section else None,
        tuple(perms.values()),
    )


def _render_shared(c: Consultation, section: Section | None, perms: dict[str, bool]) -> kept.Part:
    counts = tally.read(c.id)
    opinions = queries.opinions_page(
        c,
        page=page_arg(),
        per_page=per_page("OPINIONS_PER_PAGE"),
        section_id=section.id if section else None,
        total=counts.total(section.id if section else None),
    )
    html = render_template(
        "consultations/_show_shared.html",
        c=c,
        section=section,
        sections_by_id={s.id: s for s in c.sections},
        counts=counts.stance_counts(),
        opinions=opinions,
        days_left=queries.days_left(c),
        see_hidden=perms["see_hidden"],
        perms=perms,
        hole=kept.hole,
    )
    return kept.Part(html, {op.id: (op.author_id, op.status) for op in opinions.items})


def _give_kept(c: Consultation, chosen: Section | None) -> Markup:
    """The "Give your opinion" section with a blank form, for a resident who may post: kept
    once per article chosen, with their display name and CSRF token put in on each request."""

    def render() -> kept.Part:
        form = _blank(OpinionForm, c)
        if chosen is not None:
            form.section_id.data = str(chosen.id)
        html = render_template(
            "consultations/_give_opinion.html",
            c=c,
            opinion_form=form,
            chosen_section=chosen,
            offline_form=None,
            author_name=kept.hole("author"),
            csrf_token=lambda: kept.hole("csrf"),
        )
        return kept.Part(html)

    key = None
    if can.is_public(c):
        key = (
            "give",
            c.id,
            c.page_version,
            c.updated_at,
            c.status,
            str(get_locale()),
            chosen.id if chosen else None,
        )
    part = kept.shared(key, render)
    return part.fill({"author": current_user.display_name, "csrf": csrf_token()})


def _render_show(
    c: Consultation,
    *,
    status: int = 200,
    opinion_form=None,
    offline_form=None,
    close_form=None,
    extend_form=None,
    action_error: str | None = None,
):
    section = _section_arg(c)
    perms = _perms(c)
    shared_key = _shared_key(c, section, perms)
    shared = kept.shared(shared_key, lambda: _render_shared(c, section, perms))
    user = current_user._get_current_object()  # type: ignore[attr-defined]  # once, not ten times
    # A visitor who is not logged in sees none of the forms: building them would sign a CSRF
    # token into a new session, and the page could no longer be cached or sent without a cookie.
    signed_in = user.is_authenticated
    # "Góp ý về điều này" beside an article links here with ?section_id=: the form opens with
    # that article chosen, without JavaScript. A refused form keeps what was sent instead.
    chosen = _chosen_section(c)
    offline = signed_in and can.can_enter_offline_opinion(user, c)
    give_kept = None
    if opinion_form is None and not offline and can.can_post_opinion(user, c):
        give_kept = _give_kept(c, chosen)
    elif opinion_form is None and signed_in:
        opinion_form = _blank(OpinionForm, c)
        if chosen is not None:
            opinion_form.section_id.data = str(chosen.id)
    if offline_form is None and offline:
        offline_form = _blank(OfflineOpinionForm, c)
        offline_form.channel.data = Channel.meeting.value
        if chosen is not None:
            offline_form.section_id.data = str(chosen.id)
    manage = signed_in and can.can_close_consultation(user, c)
    refused = (opinion_form, offline_form, close_form, extend_form, action_error) != (None,) * 5
    key = None
    if give_kept is not None and not refused and not manage:
        key = _page_key(user, c, shared_key, perms)
    if key is not None:
        page = kept.shared(key, lambda: _render_kept(c, shared, perms))
        parts = {
            **chrome.visitor_parts(),
            "here": request.full_path if request.query_string else request.path,
            "follow": follow_block(c),
            "give": give_kept,
        }
        return fragments.fill_kept(page, parts, c), status
    html = render_template(
        "consultations/show.html",
        c=c,
        fill=functools.partial(fragments.fill, shared),
        perms=perms,
        opinion_form=opinion_form,
        chosen_section=chosen,
        offline_form=offline_form,
        give_kept=give_kept,
        close_form=close_form or (_blank(CloseForm) if manage else None),
        extend_form=extend_form or (_blank(ExtendForm) if manage else None),
        action_error=action_error,
    )
    return html, status


def _page_key(
    user, c: Consultation, shared_key: tuple | None, perms: dict[str, bool]
) -> tuple | None:
    """The key of the whole page of a resident who may give an opinion, or None when the page
    has more of the visitor's own than holes can carry: staff's forms and links, a household
    vote, a message flashed for them, a refused form, or debug mode (templates shown as
    edited)."""
    if shared_key is None or any(perms.values()) or current_app.debug:
        return None
    if can.is_decided_by_vote(c) or "_flashes" in session:
        return None
    authority = page_authority_of(c)
    return (
        "page",
        *shared_key,
        # What base.html draws around it: the menu of this person's roles and the issuer.
        can.can_create_consultation(user),
        can.can_moderate_anywhere(user),
        can.can_review_anywhere(user),
        (authority.id, authority.name, authority.address, authority.phone) if authority else None,
    )


def _render_kept(c: Consultation, shared: kept.Part, perms: dict[str, bool]) -> kept.Part:
    """The whole page with a hole for each of the visitor's own parts (the header's token and
    count, the language form's address, the follow buttons, "Give your opinion", each
    opinion's action), and each kind of action drawn once."""
    drawn: dict[str, str] = {}
    html = render_template(
        "consultations/show.html",
        c=c,
        keeping=True,
        hole=kept.hole,
        csrf_token=lambda: kept.hole("csrf"),
        fill=functools.partial(fragments.keep_holes, shared, drawn),
        perms=perms,
        opinion_form=None,
        chosen_section=None,
        offline_form=None,
        give_kept=kept.hole("give"),
        close_form=None,
        extend_form=None,
        action_error=None,
    )
    return kept.Part(html, (shared.data, drawn))
