"""Signed links sent by e-mail (verify an address, reset a password) and the mails that carry them."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import current_app, url_for
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import select

from auth.models import User
from core.extensions import db
from infra import mail
from localities.models import Locality

VERIFY_SALT = "verify-email"
VERIFY_MAX_AGE = 48 * 3600
RESET_SALT = "reset-password"
RESET_MAX_AGE = 2 * 3600


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=salt)


def absolute_url(endpoint: str, **values: Any) -> str:
    """A link for an e-mail: BASE_URL, not the host of whoever triggered the mail."""
    return current_app.config["BASE_URL"].rstrip("/") + url_for(endpoint, **values)


def _password_fingerprint(user: User) -> str:
    # The token names the password it may replace: once the password changes the token dies.
    key = (
        current_app.secret_key.encode()
        if isinstance(current_app.secret_key, str)
        else current_app.secret_key
    )
    return hmac.new(key, (user.password_hash or "").encode(), hashlib.sha256).hexdigest()[:20]


def make_verify_token(user: User) -> str:
    return _serializer(VERIFY_SALT).dumps({"id": user.id, "email": user.email})


def load_verify_token(token: str) -> User | None:
    """The user whose address the token proves, or None when it is bad, expired or stale."""
    try:
        data = _serializer(VERIFY_SALT).loads(token, max_age=VERIFY_MAX_AGE)
        user = db.session.get(User, int(data["id"]))
    except (BadData, KeyError, TypeError, ValueError):
        return None
    if user is None or not user.is_active or user.email != data.get("email"):
        return None
    return user


def make_reset_token(user: User) -> str:
    return _serializer(RESET_SALT).dumps({"id": user.id, "pw": _password_fingerprint(user)})


def load_reset_token(token: str) -> User | None:
    """The user the token lets set a new password, or None (bad, expired or already used)."""
    try:
        data = _serializer(RESET_SALT).loads(token, max_age=RESET_MAX_AGE)
        user = db.session.get(User, int(data["id"]))
    except (BadData, KeyError, TypeError, ValueError):
        return None
    if user is None or not user.is_active or not user.email:
        return None
    if not hmac.compare_digest(str(data.get("pw", "")), _password_fingerprint(user)):
        return None
    return user


def find_active_user(email: str | None) -> User | None:
    if not email:
        return None
    return db.session.scalar(
        select(User).where(User.email == email.strip().lower(), User.deleted_at.is_(None))
    )


# --- the mails ---------------------------------------------------------------------------------


def send_verification(user: User, *, next_url: str | None = None) -> None:
    """``next_url``: the page the resident was on when they chose to register (a path of this
    site, checked again when the link is used); the link lands there once the address is proven."""
    link = absolute_url("auth.verify", token=make_verify_token(user), next=next_url or None)
    mail.queue(
        "verify",
        to=user.email,
        locale=user.locale,
        user=user,
        link=link,
        hours=VERIFY_MAX_AGE // 3600,
    )


def send_account_exists(user: User) -> None:
    """Someone tried to register with an address that already has an account: tell its owner."""
    mail.queue(
        "account_exists",
        to=user.email,
        locale=user.locale,
        user=user,
        login_link=absolute_url("auth.login"),
        reset_link=absolute_url("auth.reset_request"),
    )


def send_reset(user: User) -> None:
    link = absolute_url("auth.reset_password", token=make_reset_token(user))
    mail.queue(
        "reset",
        to=user.email,
        locale=user.locale,
        user=user,
        link=link,
        hours=RESET_MAX_AGE // 3600,
    )


def send_password_changed(user: User) -> None:
    mail.queue(
        "password_changed",
        to=user.email,
        locale=user.locale,
        user=user,
        reset_link=absolute_url("auth.reset_request"),
    )


def send_account_deleted(
    email: str | None, locale: str, *, name: str | None = None, locality_id: int | None = None
) -> None:
    """The last message to an erased account, with what was known before the erasure: the name
    for the greeting, the locality for the commune that signs. No link to notification choices:
    there is no account left to choose in."""
    mail.queue(
        "account_deleted",
        to=email,
        locale=locale,
        recipient_name=name,
        locality=db.session.get(Locality, locality_id) if locality_id else None,
        preferences_url=None,
    )
