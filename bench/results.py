"""``python bench/results.py``: the results of a household vote of 10,000 households (issue 15).

Seeds a fresh database (SQLite; PostgreSQL too when BENCH_DATABASE_URL or TEST_DATABASE_URL is
set, in a schema of its own dropped afterwards): a commune, a village of N households, a closed
decide consultation of three matters and a vote of every household on each (online, paper and
meeting alike). Then times, in process, the median of BENCH_RUNS runs of:

- ``decisions.results.results(c)`` (the counting itself);
- GET /consultations/<id>/results (the page) and GET /api/v1/consultations/<id>/results (the
  JSON) through the Flask test client, with the number of SQL statements each runs.

The target is under 100 ms for each. Settings: BENCH_HOUSEHOLDS (10000), BENCH_RUNS (20).
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402 - the project, once on sys.path
from auth.models import Role, RoleAssignment, User  # noqa: E402
from consultations import services  # noqa: E402
from consultations.models import Category, Consultation, Kind, Status  # noqa: E402
from core.extensions import db  # noqa: E402
from core.timeutil import utcnow  # noqa: E402
from decisions.models import Vote  # noqa: E402
from decisions.results import results  # noqa: E402
from households.models import Household  # noqa: E402
from localities.models import Locality, LocalityKind  # noqa: E402

HOUSEHOLDS = int(os.environ.get("BENCH_HOUSEHOLDS", "10000"))
RUNS = int(os.environ.get("BENCH_RUNS", "20"))
TEXT = "\n".join(
    [
        "Điều 1. Mức đóng góp làm đường bê tông thôn",
        "Mỗi hộ đóng góp 500.000 đồng.",
        "Điều 2. Sử dụng quỹ của thôn",
        "Quỹ dùng để sửa nhà văn hóa.",
        "Điều 3. Quy ước của thôn",
        "Giữ gìn vệ sinh đường làng.",
    ]
)
CHOICES = ("agree", "agree", "agree", "disagree", "blank", "spoilt")
CHANNELS = ("online", "paper", "meeting")


def seed(app) -> int:
    with app.test_request_context():
        db.create_all()
        commune = Locality(code="19999", name="Xã Thử Nghiệm", kind=LocalityKind.commune)
        village = Locality(
            code="19999-T1", name="Thôn Một", kind=LocalityKind.village, parent=commune
        )
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
            opens_at=now - timedelta(days=40),
            closes_at=now + timedelta(days=40),
            text=TEXT,
        )
        services.open_consultation(c, by=official)
        c.stored_status, c.closes_at = Status.closed, now - timedelta(seconds=1)
        db.session.execute(
            sa.insert(Household),
            [
                {"locality_id": village.id, "code": f"H{i:05d}", "representative_name": "–"}
                for i in range(HOUSEHOLDS)
            ],
        )
        ids = list(db.session.scalars(sa.select(Household.id).order_by(Household.id)))
        sections = [s.id for s in c.sections if s.heading]
        rows = [
            {
                "consultation_id": c.id,
                "section_id": sid,
                "household_id": h,
                "choice": CHOICES[(i + k) % len(CHOICES)],
                "channel": CHANNELS[i % len(CHANNELS)],
            }
            for k, sid in enumerate(sections)
            for i, h in enumerate(ids)
        ]
        for start in range(0, len(rows), 5000):
            db.session.execute(sa.insert(Vote), rows[start : start + 5000])
        db.session.commit()
        return c.id


def timed(fn) -> tuple[float, int]:
    """The median time of ``fn`` in ms over RUNS runs (after one to warm up), and its SQL count."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    fn()
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        fn()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    return statistics.median(times), len(statements)


def bench(label: str, url: str, engine_options: dict) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": secrets.token_hex(16),
                "SQLALCHEMY_DATABASE_URI": url.replace("{tmp}", tmp),
                "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
                "RATELIMIT_ENABLED": False,
                "QUEUE_IMMEDIATE": True,
                "OUTBOX_DIR": str(Path(tmp) / "outbox"),
                "UPLOAD_DIR": str(Path(tmp) / "uploads"),
            }
        )
        cid = seed(app)
        client = app.test_client()
        with app.app_context():
            c = db.session.get(Consultation, cid)

            def compute():
                db.session.expire_all()  # a fresh read each time, as a request has
                results(c)

            figures = {
                "results()": timed(compute),
                "page": timed(lambda: client.get(f"/consultations/{cid}/results")),
                "JSON": timed(lambda: client.get(f"/api/v1/consultations/{cid}/results")),
            }
            assert client.get(f"/consultations/{cid}/results").status_code == 200
            db.session.remove()
            db.engine.dispose()
    print(f"{label}: {HOUSEHOLDS:,} households × 3 matters, median of {RUNS}")
    for name, (ms, sql) in figures.items():
        flag = "ok" if ms < 100 else "SLOW"
        print(f"  {name:<10} {ms:7.1f} ms  {sql:2d} SQL statements  [{flag}]")


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
