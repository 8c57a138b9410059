"""``python bench/votes.py``: can a commune of 3,000 households vote in an evening? (issue 15)

Seeds a fresh database (SQLite; PostgreSQL too when BENCH_DATABASE_URL or TEST_DATABASE_URL is
set, in a schema of its own dropped afterwards): a commune, HOUSEHOLDS households each linked to
a verified representative, an open decide consultation of three matters. Then, through the
whole Flask stack (the test client, CSRF off), times:

- representatives voting online: one POST /consultations/<id>/votes per matter, VOTERS of them;
- an official entering paper ballots, a whole ballot (three matters) per POST /ballots, BALLOTS
  of them;

each as votes a second and as a ratio of a bare Flask POST's time in the same run, and the
server time the commune's 3,000 × 3 votes would take. Settings: BENCH_HOUSEHOLDS (3000),
BENCH_VOTERS (300), BENCH_BALLOTS (300).
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402 - the project, once on sys.path
from auth.models import Role, RoleAssignment, User  # noqa: E402
from auth.sessions import open_session  # noqa: E402
from consultations import services  # noqa: E402
from consultations.models import Category, Kind  # noqa: E402
from core.extensions import db  # noqa: E402
from core.timeutil import utcnow  # noqa: E402
from decisions.models import Vote  # noqa: E402
from households.models import Household  # noqa: E402
from localities.models import Locality, LocalityKind  # noqa: E402

HOUSEHOLDS = int(os.environ.get("BENCH_HOUSEHOLDS", "3000"))
VOTERS = int(os.environ.get("BENCH_VOTERS", "300"))
BALLOTS = int(os.environ.get("BENCH_BALLOTS", "300"))
TEXT = "Điều 1. Mức đóng góp\nA.\nĐiều 2. Miễn, giảm\nB.\nĐiều 3. Ban giám sát\nC."


def seed(app) -> tuple[int, list[int], list[int], int]:
    with app.test_request_context():
        db.create_all()
        commune = Locality(code="19999", name="Xã Thử Nghiệm", kind=LocalityKind.commune)
        village = Locality(code="19999-T1", name="Thôn Một", kind=LocalityKind.village)
        village.parent = commune
        official = User(email="official@bench.vn", full_name="Cán bộ", display_name="Cán bộ")
        official.email_verified_at = utcnow()
        official.assignments.append(RoleAssignment(role=Role.official, locality=commune))
        db.session.add_all([commune, village, official])
        db.session.flush()
        now = utcnow()
        c = services.create_consultation(
            by=official,
            locality=commune,
            title="Biểu quyết mức đóng góp làm đường",
            summary="",
            kind=Kind.decide,
            category=Category.transport,
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=40),
            text=TEXT,
        )
        services.open_consultation(c, by=official)
        db.session.execute(
            sa.insert(User),
            [
                {
                    "email": f"ho{i}@bench.vn",
                    "full_name": "Đại diện",
                    "display_name": "Đại diện",
                    "email_verified_at": now,
                    "locale": "vi",
                }
                for i in range(HOUSEHOLDS)
            ],
        )
        users = dict(db.session.execute(sa.select(User.email, User.id)).all())
        db.session.execute(
            sa.insert(Household),
            [
                {
                    "locality_id": village.id,
                    "code": f"H{i:05d}",
                    "representative_name": "–",
                    "representative_id": users[f"ho{i}@bench.vn"] if i < VOTERS else None,
                }
                for i in range(HOUSEHOLDS)
            ],
        )
        db.session.commit()
        sections = [s.id for s in c.matters]
        return c.id, sections, [users[f"ho{i}@bench.vn"] for i in range(VOTERS)], official.id


def logged_in(app, user_id: int):
    client = app.test_client()
    with app.app_context():
        user = db.session.get(User, user_id)
        open_session(user)
        db.session.commit()
        ident = user.get_id()
    with client.session_transaction() as sess:
        sess["_user_id"], sess["_fresh"] = ident, True
    return client


def bench(label: str, url: str, engine_options: dict) -> None:
    work = Path(tempfile.mkdtemp(prefix="gopy-bench-votes-"))
    app = create_app(
        {
            "SECRET_KEY": secrets.token_hex(16),
            "SQLALCHEMY_DATABASE_URI": url.format(tmp=work),
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "QUEUE_URL": "memory://",
            "OUTBOX_DIR": str(work / "outbox"),
            "UPLOAD_DIR": str(work / "uploads"),
        }
    )
    cid, sections, voters, official = seed(app)
    clients = [logged_in(app, uid) for uid in voters]
    started = time.perf_counter()
    for client in clients:
        for sid in sections:
            r = client.post(
                f"/consultations/{cid}/votes", data={"section_id": sid, "choice": "agree"}
            )
            assert r.status_code == 303, r.status_code
    online = (time.perf_counter() - started) / (len(clients) * len(sections))

    staff = logged_in(app, official)
    started = time.perf_counter()
    for i in range(VOTERS, VOTERS + BALLOTS):
        form = {"household": f"H{i:05d}", "channel": "paper"}
        form |= {f"choice_{sid}": "disagree" for sid in sections}
        r = staff.post(f"/consultations/{cid}/ballots", data=form)
        assert r.status_code == 303, r.status_code
    paper = (time.perf_counter() - started) / (BALLOTS * len(sections))
    with app.app_context():
        stored = db.session.scalar(sa.select(sa.func.count()).select_from(Vote))
        db.session.remove()
        db.engine.dispose()

    bare = Flask("bare")
    bare.post("/")(lambda: "ok")
    bare_client = bare.test_client()
    started = time.perf_counter()
    for _ in range(500):
        bare_client.post("/", data={"a": "b"})
    hello = (time.perf_counter() - started) / 500

    commune = HOUSEHOLDS * len(sections)
    print(f"\n{label}: {HOUSEHOLDS} households, {len(sections)} matters, {stored} votes stored")
    print("| measure | per vote | votes/s | × bare Flask POST |")
    print("|---|---|---|---|")
    print(
        f"| online vote (POST /votes) | {online * 1000:.1f} ms | {1 / online:.0f} | {online / hello:.0f}× |"
    )
    print(
        f"| paper ballot entered (3 matters a POST) | {paper * 1000:.1f} ms | {1 / paper:.0f} | {paper / hello:.0f}× |"
    )
    print(f"| bare Flask POST | {hello * 1000:.2f} ms | | |")
    print(
        f"| the commune's {commune} votes, all online, one worker | {commune * online:.0f} s of server time "
        f"(an evening is 14,400 s) | | |"
    )


def main() -> None:
    bench("SQLite", "sqlite:///{tmp}/bench.sqlite", {})
    pg = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if pg:
        schema = "bench_" + secrets.token_hex(4)
        engine = sa.create_engine(pg)
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            bench("PostgreSQL", pg, {"connect_args": {"options": f"-csearch_path={schema},public"}})
        finally:
            with engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            engine.dispose()


if __name__ == "__main__":
    main()
