"""Every permission rule of Góp ý, as small named predicates.

Views call these before acting and templates call them to decide which buttons to show, so a
button appears exactly when the action is allowed. They answer *who* may act, and where the
state decides what may be seen or done at all (a draft, a scheduled or a concluded
consultation), the state too; the services check the state again and answer 409. A role held for a locality covers the localities under it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from auth.models import Role

if TYPE_CHECKING:
    from consultations.models import Consultation, Opinion
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


def can_view_consultation(user: Any, c: Consultation) -> bool:
    """Everyone sees a consultation once it is open; a draft only its locality's officials."""
    from consultations.models import Status

    if c.status != Status.draft:
        return True
    return has_role_for(user, Role.official, c.locality)


def can_edit_consultation(user: Any, c: Consultation) -> bool:
    return has_role_for(user, Role.official, c.locality)


def can_edit_draft(user: Any, c: Consultation) -> bool:
    """Its officials edit a consultation until it is public: a draft, or one opened for a date
    still to come (scheduled). Past that, only extending or closing it remains."""
    from consultations.models import Status

    return c.status == Status.draft and can_edit_consultation(user, c)


def is_opening_fixed(c: Consultation) -> bool:
    """Once opened (even for a date to come) the opening may not be moved back before now:
    a consultation edited into a backdated one would be public with fewer days than the law asks.
    A draft never opened takes its opening date when it is opened (``open_consultation``)."""
    return c.opened_at is not None


# Opening, extending and closing are the officials' decisions, as editing is.
can_open_consultation = can_edit_consultation
can_close_consultation = can_edit_consultation
can_extend_consultation = can_edit_consultation


# --- opinions -----------------------------------------------------------------------------


def can_post_opinion(user: Any, c: Consultation) -> bool:
    """Any resident with a verified e-mail may give an opinion on a public consultation."""
    return is_verified_resident(user) and can_view_consultation(user, c)


def can_enter_offline_opinion(user: Any, c: Consultation) -> bool:
    """Officials type in opinions received at meetings, on paper or by telephone."""
    return has_role_for(user, Role.official, c.locality)


def can_edit_opinion(user: Any, opinion: Opinion) -> bool:
    """Only its author edits or withdraws an opinion."""
    user = _user(user)
    return user is not None and user.is_verified and opinion.author_id == user.id


can_withdraw_opinion = can_edit_opinion


def is_open_to_reports(opinion: Opinion) -> bool:
    """Opinions can be reported until the record is published: after it, nothing can change,
    so a report could never be cleared (the view answers 409)."""
    from consultations.models import Status

    return opinion.consultation.status != Status.concluded


def can_flag_opinion(user: Any, opinion: Opinion) -> bool:
    user = _user(user)
    return (
        user is not None
        and user.is_verified
        and opinion.author_id != user.id
        and is_open_to_reports(opinion)
    )


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


def can_publish_record(user: Any, c: Consultation) -> bool:
    return has_role_for(user, Role.moderator, c.locality)


def can_review(user: Any, c: Consultation) -> bool:
    return has_role_for(user, Role.reviewer, c.locality)


def can_export(user: Any, c: Consultation) -> bool:
    """The locality's staff download the opinions, of a consultation they can see."""
    return can_view_consultation(user, c) and is_staff(user, c.locality)


def can_view_audit(user: Any, locality: Locality | None) -> bool:
    return has_role_for(user, Role.reviewer, locality) or has_role_for(user, Role.admin, locality)


def can_review_anywhere(user: Any) -> bool:
    user = _user(user)
    return user is not None and user.has_role(Role.reviewer)


def can_view_dashboard(user: Any) -> bool:
    """Reviewers and moderators follow their localities' consultations and answers."""
    return can_review_anywhere(user) or can_moderate_anywhere(user)


# --- administration -------------------------------------------------------------------------


def can_administer(user: Any) -> bool:
    user = _user(user)
    return user is not None and user.has_role(Role.admin)


#: Exposed to templates as ``can.<name>(...)``.
PREDICATES = {
    name: obj
    for name, obj in dict(globals()).items()
    if callable(obj) and (name.startswith(("can_", "is_")))
}
