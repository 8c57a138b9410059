"""Changes to the register of households: the import, the one-time keys, editing a household
and linking its representative. Each flushes and audits; the caller commits.

A key is typed from a paper letter: 10 letters and digits from an alphabet without the look-alikes
(0/O, 1/I/L), shown as ABCD-EFGH-JK (31^10, about 50 bits: with the rate limit on the form,
guessing one is out of reach). Only its SHA-256 is stored; the link clears it (used once).
"""

from __future__ import annotations

import hashlib
import secrets

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from audit.models import record, record_now
from auth.models import Role, User
from auth.permissions import has_role_for
from core.errors import InvalidInput
from core.extensions import db
from core.textutil import clean_text
from core.timeutil import utcnow
from decisions.models import Ballot, Decision
from households.models import Household
from localities.models import Locality, LocalityKind

KEY_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
KEY_LENGTH = 10
CODE_MAX, NAME_MAX, ADDRESS_MAX, REASON_MAX = 32, 200, 300, 500
#: Fields whose values are personal data: the audit trail says they changed, not to what
#: (an append-only trail would otherwise keep a name after the register forgets it).
PERSONAL_FIELDS = ("representative_name", "address")


# --- keys ---------------------------------------------------------------------------------------


def new_key() -> str:
    raw = "".join(secrets.choice(KEY_ALPHABET) for _i in range(KEY_LENGTH))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalise_key(typed: str | None) -> str:
    """What was typed, without spaces or dashes, in capitals: "abcd efgh-jk" is ABCDEFGHJK."""
    return "".join(ch for ch in (typed or "").upper() if ch not in " -\t\u2010\u2013")


def key_hash(typed: str | None) -> str:
    return hashlib.sha256(normalise_key(typed).encode()).hexdigest()


def issue_keys(village: Locality, *, by: User | None, via: str | None = None) -> list[tuple]:
    """A fresh key for every active household of ``village`` (earlier letters stop working);
    (household, key) sorted by code. The keys themselves are returned once, never stored."""
    if village.kind != LocalityKind.village:
        raise InvalidInput(_("%(name)s is not a village or residential group.", name=village.name))
    households = db.session.scalars(
        select(Household)
        .where(Household.locality_id == village.id, Household.active.is_(True))
        .order_by(Household.code)
    ).all()
    now, issued = utcnow(), []
    extra = {"via": via} if via else {}
    for h in households:
        key = new_key()
        h.key_hash, h.key_issued_at = key_hash(key), now
        issued.append((h, key))
        record_now("household.key_issue", h, by=by, locality_id=village.id, code=h.code, **extra)
    db.session.flush()
    return issued


def check_lengths(code: str, name: str, address: str) -> str | None:
    if not code:
        return _("The household code is empty.")
    if len(code) > CODE_MAX:
        return _("The household code can be at most %(n)d characters.", n=CODE_MAX)
    if len(name) > NAME_MAX:
        return _("The representative's name can be at most %(n)d characters.", n=NAME_MAX)
    if len(address) > ADDRESS_MAX:
        return _("The address can be at most %(n)d characters.", n=ADDRESS_MAX)
    return None


def find(village_id: int, code: str) -> Household | None:
    return db.session.scalar(
        select(Household).where(Household.locality_id == village_id, Household.code == code)
    )


def flush() -> None:
    """Flush; a household of the same code stored meanwhile by someone else is a clear 400."""
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise InvalidInput(
            _("A household with this code already exists in this village."), field="code"
        ) from None


# --- one household ----------------------------------------------------------------------------


def _clean(code: str, name: str, address: str) -> tuple[str, str, str]:
    code = clean_text(code).strip()
    name, address = (" ".join(clean_text(v).split()) for v in (name, address))
    problem = check_lengths(code, name, address)
    if problem:
        raise InvalidInput(problem, field="code" if not code or len(code) > CODE_MAX else None)
    return code, name, address


def _taken(village: Locality, code: str, but: int | None = None) -> bool:
    stmt = select(Household.id).where(
        Household.locality_id == village.id, func.lower(Household.code) == code.lower()
    )
    if but is not None:
        stmt = stmt.where(Household.id != but)
    return db.session.scalar(stmt.limit(1)) is not None


def create_household(
    village: Locality, *, code: str, representative_name: str, address: str, active: bool, by
) -> Household:
    code, name, address = _clean(code, representative_name, address)
    if village.kind != LocalityKind.village:
        raise InvalidInput(_("Choose a village or residential group."), field="village")
    if _taken(village, code):
        raise InvalidInput(
            _("A household with this code already exists in this village."), field="code"
        )
    h = Household(
        locality_id=village.id,
        code=code,
        representative_name=name,
        address=address,
        active=active,
    )
    db.session.add(h)
    flush()
    record(
        "household.create",
        h,
        by=by,
        locality_id=village.id,
        code=code,
        village=village.code,
        active=active,
    )
    return h


def edit_household(
    h: Household,
    village: Locality,
    *,
    code: str,
    representative_name: str,
    address: str,
    active: bool,
    by,
) -> list[str]:
    """Change what was given; the names of the fields that changed."""
    code, name, address = _clean(code, representative_name, address)
    if village.kind != LocalityKind.village:
        raise InvalidInput(_("Choose a village or residential group."), field="village")
    if _taken(village, code, but=h.id):
        raise InvalidInput(
            _("A household with this code already exists in this village."), field="code"
        )
    new = {
        "code": code,
        "locality_id": village.id,
        "representative_name": name,
        "address": address,
        "active": active,
    }
    changed = [f for f, v in new.items() if getattr(h, f) != v]
    if not changed:
        return []
    if {"code", "locality_id"} & set(changed) and _on_a_ballot_being_counted(h):
        # The ballot printed "village/code": another household given it would get that vote.
        raise InvalidInput(
            _(
                "A ballot was printed for this household in a vote not yet counted: its code and village stay as printed until the count is confirmed."
            ),
            field="code",
        )
    data = {"code": code, "fields": ["village" if f == "locality_id" else f for f in changed]}
    if "code" in changed:
        data["old_code"] = h.code
    if "locality_id" in changed:
        data["village"] = village.code
    if "active" in changed:
        data["active"] = active
    for f in changed:
        setattr(h, f, new[f])
    flush()
    record("household.edit", h, by=by, locality_id=village.id, **data)
    return changed


def _on_a_ballot_being_counted(h: Household) -> bool:
    stmt = (
        select(Ballot.id)
        .join(Decision, Decision.consultation_id == Ballot.consultation_id, isouter=True)
        .where(Ballot.household_id == h.id, Decision.counted_at.is_(None))
        .limit(1)
    )
    return db.session.scalar(stmt) is not None


# --- the representative -----------------------------------------------------------------------


def _unlink(h: Household, *, by, reason: str, via: str) -> None:
    old = h.representative_id
    h.representative_id, h.linked_at = None, None
    db.session.flush()
    record(
        "household.unlink",
        h,
        by=by,
        locality_id=h.locality_id,
        code=h.code,
        previous_account=old,
        reason=reason,
        via=via,
    )


def link_with_key(user: User, code: str, typed_key: str) -> Household:
    """Make ``user`` the representative of the household whose letter holds this key.

    The code names a household in each village that has it; the key decides which. The link
    is a compare-and-set on the key's hash, so of two people typing the same key at once one
    wins; the key is cleared. A person who represented another household moves to this one
    (the letter is the household's word; both moves are in the audit trail)."""
    refused = InvalidInput(
        _(
            "This household code and key do not match a letter that can still be used. Check "
            "both on the letter; a key works only once, and a new letter replaces the old one."
        ),
    )
    code, digest = (code or "").strip(), key_hash(typed_key)
    if not code or len(normalise_key(typed_key)) != KEY_LENGTH:
        raise refused
    candidates = db.session.scalars(
        select(Household).where(
            func.lower(Household.code) == code.lower(),
            Household.key_hash == digest,
            Household.active.is_(True),
        )
    ).all()
    if not candidates:
        raise refused
    h = candidates[0]  # two villages with the same code and the same key: beyond belief
    previous = db.session.scalar(
        select(Household).where(Household.representative_id == user.id, Household.id != h.id)
    )
    if previous is not None:
        _unlink(previous, by=user, reason="moved", via="key")
    replaced = h.representative_id
    now = utcnow()
    try:
        won = db.session.execute(
            update(Household)
            .where(Household.id == h.id, Household.key_hash == digest)
            .values(representative_id=user.id, linked_at=now, key_hash=None, updated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
    except IntegrityError:
        won = 0
    if won != 1:
        raise refused
    db.session.refresh(h)
    record(
        "household.link",
        h,
        by=user,
        locality_id=h.locality_id,
        code=h.code,
        account=user.id,
        previous_account=replaced,
        via="key",
    )
    return h


def set_representative(h: Household, email: str, *, reason: str, by) -> User | None:
    """An official links an account (by its e-mail address) or, with none, unlinks."""
    reason = " ".join(clean_text(reason).split())
    if not reason:
        raise InvalidInput(_("Give the reason for the change."), field="reason")
    if len(reason) > REASON_MAX:
        raise InvalidInput(
            _("The reason can be at most %(n)d characters.", n=REASON_MAX), field="reason"
        )
    email = (email or "").strip().lower()
    if not email:
        if h.representative_id is None:
            raise InvalidInput(_("The household has no linked account."), field="email")
        _unlink(h, by=by, reason=reason, via="official")
        return None
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        raise InvalidInput(_("No account has this e-mail address."), field="email")
    if h.representative_id == user.id:
        raise InvalidInput(_("This account already represents the household."), field="email")
    other = db.session.scalar(select(Household).where(Household.representative_id == user.id))
    if other is not None and not has_role_for(by, Role.official, other.locality):
        # Which household a person represents elsewhere is not this official's to know.
        raise InvalidInput(
            _("This account already represents a household of another locality."), field="email"
        )
    if other is not None:
        raise InvalidInput(
            _(
                "This account already represents the household %(code)s of %(village)s: unlink it "
                "there first.",
                code=other.code,
                village=other.locality.name,
            ),
            field="email",
        )
    replaced = h.representative_id
    h.representative_id, h.linked_at = user.id, utcnow()
    _flush_link()
    record(
        "household.link",
        h,
        by=by,
        locality_id=h.locality_id,
        code=h.code,
        account=user.id,
        previous_account=replaced,
        reason=reason,
        via="official",
    )
    return user


def _flush_link() -> None:
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise InvalidInput(
            _("This account was just linked to another household."), field="email"
        ) from None
