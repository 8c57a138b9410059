"""Personal data (Law 91/2025/QH15, Decree 13/2023/NĐ-CP): the privacy page says who, why, to
whom, how long and which rights, from the configuration; the retention command does what the
page says; an offline contributor's name is public only when they agreed; deletion keeps its
promises."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from support import PASSWORD, outbox

from audit.models import AuditEvent
from auth.models import Consent, LoginSession, User
from auth.services import DEFAULT_DISPLAY_NAME, DELETED_DISPLAY_NAME
from consultations.models import Opinion
from core.extensions import db
from core.timeutil import utcnow

CONFIG = {
    "OPERATOR_NAME": "Trung tâm Chuyển đổi số tỉnh Thử Nghiệm",
    "OPERATOR_ADDRESS": "Số 9 đường Hùng Vương, phường Đông Hà",
    "OPERATOR_EMAIL": "vanhanh@gopy.example.vn",
    "OPERATOR_PHONE": "0233 3555 999",
    "PRIVACY_CONTACT_NAME": "Bộ phận bảo vệ dữ liệu cá nhân",
    "PRIVACY_CONTACT_EMAIL": "dulieu@gopy.example.vn",
    "UNVERIFIED_ACCOUNT_DAYS": 17,
    "INACTIVE_ACCOUNT_YEARS": 4,
    "INACTIVE_NOTICE_DAYS": 45,
    "CONSENT_RECORD_YEARS": 6,
    "LOGIN_SESSION_DAYS": 21,
    "PRIVACY_ANSWER_HOURS": 72,
}


@pytest.fixture
def configured(app):
    app.config.update(CONFIG)
    return app


# --- the page ----------------------------------------------------------------------------------


def test_privacy_page_names_the_law_the_controller_the_operator_and_every_right(
    configured, client, world, make
):
    make.consultation("open")
    with configured.app_context():
        from localities.models import Locality

        commune = db.session.get(Locality, world.commune_id)
        commune.address, commune.phone = "Số 1 phố Đội Cấn", "024 3845 0000"
        db.session.commit()
    html = client.get("/me/privacy").get_data(as_text=True)
    for text in (
        "91/2025/QH15",
        "1/1/2026",
        "13/2023/NĐ-CP",
        "10/2022/QH15",
        # the controller, from the locality; the operator and the contact, from configuration
        "Ủy ban nhân dân phường Ba Đình",
        "Số 1 phố Đội Cấn",
        "024 3845 0000",
        *(
            CONFIG[k]
            for k in (
                "OPERATOR_NAME",
                "OPERATOR_ADDRESS",
                "OPERATOR_EMAIL",
                "OPERATOR_PHONE",
                "PRIVACY_CONTACT_NAME",
                "PRIVACY_CONTACT_EMAIL",
            )
        ),
        # processors and the transfer abroad
        "SendGrid, Inc.",
        "United States of America",
        "transfer of personal data abroad",
        # purposes and bases
        "Your consent",
        "separate consent, optional",
        "Keeping your opinions after your account is deleted",
        # the data held
        "Telephone number",
        "Name of a person who gave an opinion offline",
        # every right
        "To be informed",
        "To consent and to withdraw consent",
        "To access your data",
        "To correct it",
        "To have it deleted",
        "To restrict processing",
        "To object to processing",
        "To data portability",
        "To complain",
        "within 72 hours",
        # every retention figure
        "Erased 17 days after registration",
        "not used for 4 years",
        "45 days later",
        "End after 21 days",
        "6 years after the consent is withdrawn",
        "Audit events",
    ):
        assert text in html, text
    assert "nothing is shared with other companies" not in html


def test_privacy_page_in_vietnamese_speaks_as_a_committee(configured, client, world):
    client.set_cookie("lang", "vi")
    page = client.get("/me/privacy").get_data(as_text=True)
    html = page[page.index('<article class="privacy">') : page.index("</article>")]
    assert "ông/bà" in html
    assert "bạn" not in html.lower()  # never "bạn"
    for text in (
        "Luật Bảo vệ dữ liệu cá nhân",
        "91/2025/QH15",
        "SendGrid, Inc.",
        "Hoa Kỳ",
        "Quyền được biết",
        "Quyền phản đối",
        "17 ngày",
        "72 giờ",
    ):
        assert text in html, text


# --- retention ---------------------------------------------------------------------------------


def _user(
    email: str, *, created_days: float, verified: bool = True, seen_days: float | None = None
) -> int:
    now = utcnow()
    user = User(
        email=email,
        full_name="Phan Văn Cũ",
        display_name=DEFAULT_DISPLAY_NAME,
        locale="en",
        created_at=now - timedelta(days=created_days),
        email_verified_at=(now - timedelta(days=created_days)) if verified else None,
        last_seen_at=(now - timedelta(days=seen_days)) if seen_days is not None else None,
    )
    user.consents.append(
        Consent(purpose="participation", text_version="v1", granted_at=user.created_at)
    )
    db.session.add(user)
    db.session.flush()
    return user.id


@pytest.mark.postgres
def test_retention_command_does_what_is_due_and_nothing_twice(configured, world, runner):
    app = configured
    with app.app_context():
        now = utcnow()
        fresh_unverified = _user("new@example.vn", created_days=3, verified=False)
        old_unverified = _user("old@example.vn", created_days=18, verified=False)
        idle = _user("idle@example.vn", created_days=6 * 365, seen_days=4 * 365 + 1)
        recent = _user("recent@example.vn", created_days=6 * 365, seen_days=10)
        db.session.add_all(
            [
                LoginSession(
                    user_id=recent, key_hash="a" * 64, created_at=now - timedelta(days=22)
                ),
                LoginSession(user_id=recent, key_hash="b" * 64, created_at=now - timedelta(days=2)),
            ]
        )
        old_consent = Consent(
            user_id=recent,
            purpose="notifications",
            text_version="v1",
            granted_at=now - timedelta(days=8 * 365),
            withdrawn_at=now - timedelta(days=6 * 365 + 2),
        )
        kept_consent = Consent(
            user_id=recent,
            purpose="notifications",
            text_version="v1",
            granted_at=now - timedelta(days=3 * 365),
            withdrawn_at=now - timedelta(days=365),
        )
        db.session.add_all([old_consent, kept_consent])
        db.session.commit()
        old_consent_id, kept_consent_id = old_consent.id, kept_consent.id

    result = runner.invoke(args=["privacy", "retention"])
    assert result.exit_code == 0, result.output
    assert "sessions ended: 1" in result.output
    assert "unverified erased: 1" in result.output
    assert "inactive told: 1" in result.output
    assert "inactive erased: 0" in result.output
    assert "consents removed: 1" in result.output
    with app.app_context():
        gone = db.session.get(User, old_unverified)
        assert gone.deleted_at is not None
        assert gone.email is None
        assert gone.full_name == ""
        assert db.session.get(User, fresh_unverified).deleted_at is None
        assert db.session.scalar(select(func.count(LoginSession.id))) == 1
        assert db.session.get(Consent, old_consent_id) is None
        assert db.session.get(Consent, kept_consent_id) is not None
        told = db.session.get(User, idle)
        assert told.deleted_at is None
        assert told.inactivity_notice_at is not None
    [notice] = [m for m in outbox(app) if m["to"] == "idle@example.vn"]
    assert "log in" in notice["text"]
    assert "4 years" in notice["text"]
    assert not [
        m for m in outbox(app) if m["to"] == "old@example.vn"
    ]  # never proven: never written to

    # The same day again: nothing twice.
    again = runner.invoke(args=["privacy", "retention"])
    assert again.exit_code == 0
    for line in (
        "sessions ended: 0",
        "unverified erased: 0",
        "inactive told: 0",
        "inactive erased: 0",
        "consents removed: 0",
    ):
        assert line in again.output
    assert len([m for m in outbox(app) if m["to"] == "idle@example.vn"]) == 1

    # After the notice period, unless they logged in, the inactive account is erased.
    with app.app_context():
        db.session.get(User, idle).inactivity_notice_at = utcnow() - timedelta(days=46)
        db.session.commit()
    later = runner.invoke(args=["privacy", "retention"])
    assert "inactive erased: 1" in later.output
    with app.app_context():
        erased = db.session.get(User, idle)
        assert erased.deleted_at is not None
        assert erased.email is None
        assert erased.display_name == DELETED_DISPLAY_NAME
        actions = db.session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.object_id.in_([idle, old_unverified]), AuditEvent.object_type == "user"
            )
        ).all()
        assert {"user.inactivity_notice", "user.expire_inactive", "user.expire_unverified"} <= set(
            actions
        )
    assert len([m for m in outbox(app) if m["to"] == "idle@example.vn"]) == 2
    assert "erased" in [m for m in outbox(app) if m["to"] == "idle@example.vn"][-1]["subject"]
    assert "inactive erased: 0" in runner.invoke(args=["privacy", "retention"]).output


def test_logging_in_cancels_an_inactivity_notice(configured, world, runner, auth):
    with configured.app_context():
        user = db.session.get(User, world.ids["resident"])
        user.assignments.clear()
        user.last_seen_at = utcnow() - timedelta(days=5 * 365)
        db.session.commit()
    runner.invoke(args=["privacy", "retention"])
    with configured.app_context():
        assert db.session.get(User, world.ids["resident"]).inactivity_notice_at is not None
    auth.login(world.email("resident"))
    with configured.app_context():
        user = db.session.get(User, world.ids["resident"])
        user_seen = user.last_seen_at
        assert user.inactivity_notice_at is None
        assert user_seen > utcnow() - timedelta(minutes=1)
    assert "inactive told: 0" in runner.invoke(args=["privacy", "retention"]).output


def test_staff_accounts_are_never_erased_by_the_command(configured, world, runner):
    with configured.app_context():
        official = db.session.get(User, world.ids["official"])
        official.last_seen_at = utcnow() - timedelta(days=10 * 365)
        official.email_verified_at = None
        official.created_at = utcnow() - timedelta(days=10 * 365)
        db.session.commit()
    runner.invoke(args=["privacy", "retention"])
    with configured.app_context():
        official = db.session.get(User, world.ids["official"])
        assert official.deleted_at is None
        assert official.inactivity_notice_at is None


# --- offline contributors ----------------------------------------------------------------------


def _offline(client, cid: int, **extra) -> None:
    data = {
        "body": "Ý kiến ghi trên phiếu.",
        "stance": "suggest",
        "section_id": "",
        "channel": "paper",
        "contributor_name": "Ông Trần Đức Minh",
        "contributor_village": "00004-T2",
    } | extra
    r = client.post(f"/consultations/{cid}/opinions", data=data)
    assert r.status_code == 302, r.get_data(as_text=True)


@pytest.mark.postgres
def test_an_offline_contributor_is_public_as_channel_and_village_unless_they_agreed(
    app, client, auth, world, make
):
    cid = make.consultation("open")
    auth.login(world.email("official"))
    _offline(client, cid)
    _offline(client, cid, contributor_name="Bà Võ Thị Sen", contributor_name_public="y")
    with app.app_context():
        unnamed, named = db.session.scalars(select(Opinion).order_by(Opinion.id)).all()
        assert (unnamed.contributor_name_public, named.contributor_name_public) == (False, True)
        assert unnamed.locality.code == "00004-T2"
        numbers = unnamed.tracking_number, named.tracking_number
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "opinion.create", AuditEvent.object_id == named.id
            )
        )
        assert event.data["contributor_name_public"] is True
        assert event.actor_id == world.ids["official"]
        assert event.at is not None

    # Staff: the moderation page and the export name both.
    auth.logout()
    auth.login(world.email("moderator"))
    staff_html = client.get(f"/moderation/consultations/{cid}").get_data(as_text=True)
    assert "Ông Trần Đức Minh" in staff_html
    assert "Bà Võ Thị Sen" in staff_html
    export = client.get(f"/consultations/{cid}/export.csv").get_data(as_text=True)
    assert "Ông Trần Đức Minh" in export
    assert "Bà Võ Thị Sen" in export
    auth.logout()

    # The public: the page, the API and the tracking lookup.
    page = client.get(f"/consultations/{cid}").get_data(as_text=True)
    assert "Ông Trần Đức Minh" not in page
    assert "Paper ballot, Tổ dân phố số 2" in page
    assert "Bà Võ Thị Sen" in page
    api = client.get(f"/api/v1/consultations/{cid}/opinions").get_json()
    authors = {item["tracking_number"]: item["author"] for item in api["items"]}
    assert authors[numbers[0]] == "Paper ballot, Tổ dân phố số 2"
    assert authors[numbers[1]] == "Bà Võ Thị Sen"
    assert "Ông Trần Đức Minh" not in str(api)
    if "consultations.track" in app.view_functions or any(
        r.rule == "/track" for r in app.url_map.iter_rules()
    ):
        tracked = client.get(f"/track?number={numbers[0]}").get_data(as_text=True)
        assert "Ông Trần Đức Minh" not in tracked
    with app.test_request_context():
        from consultations.authors import public_author, staff_author

        unnamed = db.session.scalar(select(Opinion).where(Opinion.tracking_number == numbers[0]))
        assert public_author(unnamed) == "Paper ballot, Tổ dân phố số 2"
        assert staff_author(unnamed) == "Ông Trần Đức Minh"


def test_the_offline_form_refuses_a_village_of_another_commune(app, client, auth, world, make):
    cid = make.consultation("open")
    auth.login(world.email("official"))
    r = client.post(
        f"/consultations/{cid}/opinions",
        data={
            "body": "Ý kiến.",
            "stance": "agree",
            "section_id": "",
            "channel": "hotline",
            "contributor_name": "Ông D",
            "contributor_village": "00008",
        },
    )
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert 'id="contributor_village-error"' in html
    assert 'name="contributor_name_public"' in html


# --- deleting an account -----------------------------------------------------------------------


@pytest.mark.postgres
def test_deletion_keeps_its_promises_on_every_surface(app, client, auth, world, make):
    cid = make.consultation("open")
    make.opinion(cid, who="resident", body="Ý kiến của tôi về lộ giới.")
    auth.login(world.email("resident"))
    assert client.post("/me/delete", data={"password": PASSWORD}).status_code == 302

    page = client.get(f"/consultations/{cid}").get_data(as_text=True)
    api = client.get(f"/api/v1/consultations/{cid}/opinions").get_json()
    for text in (page, str(api)):
        assert "Nguyễn Văn Resident" not in text
        assert "resident@example.vn" not in text
        assert "Người dân resident" not in text
    assert DELETED_DISPLAY_NAME in page
    assert api["items"][0]["author"] == DELETED_DISPLAY_NAME
    # /me/data of nobody: the deleted person is logged out.
    assert client.get("/me/data").status_code in (302, 401)

    auth.login(world.email("reviewer"))
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(f"/consultations/{cid}/export.csv")
                .get_data(as_text=True)
                .lstrip("\ufeff")
            )
        )
    )
    [row] = rows
    assert row["contributor"] == DELETED_DISPLAY_NAME
    assert "Nguyễn Văn Resident" not in str(row)
    assert "resident@example.vn" not in str(row)
    # What the privacy page promises: the account's residence is erased, the opinion keeps the
    # village it was given from (participation by village is part of the record).
    assert row["locality_code"] == "00004-T1"
    with app.app_context():
        user = db.session.get(User, world.ids["resident"])
        assert user.locality_id is None
        assert user.phone is None
        assert user.email is None
    privacy = client.get("/me/privacy").get_data(as_text=True)
    assert "Each keeps the village it was given from" in privacy


def test_the_default_display_name_never_shows_residence(app, client, world):
    r = client.post(
        "/auth/register",
        data={
            "email": "moi@example.vn",
            "password": "Một-khởi-đầu-mới",
            "full_name": "Lê Văn Mới",
            "locality": "00004-T3",
            "consent": "y",
        },
    )
    assert r.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "moi@example.vn"))
        assert user.display_name == DEFAULT_DISPLAY_NAME == "Người dân"
        assert "Tổ dân phố" not in user.display_name


def test_my_data_lists_the_phone_and_the_offline_opinions_entered(app, client, auth, world, make):
    cid = make.consultation("open")
    make.opinion(cid, who="official", channel="paper")
    auth.login(world.email("official"))
    data = client.get("/me/data").get_json()
    assert "phone" in data["user"]
    assert "phone" in data["about"]
    assert "offline_contributors" in data["about"]
    [entered] = data["offline_opinions_entered"]
    assert entered["channel"] == "paper"
    assert entered["contributor_name_public"] is False
    assert "Trần Thị B" not in str(data)  # the contributor's name is theirs, not the official's
    assert "offline_opinions_entered" in client.get("/me/data?format=csv").get_data(as_text=True)


# --- the migration's data ----------------------------------------------------------------------


@pytest.mark.postgres
def test_the_migration_drops_residence_from_old_default_names(database_url):
    import secrets

    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from app import create_app

    url, engine_options = database_url
    app = create_app(
        {
            "TESTING": True,
            "QUEUE_IMMEDIATE": True,  # jobs run where enqueued; no queue file in instance/
            "SECRET_KEY": secrets.token_hex(8),
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        }
    )
    with app.app_context():
        upgrade(directory="migrations", revision="c9d0e1f2a3b4")
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO locality (id, code, name, kind, created_at) "
                    "VALUES (1, 'T1', 'Thôn Hoàn Cát', 'village', CURRENT_TIMESTAMP)"
                )
            )
            for uid, name, loc in (
                (1, "Người dân Thôn Hoàn Cát", 1),
                (2, "Bác An (thôn An Trung)", 1),
                (3, "Người dân đã xoá tài khoản", None),
            ):
                conn.execute(
                    sa.text(
                        'INSERT INTO "user" (id, email, full_name, display_name, locality_id, locale, created_at, failed_logins) '
                        "VALUES (:id, :email, 'X', :name, :loc, 'vi', CURRENT_TIMESTAMP, 0)"
                    ),
                    {"id": uid, "email": f"u{uid}@example.vn", "name": name, "loc": loc},
                )
        upgrade(directory="migrations", revision="d1a7a91c0f35")
        with db.engine.connect() as conn:
            names = dict(conn.execute(sa.text('SELECT id, display_name FROM "user"')).all())
            seen = conn.execute(
                sa.text('SELECT count(*) FROM "user" WHERE last_seen_at IS NOT NULL')
            ).scalar()
        assert names == {
            1: "Người dân",
            2: "Bác An (thôn An Trung)",
            3: "Người dân đã xóa tài khoản",
        }
        assert seen == 3
        downgrade(directory="migrations", revision="c9d0e1f2a3b4")
        downgrade(directory="migrations", revision="base")
        db.engine.dispose()


def test_the_demo_shows_paper_contributors_as_channel_and_village(app, runner, client):
    assert runner.invoke(args=["demo"]).exit_code == 0
    with app.app_context():
        offline = db.session.scalars(
            select(Opinion).where(Opinion.contributor_name.is_not(None))
        ).all()
        minh = next(
            op for op in offline if op.contributor_name == "Ông Trần Đức Minh, thôn Hoàn Cát"
        )
        assert not minh.contributor_name_public
        assert minh.locality.name == "Thôn Hoàn Cát"
        named = {op.contributor_name for op in offline if op.contributor_name_public}
        assert named
        assert all(n.startswith(("Hội ", "Ban công tác")) for n in named)
        cid = minh.consultation_id
    html = client.get(f"/consultations/{cid}").get_data(as_text=True)
    api = str(client.get(f"/api/v1/consultations/{cid}/opinions").get_json())
    for text in (html, api):
        assert "Trần Đức Minh" not in text
    assert "Thôn Hoàn Cát" in api
