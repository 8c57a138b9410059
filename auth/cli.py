"""Commands: ``users create``."""

from __future__ import annotations

import sys

import click
from email_validator import EmailNotValidError, validate_email
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import select

from audit.models import record as audit
from auth.models import Role, RoleAssignment, User
from auth.passwords import password_problem
from auth.services import default_display_name
from core.extensions import db
from core.textutil import clean_text
from core.timeutil import utcnow
from localities.cli import Refused
from localities.models import LocalityKind, get_by_code

RESIDENT = "resident"
ROLES = (RESIDENT, *(r.value for r in Role))
NAME_MAX = 120

users_cli = AppGroup("users", help="Manage user accounts and their roles.")


def read_password(email: str) -> str:
    """The first line of standard input; at a terminal, asked twice without echo."""
    if sys.stdin is not None and sys.stdin.isatty():
        return click.prompt(
            _("Password for %(email)s", email=email), hide_input=True, confirmation_prompt=True
        )
    line = sys.stdin.readline() if sys.stdin is not None else ""
    return line.rstrip("\r\n")


@users_cli.command("create")
@click.option("--email", required=True, help="Login e-mail address.")
@click.option(
    "--name", required=True, help="Full (legal) name; never shown publicly for residents."
)
@click.option("--role", required=True, help="resident, official, moderator, reviewer or admin.")
@click.option(
    "--locality",
    "locality_code",
    default=None,
    help="Code of the unit the role covers (where a resident lives).",
)
def create_command(email: str, name: str, role: str, locality_code: str | None) -> None:
    """Create a verified account with a role; the password is read from standard input."""
    role = (role or "").strip().lower()
    if role not in ROLES:
        raise Refused(_("Unknown role %(role)r: use %(roles)s.", role=role, roles=", ".join(ROLES)))
    try:
        email = validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise Refused(_("%(email)r is not a valid e-mail address.", email=email)) from None
    name = clean_text(name)
    if not name or len(name) > NAME_MAX:
        raise Refused(_("Give a name of 1 to %(n)d characters.", n=NAME_MAX))

    locality = None
    if locality_code:
        locality = get_by_code(locality_code)
        if locality is None:
            raise Refused(_("Unknown locality code %(code)r.", code=locality_code))
        locality = locality.current()  # a merged unit's old code still works
    if role != RESIDENT and locality is None:
        raise Refused(_("The role %(role)s needs --locality: the unit it covers.", role=role))
    if role == RESIDENT and locality is not None and locality.kind == LocalityKind.province:
        raise Refused(_("A resident lives in a commune or village, not a province."))

    user = db.session.scalar(select(User).where(User.email == email, User.deleted_at.is_(None)))
    if user is not None:
        _add_role(user, role, locality)
        return

    password = read_password(email)
    problem = password_problem(password, email=email, names=[name])
    if problem:
        raise Refused(_("Password refused: %(reason)s", reason=problem))
    user = User(
        email=email,
        full_name=name,
        # Staff answer in their official capacity, so their name is their public name.
        display_name=default_display_name(locality) if role == RESIDENT else name,
        locality=locality,
        email_verified_at=utcnow(),
    )
    user.set_password(password)
    if role != RESIDENT:
        user.assignments.append(RoleAssignment(role=Role(role), locality=locality))
    db.session.add(user)
    db.session.flush()
    audit("user.create", user, locality_id=locality.id if locality else None, role=role, via="cli")
    db.session.commit()
    where = f" ({locality.code} {locality.name})" if locality else ""
    click.echo(
        _(
            "Created %(role)s %(email)s%(where)s, e-mail verified.",
            role=role,
            email=email,
            where=where,
        )
    )


def _add_role(user: User, role: str, locality) -> None:
    if role == RESIDENT:
        raise Refused(_("%(email)s already has an account.", email=user.email))
    held = {(a.role, a.locality_id) for a in user.assignments}
    if (Role(role), locality.id) in held:
        raise Refused(
            _(
                "%(email)s already holds the role %(role)s for %(code)s.",
                email=user.email,
                role=role,
                code=locality.code,
            )
        )
    user.assignments.append(RoleAssignment(role=Role(role), locality=locality))
    db.session.flush()
    audit("role.assign", user, locality_id=locality.id, role=role, via="cli")
    db.session.commit()
    click.echo(
        _(
            "%(email)s already had an account: added the role %(role)s for %(code)s %(name)s. The password is unchanged.",
            email=user.email,
            role=role,
            code=locality.code,
            name=locality.name,
        )
    )


#: Registered by cli.register().
COMMANDS = [users_cli]
