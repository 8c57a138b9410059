"""How long personal data is kept, enforced: ``flask --app app privacy retention``.

Run it daily (cron, or after the worker's burst); each run does what is due and nothing twice:

- ends the login sessions older than ``LOGIN_SESSION_DAYS`` (already refused at login);
- erases the accounts whose address was never verified after ``UNVERIFIED_ACCOUNT_DAYS``;
- tells the owner of an account unused for ``INACTIVE_ACCOUNT_YEARS`` that it will be erased,
  and erases it ``INACTIVE_NOTICE_DAYS`` later unless they logged in meanwhile;
- removes the consent records withdrawn more than ``CONSENT_RECORD_YEARS`` ago (the proof of
  what was agreed is kept that long after a withdrawal or the deletion of the account).

Accounts holding a role (officials, moderators, reviewers, admins) are managed by the admin and
never erased here. Audit events are not touched: they are the append-only record that guards
against falsified results (Law 10/2022/QH15), the database refuses to change them, and they
hold no name, e-mail, telephone or address, only the number of an account that is erased.
Erasing an account is what deleting it does (``auth.services.erase_personal_data``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import delete, func, select

from audit.models import record
from auth import services as accounts
from auth.email import absolute_url
from auth.models import Consent, LoginSession, RoleAssignment, User
from core.extensions import db
from core.timeutil import utcnow
from infra import mail
from localities.models import Locality

DAYS_PER_YEAR = 365


@dataclass
class Periods:
    """The retention figures of the configuration, as /me/privacy prints them."""

    login_session_days: float
    unverified_account_days: int
    inactive_account_years: int
    inactive_notice_days: int
    consent_record_years: int
    answer_hours: int


def periods() -> Periods:
    cfg = current_app.config
    return Periods(
        login_session_days=float(cfg.get("LOGIN_SESSION_DAYS", 30)),
        unverified_account_days=int(cfg.get("UNVERIFIED_ACCOUNT_DAYS", 30)),
        inactive_account_years=int(cfg.get("INACTIVE_ACCOUNT_YEARS", 3)),
        inactive_notice_days=int(cfg.get("INACTIVE_NOTICE_DAYS", 30)),
        consent_record_years=int(cfg.get("CONSENT_RECORD_YEARS", 5)),
        answer_hours=int(cfg.get("PRIVACY_ANSWER_HOURS", 72)),
    )


@dataclass
class Outcome:
    sessions_ended: int = 0
    unverified_erased: int = 0
    inactive_told: int = 0
    inactive_erased: int = 0
    consents_removed: int = 0


def _residents():
    """Accounts the retention rules apply to: not erased, holding no role."""
    staff = select(RoleAssignment.user_id)
    return select(User).where(User.deleted_at.is_(None), User.id.not_in(staff))


def _last_seen():
    return func.coalesce(User.last_seen_at, User.email_verified_at, User.created_at)


def run(now: datetime | None = None) -> Outcome:
    """Do every retention step that is due at ``now`` and commit; return what was done."""
    now = now or utcnow()
    p = periods()
    out = Outcome()

    out.sessions_ended = (
        db.session.execute(
            delete(LoginSession).where(
                LoginSession.created_at < now - timedelta(days=p.login_session_days)
            )
        ).rowcount
        or 0
    )

    unverified = db.session.scalars(
        _residents().where(
            User.email_verified_at.is_(None),
            User.created_at < now - timedelta(days=p.unverified_account_days),
        )
    ).all()
    for user in unverified:
        locality_id = user.locality_id
        # The address was never proven: nothing is sent to it.
        accounts.erase_personal_data(user, now)
        record(
            "user.expire_unverified", user, locality_id=locality_id, days=p.unverified_account_days
        )
        out.unverified_erased += 1

    idle_since = now - timedelta(days=DAYS_PER_YEAR * p.inactive_account_years)
    inactive = db.session.scalars(
        _residents().where(User.email_verified_at.is_not(None), _last_seen() < idle_since)
    ).all()
    for user in inactive:
        told = user.inactivity_notice_at
        if told is None:
            _tell_inactive(user, p, erase_on=now + timedelta(days=p.inactive_notice_days))
            user.inactivity_notice_at = now
            record(
                "user.inactivity_notice",
                user,
                locality_id=user.locality_id,
                years=p.inactive_account_years,
            )
            out.inactive_told += 1
        elif told <= now - timedelta(days=p.inactive_notice_days):
            email, locale, locality_id = user.email, user.locale, user.locality_id
            name = user.full_name or user.display_name
            accounts.erase_personal_data(user, now)
            record(
                "user.expire_inactive",
                user,
                locality_id=locality_id,
                years=p.inactive_account_years,
            )
            _tell_erased(email, locale, name, locality_id, p)
            out.inactive_erased += 1

    out.consents_removed = (
        db.session.execute(
            delete(Consent).where(
                Consent.withdrawn_at.is_not(None),
                Consent.withdrawn_at < now - timedelta(days=DAYS_PER_YEAR * p.consent_record_years),
            )
        ).rowcount
        or 0
    )

    db.session.commit()
    return out


def _tell_inactive(user: User, p: Periods, *, erase_on: datetime) -> None:
    mail.queue(
        "account_inactive",
        to=user.email,
        locale=user.locale,
        user=user,
        years=p.inactive_account_years,
        erase_on=erase_on,
        login_link=absolute_url("auth.login"),
    )


def _tell_erased(
    email: str | None, locale: str, name: str | None, locality_id: int | None, p: Periods
) -> None:
    mail.queue(
        "account_expired",
        to=email,
        locale=locale,
        recipient_name=name or None,
        locality=db.session.get(Locality, locality_id) if locality_id else None,
        preferences_url=None,
        years=p.inactive_account_years,
    )


privacy_cli = AppGroup("privacy", help="Personal data: retention (Law 91/2025/QH15).")


@privacy_cli.command("retention")
def retention_command() -> None:
    """Do what the retention periods make due: end expired login sessions, erase never-verified
    accounts, warn then erase long-inactive ones, remove old consent records."""
    base = current_app.config["BASE_URL"]
    # Mail carries absolute links built from routes: give them a request context on BASE_URL.
    with current_app.test_request_context("/", base_url=base):
        out = run()
    for key, value in asdict(out).items():
        click.echo(f"{key.replace('_', ' ')}: {value}")


COMMANDS = [privacy_cli]
