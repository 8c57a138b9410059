"""Account changes: each checks, flushes, audits and queues its mail; the view commits once."""

from __future__ import annotations

from sqlalchemy import delete, select

from audit.models import record
from auth import email as auth_email
from auth import sessions
from auth.models import Consent, User
from core.extensions import db
from core.timeutil import utcnow
from households.models import Household
from localities.models import Locality, LocalityKind, get_by_code
from notifications.models import DigestMark, Follow, Notification, NotificationSetting
from outbox import sending as outbox_sending

PARTICIPATION = "participation"
NOTIFICATIONS = "notifications"
#: Purposes a resident may grant and withdraw at will; participation ends only with the account.
OPTIONAL_PURPOSES = (NOTIFICATIONS,)
#: Version of the consent wording shown on the registration form; bump it when the text changes.
CONSENT_TEXT_VERSION = "2026-11-v1"
#: Public name of a deleted account. Stored data, not interface text, so not translated.
DELETED_DISPLAY_NAME = "Người dân đã xóa tài khoản"
#: Public name of an account left without a chosen one. Never the residence: the privacy page
#: promises that where a person lives is public only as totals, never beside their name.
DEFAULT_DISPLAY_NAME = "Người dân"
#: A select of every commune and village is offered up to this many (a phone scrolls that far);
#: beyond, the place is found by name (localities/picker.py, the whole country's 3,321 communes).
LOCALITY_SELECT_LIMIT = 300


def default_display_name(locality: Locality | None = None) -> str:
    """The display name of a resident who chose none (stored, shown to everyone, in the
    language of the commune's notices). ``locality`` is not used: residence is never shown."""
    return DEFAULT_DISPLAY_NAME


def residence_locality(code: str | None) -> Locality | None:
    """The commune or village with this code as it exists today (merged units followed)."""
    loc = get_by_code(code)
    if loc is None:
        return None
    loc = loc.current()
    return loc if loc.kind in (LocalityKind.commune, LocalityKind.village) else None


def locality_choices() -> list[tuple[Locality, list[Locality]]] | None:
    """Communes with their villages for a select, or None when there are too many to list."""
    count = db.session.scalar(
        select(db.func.count(Locality.id)).where(
            Locality.kind.in_([LocalityKind.commune, LocalityKind.village]),
            Locality.merged_into_id.is_(None),
        )
    )
    if not count or count > LOCALITY_SELECT_LIMIT:
        return None
    rows = db.session.scalars(select(Locality).where(Locality.merged_into_id.is_(None))).all()
    by_id = {loc.id: loc for loc in rows}
    communes = sorted(
        (loc for loc in rows if loc.kind == LocalityKind.commune),
        key=lambda c: (by_id[c.parent_id].name if c.parent_id in by_id else "", c.name),
    )
    villages: dict[int, list[Locality]] = {}
    for loc in rows:
        if loc.kind == LocalityKind.village and loc.parent_id:
            villages.setdefault(loc.parent_id, []).append(loc)
    return [(c, sorted(villages.get(c.id, []), key=lambda v: v.name)) for c in communes]


def active_consent(user: User, purpose: str) -> Consent | None:
    return next((c for c in user.consents if c.purpose == purpose and c.withdrawn_at is None), None)


def _grant(user: User, purpose: str) -> Consent:
    consent = Consent(purpose=purpose, text_version=CONSENT_TEXT_VERSION, granted_at=utcnow())
    user.consents.append(consent)
    return consent


def register(
    *,
    email: str,
    password: str,
    full_name: str,
    locality: Locality,
    display_name: str | None = None,
    notifications: bool = False,
    locale: str = "vi",
    next_url: str | None = None,
) -> User | None:
    """Create an unverified account and send the verification link. When the address already
    has an account, tell its owner instead and return None (the page says the same either way)."""
    email = email.strip().lower()
    existing = auth_email.find_active_user(email)
    if existing is not None:
        auth_email.send_account_exists(existing)
        return None
    user = User(
        email=email,
        full_name=full_name,
        display_name=display_name or default_display_name(locality),
        locality=locality,
        locale=locale,
    )
    user.set_password(password)
    _grant(user, PARTICIPATION)
    if notifications:
        _grant(user, NOTIFICATIONS)
    db.session.add(user)
    db.session.flush()
    record(
        "user.register",
        user,
        by=user,
        locality_id=locality.id,
        consents=sorted(c.purpose for c in user.consents),
        text_version=CONSENT_TEXT_VERSION,
    )
    auth_email.send_verification(user, next_url=next_url)
    return user


def verify_email(user: User) -> bool:
    """Mark the address as proven. Returns False when it already was."""
    if user.email_verified_at is not None:
        return False
    user.email_verified_at = utcnow()
    record("user.verify", user, by=user, locality_id=user.locality_id)
    return True


def note_login(user: User, *, ok: bool) -> None:
    user.failed_logins = 0 if ok else (user.failed_logins or 0) + 1


def change_password(user: User, new_password: str) -> None:
    """Set a new password chosen while logged in; every session ends (the caller opens a new
    one for this browser, so a copy of its old cookie is useless too)."""
    user.set_password(new_password)
    sessions.end_all(user)
    record("user.password_change", user, by=user, locality_id=user.locality_id)
    auth_email.send_password_changed(user)


def reset_password(user: User, new_password: str) -> None:
    """Set a new password through an e-mailed link; the link proved the address too."""
    user.set_password(new_password)
    sessions.end_all(user)
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    record("user.password_reset", user, by=user, locality_id=user.locality_id)
    auth_email.send_password_changed(user)


def set_locale(user: User, lang: str) -> None:
    user.locale = lang


def update_profile(
    user: User, *, full_name: str, display_name: str | None, locality: Locality, locale: str
) -> None:
    before = {
        "full_name": user.full_name,
        "display_name": user.display_name,
        "locality_id": user.locality_id,
        "locale": user.locale,
    }
    user.full_name = full_name
    user.display_name = display_name or default_display_name(locality)
    user.locality = locality
    user.locale = locale
    db.session.flush()
    after = {
        "full_name": user.full_name,
        "display_name": user.display_name,
        "locality_id": user.locality_id,
        "locale": user.locale,
    }
    changed = sorted(k for k in before if before[k] != after[k])
    if changed:
        # Field names only: the audit trail never holds the personal data itself.
        record("user.update", user, by=user, locality_id=user.locality_id, fields=changed)


def grant_consent(user: User, purpose: str) -> bool:
    if purpose not in OPTIONAL_PURPOSES or active_consent(user, purpose):
        return False
    _grant(user, purpose)
    record("consent.grant", user, by=user, purpose=purpose, text_version=CONSENT_TEXT_VERSION)
    return True


def withdraw_consent(user: User, purpose: str) -> bool:
    consent = active_consent(user, purpose)
    if purpose not in OPTIONAL_PURPOSES or consent is None:
        return False
    consent.withdrawn_at = utcnow()
    record("consent.withdraw", user, by=user, purpose=purpose)
    return True


def erase_personal_data(user: User, now) -> None:
    """What deleting an account erases, whoever deletes it (the person, or the retention
    command for never-verified and long-inactive accounts, me/retention.py): the e-mail, the
    names, the telephone, the password, the place of residence, the roles and every login
    session. Consents are marked withdrawn and kept as proof for ``CONSENT_RECORD_YEARS``. The
    opinions stay, as the record of consultation (Law 10/2022/QH15), shown under
    ``DELETED_DISPLAY_NAME``, each with the village it was given from, counted in the figures."""
    for consent in user.consents:
        if consent.withdrawn_at is None:
            consent.withdrawn_at = now
    # What one followed and was told is about the person, not the consultation: erased too.
    for model in (Follow, Notification, NotificationSetting, DigestMark):
        db.session.execute(delete(model).where(model.user_id == user.id))
    outbox_sending.cancel_for(user.email)
    # A deleted account represents no household: the household keeps its votes and may link
    # its next representative with a new letter.
    household = db.session.scalar(select(Household).where(Household.representative_id == user.id))
    if household is not None:
        household.representative_id, household.linked_at = None, None
        record(
            "household.unlink",
            household,
            by=user,
            locality_id=household.locality_id,
            code=household.code,
            via="account_deleted",
        )
    user.email = None
    user.full_name = ""
    user.display_name = DELETED_DISPLAY_NAME
    user.phone = None
    user.password_hash = None
    user.locality = None
    user.deleted_at = now
    user.inactivity_notice_at = None
    sessions.end_all(user)
    user.assignments.clear()


def delete_account(user: User) -> None:
    """Erase the personal data. Opinions stay, shown under the generic name; consents stay as
    proof of what was agreed, marked withdrawn; the audit event keeps no personal data."""
    email, locale, locality_id = user.email, user.locale, user.locality_id
    name = user.full_name or user.display_name  # for the last message only, then erased
    now = utcnow()
    erase_personal_data(user, now)
    record("user.delete", user, by=user, locality_id=locality_id)
    auth_email.send_account_deleted(email, locale, name=name, locality_id=locality_id)
