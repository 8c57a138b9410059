"""``flask users create``: accounts for staff and residents, password from standard input."""

import pytest
import sqlalchemy as sa
from support import PASSWORD

from audit.models import AuditEvent
from auth.models import Role, User
from core.extensions import db

NEW_PASSWORD = "Sông-Hiếu-mùa-nước-2026"


@pytest.fixture
def english(app):
    app.config["BABEL_DEFAULT_LOCALE"] = "en"


def _create(
    runner,
    *,
    email="canbo.moi@example.vn",
    name="Lê Quang Vinh",
    role="official",
    locality="00004",
    password=NEW_PASSWORD,
):
    args = ["users", "create", "--email", email, "--name", name, "--role", role]
    if locality:
        args += ["--locality", locality]
    return runner.invoke(args=args, input=password + "\n")


def _user(app, email):
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is None:
            return None
        return {
            "verified": user.is_verified,
            "roles": sorted((a.role.value, a.locality.code) for a in user.assignments),
            "password_ok": user.check_password(NEW_PASSWORD),
            "old_password_ok": user.check_password(PASSWORD),
            "locality": user.locality.code if user.locality else None,
            "display_name": user.display_name,
        }


def _users(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(User.id)))


def test_create_official_verified_with_role_and_password(app, runner, world, english, client):
    result = _create(runner, email="CanBo.Moi@Example.vn")

    assert result.exit_code == 0, result.output
    assert "canbo.moi@example.vn" in result.output
    user = _user(app, "canbo.moi@example.vn")
    assert user["verified"]
    assert user["roles"] == [("official", "00004")]
    assert user["password_ok"]
    assert NEW_PASSWORD not in result.output
    with app.app_context():
        assert (
            db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.create"))
            is not None
        )
    # The new official can log in with the password given on standard input.
    response = client.post(
        "/auth/login", data={"email": "canbo.moi@example.vn", "password": NEW_PASSWORD}
    )
    assert response.status_code == 302


def test_create_resident_needs_no_locality(app, runner, world, english):
    result = _create(runner, email="nguoidan.moi@example.vn", role="resident", locality=None)
    assert result.exit_code == 0, result.output
    user = _user(app, "nguoidan.moi@example.vn")
    assert user["roles"] == []
    assert user["verified"]

    result = _create(runner, email="nguoidan.thon@example.vn", role="resident", locality="00004-T2")
    assert result.exit_code == 0, result.output
    user = _user(app, "nguoidan.thon@example.vn")
    assert user["locality"] == "00004-T2"
    assert user["display_name"] == "Người dân"  # never the residence


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_staff_role_can_be_created(app, runner, world, english, role):
    result = _create(runner, email=f"{role}.moi@example.vn", role=role, locality="01")
    assert result.exit_code == 0, result.output
    assert _user(app, f"{role}.moi@example.vn")["roles"] == [(role, "01")]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"role": "mayor"}, "Unknown role 'mayor'"),
        ({"role": "official", "locality": None}, "needs --locality"),
        ({"role": "moderator", "locality": "99999"}, "Unknown locality code"),
        ({"password": "ngắn-quá"}, "at least 10 characters"),
        ({"password": "1234567890"}, "too common"),
        ({"password": ""}, "at least 10 characters"),
        ({"email": "not-an-address"}, "not a valid e-mail address"),
        ({"name": "  "}, "Give a name"),
        ({"role": "resident", "locality": "01"}, "not a province"),
    ],
)
def test_bad_input_is_refused_and_nothing_stored(app, runner, world, english, kwargs, message):
    before = _users(app)

    result = _create(runner, **kwargs)

    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert _users(app) == before


def test_existing_email_gets_the_role_added(app, runner, world, english):
    before = _users(app)

    result = _create(runner, email="resident@example.vn", role="moderator", locality="00008")

    assert result.exit_code == 0, result.output
    assert "already had an account" in result.output
    assert _users(app) == before
    user = _user(app, "resident@example.vn")
    assert user["roles"] == [("moderator", "00008")]
    assert user["old_password_ok"]  # the password given is not applied to an existing account
    with app.app_context():
        assert (
            db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "role.assign"))
            is not None
        )

    again = _create(runner, email="resident@example.vn", role="moderator", locality="00008")
    assert again.exit_code == 1
    assert "already holds the role" in again.output

    resident = _create(runner, email="official@example.vn", role="resident", locality=None)
    assert resident.exit_code == 1
    assert "already has an account" in resident.output
