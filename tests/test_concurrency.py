"""16 residents post 500 opinions each, at once, through gunicorn with 4 workers.

Every acknowledged opinion must be stored, exactly 8,000 in all, and the tracking numbers of the
year must run 1..8,000 without a gap or a duplicate. Runs on SQLite (WAL) and PostgreSQL.

The harness here (``Server``, ``Browser``, ``seed``) is shared with test_crash.py.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from app import create_app
from core.extensions import db

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
PASSWORD = "Phiên-họp-tổ-dân-phố-2026"

CLIENTS = 16
OPINIONS_EACH = 500
#: The whole run must finish in this time, or the test fails instead of hanging CI.
DEADLINE_SECONDS = 900


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_config(url: str, engine_options: dict, tmp_path: Path) -> dict:
    return {
        "SECRET_KEY": "conc-" + secrets.token_hex(16),
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "BASE_URL": "http://127.0.0.1",
        "RATELIMIT_ENABLED": False,
        "SENDGRID_API_KEY": None,
        # Jobs wait in a queue of the test's own (nothing here reads the mail).
        "QUEUE_URL": f"sqlite:///{tmp_path / 'queue.sqlite'}",
    }


class Server:
    """gunicorn serving ``create_app(config)`` in its own process group."""

    def __init__(self, config: dict, tmp_path: Path, workers: int = 4):
        self.config, self.workers = config, workers
        self.log_path = tmp_path / "gunicorn.log"
        self.port = 0
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.port = free_port()
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SENDGRID", "DATABASE_URL", "RATELIMIT"))
        }
        env["RATELIMIT_ENABLED"] = "0"
        argv = [
            GUNICORN,
            "-w",
            str(self.workers),
            "-b",
            f"127.0.0.1:{self.port}",
            "--timeout",
            "120",
            "--graceful-timeout",
            "5",
            f"app:create_app({self.config!r})",
        ]
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + self.log())
            try:
                status, _, _ = Browser(self.port).request("GET", "/healthz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not answer in time:\n" + self.log())

    def kill(self) -> None:
        """kill -9 the master and every worker at once, as a power cut would."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the test process dies (Linux), so a test
    run killed by a timeout leaves no server behind."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Browser:
    """A minimal HTTP client keeping cookies, without following redirects."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        #: Once frozen, new cookies are ignored: the session stays as it was after login, so
        #: flashed messages of unread redirects do not pile up in it.
        self.frozen = False

    def request(self, method: str, path: str, form: dict | None = None, timeout: float = 60):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {"Connection": "close"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            if not self.frozen:
                for raw in resp.headers.get_all("Set-Cookie") or []:
                    cookie = SimpleCookie()
                    cookie.load(raw)
                    for name, morsel in cookie.items():
                        self.cookies[name] = morsel.value
            return resp.status, resp.headers, data.decode("utf-8", "replace")
        finally:
            conn.close()

    def csrf(self, path: str) -> str:
        status, _, page = self.request("GET", path)
        assert status == 200, (path, status)
        match = CSRF.search(page)
        assert match, f"no csrf_token on {path}"
        return match.group(1)

    def login(self, email: str, password: str = PASSWORD) -> None:
        token = self.csrf("/auth/login")
        status, _headers, _ = self.request(
            "POST", "/auth/login", {"email": email, "password": password, "csrf_token": token}
        )
        assert status == 302, f"login of {email} answered {status}"


@dataclass
class Seeded:
    consultation_id: int
    emails: list[str] = field(default_factory=list)


def seed(config: dict, residents: int) -> Seeded:
    """A commune, an official, an open consultation and ``residents`` verified residents."""
    from auth.models import Role, RoleAssignment, User
    from consultations import services
    from consultations.models import Category, Kind
    from core.timeutil import utcnow
    from localities.models import Locality, LocalityKind

    app = create_app({**config, "TESTING": True})
    with app.test_request_context():
        db.create_all()
        province = Locality(code="01", name="Thành phố Hà Nội", kind=LocalityKind.province)
        commune = Locality(
            code="00004", name="Phường Ba Đình", kind=LocalityKind.commune, parent=province
        )
        db.session.add_all([province, commune])
        now = utcnow()
        official = User(
            email="official@example.vn",
            full_name="Cán bộ",
            display_name="Cán bộ phường",
            locality=commune,
            email_verified_at=now,
        )
        official.set_password(PASSWORD)
        official.assignments.append(RoleAssignment(role=Role.official, locality=commune))
        db.session.add(official)
        emails = [f"resident{i:02d}@example.vn" for i in range(residents)]
        # One hash for all: scrypt is slow by design and the test needs none of its strength here.
        official.set_password(PASSWORD)
        for email in emails:
            user = User(
                email=email,
                full_name="Người dân",
                display_name=f"Người dân {email[:10]}",
                locality=commune,
                email_verified_at=now,
                password_hash=official.password_hash,
            )
            db.session.add(user)
        db.session.flush()
        c = services.create_consultation(
            by=official,
            locality=commune,
            title="Quy định về trật tự xây dựng",
            summary="Lấy ý kiến.",
            kind=Kind.comment,
            category=Category.construction,
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=40),
            text="Điều 1. Phạm vi\nNội dung.\n\nĐiều 2. Đối tượng\nNội dung.",
        )
        services.open_consultation(c, by=official)
        db.session.commit()
        seeded = Seeded(c.id, emails)
        db.session.remove()
        db.engine.dispose()
    return seeded


@dataclass
class Outcome:
    acknowledged: dict[int, str] = field(default_factory=dict)  # opinion id -> body
    errors: list[str] = field(default_factory=list)


OPINION_ANCHOR = re.compile(r"#opinion-(\d+)")


def post_opinions(
    port: int,
    email: str,
    cid: int,
    count: int,
    tag: str,
    outcome: Outcome,
    lock: threading.Lock,
    stop: threading.Event | None = None,
) -> None:
    """Log in as ``email`` and post ``count`` opinions, recording each acknowledged one."""
    try:
        browser = Browser(port)
        browser.login(email)
        token = browser.csrf(f"/consultations/{cid}")
        browser.frozen = True
        for n in range(count):
            if stop is not None and stop.is_set():
                return
            body = f"{tag} ý kiến {n} của {email}: đề nghị mở rộng ngõ lên 4 mét."
            form = {
                "body": body,
                "stance": ("agree", "disagree", "suggest")[n % 3],
                "section_id": "",
                "csrf_token": token,
            }
            try:
                status, headers, page = browser.request(
                    "POST", f"/consultations/{cid}/opinions", form
                )
            except OSError as exc:  # the server went away (crash test): not acknowledged
                with lock:
                    outcome.errors.append(f"{email} #{n}: {exc!r}")
                if stop is not None:
                    return
                continue
            match = (
                OPINION_ANCHOR.search(headers.get("Location", "")) if status in (302, 303) else None
            )
            with lock:
                if match:
                    outcome.acknowledged[int(match.group(1))] = body
                else:
                    outcome.errors.append(f"{email} #{n}: HTTP {status} {page[:200]!r}")
    except Exception as exc:
        with lock:
            outcome.errors.append(f"{email}: {exc!r}")


def stored_opinions(config: dict, cid: int) -> dict[int, tuple[str, str]]:
    from consultations.models import Opinion

    engine = sa.create_engine(
        config["SQLALCHEMY_DATABASE_URI"], **config["SQLALCHEMY_ENGINE_OPTIONS"]
    )
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(Opinion.id, Opinion.body, Opinion.tracking_number).where(
                    Opinion.consultation_id == cid
                )
            ).all()
    finally:
        engine.dispose()
    return {r.id: (r.body, r.tracking_number) for r in rows}


def check_tracking_numbers(numbers: list[str], expected: int) -> None:
    from core.timeutil import LOCAL_TZ, utcnow

    year = utcnow().astimezone(LOCAL_TZ).year
    assert all(n.startswith(f"YK-{year}-") for n in numbers)
    values = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    assert len(set(values)) == len(values), "duplicate tracking numbers"
    assert values == list(range(1, expected + 1)), "tracking numbers have gaps"


@pytest.mark.slow
@pytest.mark.postgres
def test_sixteen_clients_post_8000_opinions(database_url, tmp_path):
    url, engine_options = database_url
    config = server_config(url, engine_options, tmp_path)
    seeded = seed(config, CLIENTS)
    server = Server(config, tmp_path)
    server.start()
    outcome, lock = Outcome(), threading.Lock()
    try:
        started = time.monotonic()
        threads = [
            threading.Thread(
                target=post_opinions,
                args=(
                    server.port,
                    email,
                    seeded.consultation_id,
                    OPINIONS_EACH,
                    f"c{i}",
                    outcome,
                    lock,
                ),
                daemon=True,
            )
            for i, email in enumerate(seeded.emails)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=max(1, DEADLINE_SECONDS - (time.monotonic() - started)))
        elapsed = time.monotonic() - started
        assert not any(t.is_alive() for t in threads), (
            f"clients still running after {DEADLINE_SECONDS} s"
        )
    finally:
        server.stop()

    stored = stored_opinions(config, seeded.consultation_id)
    total = CLIENTS * OPINIONS_EACH
    print(
        f"\n[concurrency, {url.split(':')[0]}] {len(stored)} of {total} opinions stored, "
        f"{len(outcome.acknowledged)} acknowledged, {len(outcome.errors)} errors, "
        f"{elapsed:.1f} s, {total / elapsed:.0f} opinions/s with {CLIENTS} clients and 4 workers"
    )
    assert outcome.errors == [], outcome.errors[:5]
    assert len(outcome.acknowledged) == total
    assert len(stored) == total
    for opinion_id, body in outcome.acknowledged.items():
        assert stored[opinion_id][0] == body
    check_tracking_numbers([number for _, number in stored.values()], total)
