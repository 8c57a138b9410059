"""Every permission rule of Góp ý, as small named predicates.

Views call these before acting and templates call them to decide which buttons to show, so a
button appears exactly when the action is allowed. They answer *who* may act, and where the
state decides what may be seen or done at all (a draft, a scheduled or a concluded
consultation), the state too; the services check the state again and answer 409. A role held for a locality covers the localities under it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from auth.models import Role
from consultations.enums import Kind, OpinionStatus, Status

if TYPE_CHECKING:
    from consultations.models import Consultation, Opinion
    from households.models import Household
    from localities.models import Locality


def _user(user: Any):
    """The real user behind Flask-Login's proxy, or None for anonymous visitors."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user


def has_role_for(user: Any, role: Role, locality: Locality | None) -> bool:
    """Whether ``user`` holds ``role`` for ``locality`` or any unit above it."""
    user = _user(user)
    if user is None or locality is None:
        return False
    held = set(user.role_localities(role))
    if not held:
        return False
    return any(lid in held for lid in locality.ancestor_ids())


def is_verified_resident(user: Any) -> bool:
    user = _user(user)
    return user is not None and user.is_verified


def is_staff(user: Any, locality: Locality | None) -> bool:
    return any(
        has_role_for(user, r, locality) for r in (Role.official, Role.moderator, Role.reviewer)
    )


# --- consultations ------------------------------------------------------------------------


def can_create_consultation(user: Any, locality: Locality | None = None) -> bool:
    """Officials create consultations for their locality (any of theirs when none is named)."""
    user = _user(user)
    if user is None:
        return False
    if locality is None:
        return user.has_role(Role.official)
    return has_role_for(user, Role.official, locality)


def is_public(c: Consultation) -> bool:
    """Public from its opening on: a draft, or one opened for a date to come, is not (the
    open-data API and shared caches never see it)."""

    return c.status != Status.draft


def can_view_consultation(user: Any, c: Consultation) -> bool:
    """Everyone sees a consultation once it is open; a draft only its locality's officials."""
    return is_public(c) or has_role_for(user, Role.official, c.locality)


def is_official_of(user: Any, c: Consultation) -> bool:
    """An official of the consultation's locality (or of a unit above it)."""
    return has_role_for(user, Role.official, c.locality)


def can_edit_consultation(user: Any, c: Consultation) -> bool:
    return is_official_of(user, c)


def is_open_to_edits(c: Consultation) -> bool:
    """A consultation's text and dates change until it is public: a draft, or one opened for a
    date still to come (scheduled). Past that, only extending or closing it remains."""
    return c.status == Status.draft


def can_edit_draft(user: Any, c: Consultation) -> bool:
    """Its officials edit a consultation while it is open to edits (``is_open_to_edits``)."""
    return is_open_to_edits(c) and can_edit_consultation(user, c)


def is_opening_fixed(c: Consultation) -> bool:
    """Once opened (even for a date to come) the opening may not be moved back before now:
    a consultation edited into a backdated one would be public with fewer days than the law asks.
    A draft never opened takes its opening date when it is opened (``open_consultation``)."""
    return c.opened_at is not None


def is_open_to_attachments(c: Consultation) -> bool:
    """Files (maps, plans, the full decision text) are added while a draft or open: after the
    close, residents could no longer comment on them."""

    return c.status in (Status.draft, Status.open)


def can_attach_file(user: Any, c: Consultation) -> bool:
    return can_edit_consultation(user, c) and is_open_to_attachments(c)


def is_openable(c: Consultation) -> bool:
    """Only a draft never opened can be opened (a scheduled one already is, for its date)."""
    return c.stored_status == Status.draft


def is_open_to_opinions(c: Consultation) -> bool:
    """Residents give, change and withdraw opinions online while it is open."""
    return c.status == Status.open


def is_open_to_extension(c: Consultation) -> bool:
    """The closing date moves later while it is open, or opened for a date still to come."""
    return c.stored_status == Status.open and c.status in (Status.open, Status.draft)


# Opening, extending and closing are the officials' decisions, as editing is; each in its state
# (the views answer 403 when the user is not one of them, the services 409 for the state).
def can_open_consultation(user: Any, c: Consultation) -> bool:
    return can_edit_consultation(user, c) and is_openable(c)


def can_close_consultation(user: Any, c: Consultation) -> bool:
    return can_edit_consultation(user, c) and is_open_to_opinions(c)


def can_extend_consultation(user: Any, c: Consultation) -> bool:
    return can_edit_consultation(user, c) and is_open_to_extension(c)


# --- opinions -----------------------------------------------------------------------------


def can_post_opinion(user: Any, c: Consultation) -> bool:
    """Any resident with a verified e-mail may give an opinion on a consultation open to them."""
    return is_verified_resident(user) and can_view_consultation(user, c) and is_open_to_opinions(c)


def is_open_to_offline_opinions(c: Consultation) -> bool:
    """Opinions received offline are entered while open, and once closed until the record is
    published (a paper ballot handed in before the close arrives later)."""
    return c.status in (Status.open, Status.closed)


def can_enter_offline_opinion(user: Any, c: Consultation) -> bool:
    """Officials type in opinions received at meetings, on paper or by telephone."""
    return is_official_of(user, c) and is_open_to_offline_opinions(c)


def is_author(user: Any, opinion: Opinion) -> bool:
    """The opinion's author, with a verified e-mail."""
    user = _user(user)
    return user is not None and user.is_verified and opinion.author_id == user.id


def is_open_to_author_changes(opinion: Opinion) -> bool:
    """Its author edits or withdraws a published opinion while the consultation is open."""
    return opinion.status == OpinionStatus.published and is_open_to_opinions(opinion.consultation)


def can_edit_opinion(user: Any, opinion: Opinion) -> bool:
    """Only its author edits or withdraws an opinion, while it is open to changes."""
    return is_author(user, opinion) and is_open_to_author_changes(opinion)


can_withdraw_opinion = can_edit_opinion


def is_open_to_reports(opinion: Opinion) -> bool:
    """Opinions can be reported until the record is published: after it, nothing can change,
    so a report could never be cleared (the view answers 409)."""
    return opinion.consultation.status != Status.concluded


def is_reportable(opinion: Opinion) -> bool:
    """A published opinion, until the record is published (hidden and withdrawn ones are
    already out of public view)."""
    return opinion.status == OpinionStatus.published and is_open_to_reports(opinion)


def can_flag_opinion(user: Any, opinion: Opinion) -> bool:
    user = _user(user)
    return (
        user is not None
        and user.is_verified
        and opinion.author_id != user.id
        and is_open_to_reports(opinion)
    )


def opinion_action(user: Any, opinion: Opinion) -> str | None:
    """What the consultation page offers ``user`` beside ``opinion``: "edit" (its author's edit
    and withdraw), "report", or nothing."""
    if can_edit_opinion(user, opinion):
        return "edit"
    if is_reportable(opinion) and can_flag_opinion(user, opinion):
        return "report"
    return None


def opinion_actions(
    user: Any, c: Consultation
) -> Callable[[int | None, OpinionStatus], str | None]:
    """``opinion_action`` for the opinions of one page of ``c``, from their author and status
    alone: what does not depend on the opinion is found once (tests/test_permissions_matrix.py
    checks that both agree)."""
    user = _user(user)
    me = user.id if user is not None and user.is_verified else None
    changes = is_open_to_opinions(c)
    reports = c.status != Status.concluded

    def action(author_id: int | None, status: OpinionStatus) -> str | None:
        if me is None or status != OpinionStatus.published:
            return None
        if author_id == me:
            return "edit" if changes else None
        return "report" if reports else None

    return action


def can_see_hidden(user: Any, c: Consultation) -> bool:
    """Staff of the locality read hidden and withdrawn opinions in full."""
    return is_staff(user, c.locality)


# --- moderation, answers, record ------------------------------------------------------------


def can_moderate(user: Any, locality: Locality | None) -> bool:
    return has_role_for(user, Role.moderator, locality)


def can_moderate_anywhere(user: Any) -> bool:
    user = _user(user)
    return user is not None and user.has_role(Role.moderator)


def can_respond(user: Any, c: Consultation) -> bool:
    """Moderators and officials write the answers (tiếp thu, giải trình), and read the
    moderation page, of a consultation they can see: a draft is its officials' only."""
    return can_view_consultation(user, c) and (
        has_role_for(user, Role.moderator, c.locality)
        or has_role_for(user, Role.official, c.locality)
    )


def can_respond_anywhere(user: Any) -> bool:
    """Moderators and officials of some locality write answers (which ones: can_respond)."""
    user = _user(user)
    return user is not None and (user.has_role(Role.moderator) or user.has_role(Role.official))


def can_view_groups(user: Any, c: Consultation) -> bool:
    """The groups of alike opinions of a consultation (issue 16), and answering a whole group:
    who reads its moderation page and writes its answers."""
    return can_respond(user, c)


def can_regroup(user: Any, c: Consultation) -> bool:
    """Taking an opinion out of its group, merging two groups: the locality's moderators,
    until the record is published (the record prints the groups)."""
    return can_view_consultation(user, c) and can_moderate(user, c.locality) and not is_concluded(c)


def has_record(c: Consultation) -> bool:
    """The record of consultation is drawn up once the consultation has closed."""

    return c.status in (Status.closed, Status.concluded)


def is_concluded(c: Consultation) -> bool:
    """The record is published: the consultation is frozen and every change is refused."""

    return c.status == Status.concluded


def can_view_record(user: Any, c: Consultation) -> bool:
    """The record and its reviews are public once published; before, the locality's staff's."""
    return is_concluded(c) or can_export(user, c)


def can_read_record(user: Any, c: Consultation) -> bool:
    """The link to the record: once it is drawn up (``has_record``), for who may read it."""
    return has_record(c) and can_view_record(user, c)


def is_open_to_publishing(c: Consultation) -> bool:
    """The record is published once, after the close (publishing concludes the consultation);
    a decide consultation's once its results are published, for the record includes them."""
    return c.status == Status.closed and (not is_decided_by_vote(c) or has_published_results(c))


def can_publish_record(user: Any, c: Consultation) -> bool:
    return has_role_for(user, Role.moderator, c.locality)


def can_review(user: Any, c: Consultation) -> bool:
    """The locality's Fatherland Front reviewers write formal reviews (state: can_add_review)."""
    return has_role_for(user, Role.reviewer, c.locality)


def is_open_to_reviews(c: Consultation) -> bool:
    """The Front supervises the whole consultation: a formal review (phản biện) may come while
    it is open or once closed, until the record is published and frozen; never on a draft,
    which the public has not seen."""

    return c.status in (Status.open, Status.closed)


def can_add_review(user: Any, c: Consultation) -> bool:
    """A reviewer of the locality, while the consultation takes reviews (the view answers 403
    for the first, 409 for the second)."""
    return can_review(user, c) and is_open_to_reviews(c)


def can_export(user: Any, c: Consultation) -> bool:
    """The locality's staff download the opinions, of a consultation they can see."""
    return can_view_consultation(user, c) and is_staff(user, c.locality)


#: Who reads a locality's audit trail.
AUDIT_ROLES = (Role.reviewer, Role.admin)
#: Whose localities the moderation queue and the dashboard cover.
QUEUE_ROLES = (Role.moderator,)
DASHBOARD_ROLES = (Role.reviewer, Role.moderator)


def can_view_audit(user: Any, locality: Locality | None) -> bool:
    return any(has_role_for(user, role, locality) for role in AUDIT_ROLES)


def audit_localities(user: Any) -> list[Locality]:
    """The localities whose trail ``user`` reads (with the units under each), as assigned."""
    user = _user(user)
    if user is None:
        return []
    seen: set[int] = set()
    out = []
    for assignment in user.assignments:
        if assignment.role in AUDIT_ROLES and assignment.locality_id not in seen:
            seen.add(assignment.locality_id)
            out.append(assignment.locality)
    return out


def can_review_anywhere(user: Any) -> bool:
    user = _user(user)
    return user is not None and user.has_role(Role.reviewer)


def can_view_dashboard(user: Any) -> bool:
    """Reviewers and moderators follow their localities' consultations and answers."""
    return can_review_anywhere(user) or can_moderate_anywhere(user)


# --- following and notifications ----------------------------------------------------------


def can_follow(user: Any, c: Consultation) -> bool:
    """Anyone logged in follows a consultation they can see, once it is public (not a draft)."""
    return _user(user) is not None and can_view_consultation(user, c) and is_public(c)


def can_follow_locality(user: Any, locality: Locality | None) -> bool:
    """Anyone logged in follows a locality (new consultations opened there or below)."""
    return _user(user) is not None and locality is not None


# --- households and their votes (Art. 15; a decide consultation's state is c.decision's) ---


def can_manage_households(user: Any, locality: Locality | None) -> bool:
    """A village's register of households is kept by the officials of the village or above;
    the representatives' names are personal data, shown to no one else."""
    return has_role_for(user, Role.official, locality)


def can_manage_households_anywhere(user: Any) -> bool:
    user = _user(user)
    return user is not None and user.has_role(Role.official)


def is_decided_by_vote(c: Consultation) -> bool:
    return c.kind == Kind.decide


def is_open_to_votes(c: Consultation) -> bool:
    """Online votes are cast while a decide consultation is open: its dates are the period."""
    return is_decided_by_vote(c) and c.status == Status.open


def can_vote(user: Any, c: Consultation, household: Household | None) -> bool:
    """The linked representative of a household votes (the service checks it is one of the
    consultation's community, and answers 409 for a second vote)."""
    user = _user(user)
    return (
        is_verified_resident(user)
        and household is not None
        and household.active
        and household.representative_id == user.id
        and is_open_to_votes(c)
    )


def is_counted(c: Consultation) -> bool:
    return c.decision is not None and c.decision.counted_at is not None


def is_open_to_ballots(c: Consultation) -> bool:
    """Paper ballots and a meeting's votes are entered while open, and once closed until the
    counting committee confirms the count."""
    return is_decided_by_vote(c) and c.status in (Status.open, Status.closed) and not is_counted(c)


def can_print_ballots(user: Any, c: Consultation) -> bool:
    """Officials print the numbered ballots before or during the vote."""
    return is_official_of(user, c) and is_decided_by_vote(c) and c.status != Status.concluded


def can_enter_ballots(user: Any, c: Consultation) -> bool:
    return is_official_of(user, c) and is_open_to_ballots(c)


def can_see_voters(user: Any, c: Consultation) -> bool:
    """The locality's staff see which households voted; how, only when the vote is not secret."""
    return is_decided_by_vote(c) and is_staff(user, c.locality)


def is_counting_staff(user: Any, c: Consultation) -> bool:
    """Officials and moderators act for the counting committee (tổ kiểm phiếu) on the site."""
    return has_role_for(user, Role.official, c.locality) or has_role_for(
        user, Role.moderator, c.locality
    )


def is_open_to_counting(c: Consultation) -> bool:
    """After the close the committee reconciles, corrects with a reason, and confirms once."""
    return is_decided_by_vote(c) and c.status == Status.closed and not is_counted(c)


def can_count_votes(user: Any, c: Consultation) -> bool:
    return is_counting_staff(user, c) and is_open_to_counting(c)


def is_open_to_sign_off(c: Consultation) -> bool:
    return is_counted(c) and c.decision.signed_at is None


def can_sign_results(user: Any, c: Consultation) -> bool:
    """The locality's Fatherland Front reviewer signs the confirmed count off."""
    return has_role_for(user, Role.reviewer, c.locality) and is_open_to_sign_off(c)


def has_published_results(c: Consultation) -> bool:
    return c.decision is not None and c.decision.published_at is not None


def is_open_to_results_publishing(c: Consultation) -> bool:
    return is_counted(c) and c.decision.signed_at is not None and not has_published_results(c)


def can_publish_results(user: Any, c: Consultation) -> bool:
    return is_counting_staff(user, c) and is_open_to_results_publishing(c)


def can_view_results(user: Any, c: Consultation) -> bool:
    """Counts only, for everyone who can see the consultation (provisional until published)."""
    return is_decided_by_vote(c) and can_view_consultation(user, c)


# --- administration -------------------------------------------------------------------------


def can_administer(user: Any) -> bool:
    user = _user(user)
    return user is not None and user.has_role(Role.admin)


def can_manage_mail(user: Any) -> bool:
    """The outbox page (``/admin/mail``): addresses and subjects of unsent mail, admins only."""
    return can_administer(user)


#: Exposed to templates as ``can.<name>(...)``.
PREDICATES = {
    name: obj
    for name, obj in dict(globals()).items()
    if callable(obj) and (name.startswith(("can_", "is_", "has_")))
}
