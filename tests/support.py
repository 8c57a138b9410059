"""Helpers shared by the tests: the CSRF-aware client, the seeded world, the maker of
consultations and opinions, the outbox. The fixtures are in conftest.py.

Importable as ``support`` in the same way as ``conftest``: pytest puts tests/ (which is no
package) on ``sys.path`` when it loads tests/conftest.py. The browser tests' own helpers are
``tests/browser/support.py`` (``from .support import``), a module of the package ``browser``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
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


# --- the application ---------------------------------------------------------------------------


def new_app(database_url: tuple[str, dict], tmp_path: Path, **config: Any) -> Flask:
    """An application on ``database_url`` (the ``database_url`` fixture's pair) with the
    tables created, files under ``tmp_path``, limits off and English pages. ``config``
    overrides the test configuration; a key given as None is left to the defaults."""
    url, engine_options = database_url
    settings = {
        "TESTING": True,
        "SECRET_KEY": "test-" + secrets.token_hex(8),
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "BASE_URL": "http://localhost",
        "RATELIMIT_ENABLED": False,
        # Jobs run where they are enqueued (Huey's immediate mode); the worker's own tests
        # use a real store and `worker --burst`.
        "QUEUE_IMMEDIATE": True,
        # Assertions read English; tests of the Vietnamese default set it back (see
        # test_auth_language.py), and a `lang` cookie or User.locale still wins.
        "BABEL_DEFAULT_LOCALE": "en",
    }
    settings.update(config)
    app = create_app({k: v for k, v in settings.items() if v is not None})
    app.test_client_class = Client
    with app.app_context():
        db.create_all()
    return app


def new_queued_app(database_url: tuple[str, dict], tmp_path: Path, **config: Any) -> Flask:
    """``new_app`` whose jobs wait in a queue (Huey's memory store) for ``queue.run_due()``."""
    return new_app(database_url, tmp_path, QUEUE_IMMEDIATE=False, QUEUE_URL="memory://", **config)


def dispose(app: Flask) -> None:
    """Close what ``app`` holds open (its session and its engine's connections)."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


class AuthActions:
    def __init__(self, client: Client):
        self._client = client

    def login(self, email: str, password: str = PASSWORD):
        return self._client.post("/auth/login", data={"email": email, "password": password})

    def logout(self):
        return self._client.post("/auth/logout")


# --- the world -----------------------------------------------------------------------------------


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


def password_hash() -> str:
    """One scrypt hash of PASSWORD for every seeded user: hashing is slow on purpose."""
    if not _HASH:
        from werkzeug.security import generate_password_hash

        _HASH.append(generate_password_hash(PASSWORD, method="scrypt"))
    return _HASH[0]


ROLES = ["resident", "unverified", "official", "official_other", "moderator", "reviewer", "admin"]


def seed_world(app: Flask) -> World:
    """Store the localities and a user per role of :class:`World` (the ``world`` fixture)."""
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
            user.password_hash = password_hash()
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
    folder = Path(app.config["OUTBOX_DIR"])
    if not folder.exists():
        return []
    files = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    return [json.loads(p.read_text(encoding="utf-8")) for p in files]


def find_link(text: str, pattern: str) -> str:
    match = re.search(pattern, text)
    assert match, f"no link matching {pattern!r}"
    return match.group(0)


# --- consultations and opinions ----------------------------------------------------------------

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


def opinions_of_every_kind(app, make: Maker) -> tuple[int, dict[str, int]]:
    """An open consultation with four opinions: online on article 4, one hidden, one
    withdrawn, one on paper on article 2. Returns its id and the opinions' ids by kind."""
    from consultations.models import Opinion, OpinionStatus
    from core.timeutil import utcnow

    cid = make.consultation("open")
    ids = {
        "online": make.opinion(cid, body="Đồng ý mở rộng ngõ lên 4 mét.", section_position=4),
        "hidden": make.opinion(cid, body="Lời lẽ thô tục không được đăng.", stance="disagree"),
        "withdrawn": make.opinion(cid, who="admin", body="Ý kiến đã rút lại.", stance="suggest"),
        "paper": make.opinion(
            cid,
            who="official",
            body="Đề nghị giữ nguyên hiện trạng.",
            channel="paper",
            stance="disagree",
            section_position=2,
        ),
    }
    with app.app_context():
        hidden = db.session.get(Opinion, ids["hidden"])
        hidden.status, hidden.hidden_reason, hidden.hidden_at = (
            OpinionStatus.hidden,
            "Ngôn từ thô tục",
            utcnow(),
        )
        withdrawn = db.session.get(Opinion, ids["withdrawn"])
        withdrawn.status, withdrawn.withdrawn_at = OpinionStatus.withdrawn, utcnow()
        db.session.commit()
    return cid, ids


# --- a fake SendGrid ------------------------------------------------------------------------------


class FakeSendGrid:
    """SendGrid's mail-send endpoint on 127.0.0.1, for the real client. It can be slowed
    (``delay``: it takes the message, then waits before answering, until ``release`` is set),
    made to fail (``status``, or ``fail_next`` answers of 500) and it dedupes by the
    idempotency key, as "at most once delivered": ``delivered`` holds one message per key,
    ``requests`` every request."""

    KEY_ARG = "gopy_message_key"

    def __init__(self):
        self.requests: list[dict] = []
        self.delivered: dict[str, dict] = {}
        self.status = 202
        self.fail_next = 0
        self.delay = 0.0
        self.release = threading.Event()
        self.received = threading.Event()
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                with fake.lock:
                    status = fake.status
                    if fake.fail_next > 0:
                        fake.fail_next -= 1
                        status = 500
                    fake.requests.append(
                        {"path": self.path, "auth": self.headers.get("Authorization"), "json": body}
                    )
                    key = (body.get("custom_args") or {}).get(fake.KEY_ARG) or secrets.token_hex(8)
                    if status < 300 and self.path == "/v3/mail/send":
                        fake.delivered.setdefault(key, body)
                fake.received.set()
                if fake.delay:
                    fake.release.wait(fake.delay)
                payload = b"" if status < 300 else b'{"errors":[{"message":"down"}]}'
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the client gave up (timeout) or was killed
                    pass

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def sent(self) -> list[dict]:
        return [r for r in self.requests if r["path"] == "/v3/mail/send"]

    def start(self) -> FakeSendGrid:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def sendgrid_env(monkeypatch, fake: FakeSendGrid) -> None:
    """Point the apps created after this at ``fake``."""
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.test-key")
    monkeypatch.setenv("SENDGRID_API_HOST", fake.url)


# --- notifications -----------------------------------------------------------------------------


def grant_notifications(app, user_id: int) -> None:
    """Give a seeded user the ``notifications`` consent (none of them has it)."""
    from auth.models import Consent, User
    from auth.services import NOTIFICATIONS

    with app.app_context():
        user = db.session.get(User, user_id)
        user.consents.append(Consent(purpose=NOTIFICATIONS, text_version="test"))
        db.session.commit()


def notifications_of(app, user_id: int) -> list:
    """(type, detail, consultation_id, mailed) of a user's notifications, oldest first."""
    from notifications.models import Notification

    with app.app_context():
        return [
            (n.type, n.detail, n.consultation_id, n.mailed)
            for n in db.session.scalars(
                sa.select(Notification)
                .where(Notification.user_id == user_id)
                .order_by(Notification.id)
            )
        ]
