"""Shared fixtures: an app on a fresh database, a CSRF-aware client, a small world of users.

Tests marked ``postgres`` run twice: on SQLite and on the PostgreSQL of ``TEST_DATABASE_URL``
(each test in a schema of its own, dropped afterwards). On CI that variable is always set.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from app import create_app
from core.extensions import db

PASSWORD = "Lúa-chín-vàng-2026"


class Client(FlaskClient):
    """A test client that sends a valid CSRF token with every form post, as a browser would
    after loading the form. ``csrf=False`` posts without one (to test the refusal)."""

    def csrf_token(self) -> str:
        with self.session_transaction() as sess:
            raw = sess.get("csrf_token")
            if not raw:
                raw = hashlib.sha1(os.urandom(64)).hexdigest()  # noqa: S324 - flask-wtf's own format
                sess["csrf_token"] = raw
        return URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token").dumps(raw)

    def post(self, *args, csrf: bool = True, **kwargs):
        data = kwargs.get("data")
        if csrf and (data is None or isinstance(data, dict)):
            data = dict(data or {})
            data.setdefault("csrf_token", self.csrf_token())
            kwargs["data"] = data
        return super().post(*args, **kwargs)


def pytest_generate_tests(metafunc):
    if "db_backend" in metafunc.fixturenames:
        backends = ["sqlite"]
        if metafunc.definition.get_closest_marker("postgres"):
            backends.append("postgresql")
        metafunc.parametrize("db_backend", backends, scope="function")


@pytest.fixture
def db_backend():  # replaced by the parametrisation above
    return "sqlite"


def _pg_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL")


@pytest.fixture
def database_url(db_backend, tmp_path):
    if db_backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite'}", {}
        return
    url = _pg_url()
    if not url:
        if os.environ.get("CI"):
            pytest.fail("TEST_DATABASE_URL must be set on CI: PostgreSQL tests may not be skipped")
        pytest.skip("PostgreSQL not configured (set TEST_DATABASE_URL)")
    schema = "t_" + secrets.token_hex(6)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS unaccent"))
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url, {"connect_args": {"options": f"-csearch_path={schema},public"}}
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture
def app(database_url, tmp_path):
    url, engine_options = database_url
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-" + secrets.token_hex(8),
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
            "OUTBOX_DIR": str(tmp_path / "outbox"),
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            "BASE_URL": "http://localhost",
            "RATELIMIT_ENABLED": False,
            # Assertions read English; tests of the Vietnamese default set it back (see
            # test_auth_language.py), and a `lang` cookie or User.locale still wins.
            "BABEL_DEFAULT_LOCALE": "en",
        }
    )
    app.test_client_class = Client
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app) -> Client:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class AuthActions:
    def __init__(self, client: Client):
        self._client = client

    def login(self, email: str, password: str = PASSWORD):
        return self._client.post("/auth/login", data={"email": email, "password": password})

    def logout(self):
        return self._client.post("/auth/logout")


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


@dataclass
class World:
    """A province, a commune with three villages, another commune, and a user per role."""

    province: object = None
    commune: object = None
    villages: list = field(default_factory=list)
    other_commune: object = None
    users: dict = field(default_factory=dict)

    def email(self, who: str) -> str:
        return f"{who}@example.vn"


_HASH: list[str] = []


def _password_hash() -> str:
    """One scrypt hash of PASSWORD for every seeded user: hashing is slow on purpose."""
    if not _HASH:
        from werkzeug.security import generate_password_hash

        _HASH.append(generate_password_hash(PASSWORD, method="scrypt"))
    return _HASH[0]


ROLES = ["resident", "unverified", "official", "official_other", "moderator", "reviewer", "admin"]


@pytest.fixture
def world(app) -> World:
    from auth.models import Role, RoleAssignment, User
    from core.timeutil import utcnow
    from localities.models import Locality, LocalityKind

    w = World()
    with app.app_context():
        w.province = Locality(code="01", name="Thành phố Hà Nội", kind=LocalityKind.province)
        w.commune = Locality(
            code="00004", name="Phường Ba Đình", kind=LocalityKind.commune, parent=w.province
        )
        w.other_commune = Locality(
            code="00008", name="Phường Ngọc Hà", kind=LocalityKind.commune, parent=w.province
        )
        w.villages = [
            Locality(
                code=f"00004-T{i}",
                name=f"Tổ dân phố số {i}",
                kind=LocalityKind.village,
                parent=w.commune,
            )
            for i in (1, 2, 3)
        ]
        db.session.add_all([w.province, w.commune, w.other_commune, *w.villages])
        roles = {
            "official": (Role.official, w.commune),
            "official_other": (Role.official, w.other_commune),
            "moderator": (Role.moderator, w.commune),
            "reviewer": (Role.reviewer, w.commune),
            "admin": (Role.admin, w.province),
        }
        for who in ROLES:
            user = User(
                email=w.email(who),
                full_name=f"Nguyễn Văn {who.title()}",
                display_name=f"Người dân {who}",
                locality=w.villages[0],
                locale="en",  # the suite reads English; Vietnamese is tested explicitly
                email_verified_at=None if who == "unverified" else utcnow(),
            )
            user.password_hash = _password_hash()
            if who in roles:
                role, loc = roles[who]
                user.assignments.append(RoleAssignment(role=role, locality=loc))
            db.session.add(user)
            w.users[who] = user
        db.session.commit()
        # Keep plain ids around: the objects detach when the context ends.
        w.ids = {k: u.id for k, u in w.users.items()}
        w.commune_id, w.other_commune_id = w.commune.id, w.other_commune.id
        w.village_ids = [v.id for v in w.villages]
    return w


def outbox(app) -> list[dict]:
    """Messages written to the outbox folder, oldest first."""
    import json

    folder = Path(app.config["OUTBOX_DIR"])
    if not folder.exists():
        return []
    files = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    return [json.loads(p.read_text(encoding="utf-8")) for p in files]


def find_link(text: str, pattern: str) -> str:
    match = re.search(pattern, text)
    assert match, f"no link matching {pattern!r}"
    return match.group(0)


ONE_DAY = timedelta(days=1)


DRAFT_TEXT = """Dự thảo quy định về quản lý đất đai và trật tự xây dựng trên địa bàn phường.

Điều 1. Phạm vi điều chỉnh
Quy định này áp dụng cho việc sử dụng đất đai trên địa bàn phường.

Điều 2. Đối tượng áp dụng
Hộ gia đình, cá nhân đang sử dụng đất.

Điều 3. Lộ giới đường ngõ
Ngõ mới mở có lộ giới tối thiểu 4 mét.
"""


class Maker:
    """Builds consultations and opinions in a given state through the real services."""

    def __init__(self, app, world):
        self.app, self.world = app, world

    def consultation(
        self,
        status: str = "open",
        *,
        title: str = "Quy định quản lý đất đai phường Ba Đình",
        category: str = "land",
        kind: str = "comment",
        text: str = DRAFT_TEXT,
        locality_id: int | None = None,
    ) -> int:
        from auth.models import User
        from consultations import services
        from consultations.models import Category, Consultation, Kind, Status
        from core.timeutil import utcnow
        from localities.models import Locality

        with self.app.test_request_context():
            official = db.session.get(User, self.world.ids["official"])
            locality = db.session.get(Locality, locality_id or self.world.commune_id)
            now = utcnow()
            c = services.create_consultation(
                by=official,
                locality=locality,
                title=title,
                summary="Tóm tắt: lấy ý kiến người dân.",
                kind=Kind(kind),
                category=Category(category),
                opens_at=now - ONE_DAY,
                closes_at=now + 40 * ONE_DAY,
                text=text,
            )
            if status in ("open", "closed", "concluded"):
                services.open_consultation(c, by=official)
            db.session.commit()
            cid = c.id
            if status in ("closed", "concluded"):
                c = db.session.get(Consultation, cid)
                c.closes_at = utcnow() - timedelta(seconds=1)
                c.stored_status = Status.closed
                if status == "concluded":
                    c.stored_status = Status.concluded
                    c.concluded_at = utcnow()
                db.session.commit()
            return cid

    def opinion(
        self,
        consultation_id: int,
        *,
        who: str = "resident",
        body: str = "Tôi đồng ý với dự thảo.",
        stance: str = "agree",
        section_position: int | None = None,
        channel: str = "online",
    ) -> int:
        from auth.models import User
        from consultations import services
        from consultations.models import Channel, Consultation, Section, Stance, Status

        with self.app.test_request_context():
            c = db.session.get(Consultation, consultation_id)
            stored, closes = c.stored_status, c.closes_at
            reopen = c.status != Status.open and channel == "online"
            if reopen:  # allow seeding opinions into closed consultations
                from core.timeutil import utcnow

                c.stored_status, c.closes_at = Status.open, utcnow() + ONE_DAY
            section = None
            if section_position is not None:
                section = db.session.scalar(
                    sa.select(Section).where(
                        Section.consultation_id == consultation_id,
                        Section.position == section_position,
                    )
                )
            user = db.session.get(User, self.world.ids[who])
            op = services.post_opinion(
                c,
                by=user,
                body=body,
                stance=Stance(stance),
                section=section,
                channel=Channel(channel),
                contributor_name="Trần Thị B" if channel != "online" else None,
            )
            if reopen:
                c.stored_status, c.closes_at = stored, closes
            db.session.commit()
            return op.id


@pytest.fixture
def make(app, world) -> Maker:
    return Maker(app, world)
