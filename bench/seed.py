"""Helpers bench/run.py runs in a child process against ``DATABASE_URL``; each prints JSON.

python bench/seed.py schema            tables missing after ``db upgrade`` (or "create" to build them)
python bench/seed.py prepare N         N extra consultations for search, a resident to log in as
python bench/seed.py queries URL...    SQL statements each URL costs (anonymous visitor)
python bench/seed.py plans URL...      the query plans of the statements of each URL
"""

from __future__ import annotations

import json
import logging
import random
import sys
import time
import tomllib
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, func, inspect, select, text  # noqa: E402

from app import create_app  # noqa: E402
from auth import permissions  # noqa: E402
from auth.models import Role, RoleAssignment, User  # noqa: E402
from consultations.models import Category, Consultation, Kind, Opinion, Status  # noqa: E402
from core.extensions import db  # noqa: E402
from core.textutil import fold  # noqa: E402
from core.timeutil import utcnow  # noqa: E402
from localities.models import Locality, LocalityKind  # noqa: E402

#: The resident the POST benchmark logs in as (a bulk resident of ``demo --opinions``).
BENCH_PASSWORD = "bench-password-0123"


def _app():
    app = create_app()
    logging.getLogger("app").setLevel(logging.CRITICAL)
    return app


def schema(create: bool) -> dict:
    """Tables (and the SQLite search index) of the models missing from the database."""
    app = _app()
    with app.app_context():
        if create:
            db.create_all()
        names = set(inspect(db.engine).get_table_names())
        missing = sorted(set(db.metadata.tables) - names)
        if db.engine.dialect.name == "sqlite" and "consultation_fts" not in names:
            missing.append("consultation_fts")
        return {"missing": missing}


def prepare(extra: int) -> dict:
    """Add ``extra`` public consultations (texts of the demo's, for search) and give one
    verified resident a known password. Returns the ids the benchmark needs."""
    app = _app()
    with app.app_context():
        spec = tomllib.loads((ROOT / "data" / "demo.toml").read_text(encoding="utf-8"))
        rng = random.Random(5)
        communes = list(
            db.session.scalars(select(Locality.id).where(Locality.kind == LocalityKind.commune))
        )
        now = utcnow()
        rows = []
        for i in range(extra):
            cs = spec["consultations"][i % len(spec["consultations"])]
            status = rng.choice([Status.open, Status.closed, Status.closed, Status.concluded])
            opens = now - timedelta(days=rng.randint(5, 900))
            closes = (
                opens + timedelta(days=35)
                if status != Status.open
                else now + timedelta(days=rng.randint(1, 30))
            )
            title = f"{cs['title']} (đợt {i + 1})"
            rows.append(
                {
                    "locality_id": rng.choice(communes),
                    "title": title[:300],
                    "summary": cs["summary"],
                    "kind": Kind(cs["kind"]),
                    "category": Category(cs["category"]),
                    "status": status,
                    "opens_at": opens,
                    "closes_at": closes,
                    "opened_at": opens,
                    "concluded_at": closes if status == Status.concluded else None,
                    "created_at": opens,
                    "updated_at": opens,
                    "search_folded": fold("\n".join([title, cs["summary"], cs["text"]])),
                    "opinion_count": 0,
                }
            )
        for start in range(0, len(rows), 1000):
            db.session.execute(Consultation.__table__.insert(), rows[start : start + 1000])
        # The consultation with the bulk opinions, and one of its verified residents.
        cid, count = db.session.execute(
            select(Opinion.consultation_id, func.count())
            .group_by(Opinion.consultation_id)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        user = db.session.scalar(
            select(User)
            .where(User.email.like("nguoidan.%"), User.email_verified_at.is_not(None))
            .order_by(User.id)
            .limit(1)
        )
        user.set_password(BENCH_PASSWORD)
        # A moderator who answers that consultation's opinions (its queue is a target too).
        c = db.session.get(Consultation, cid)
        moderators = db.session.scalars(
            select(User)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(RoleAssignment.role == Role.moderator)
            .order_by(User.id)
        )
        moderator = next((m for m in moderators if permissions.can_respond(m, c)), None)
        if moderator is not None:
            moderator.set_password(BENCH_PASSWORD)
        db.session.commit()
        # Fresh statistics (and on PostgreSQL the visibility map index-only scans need), as
        # autovacuum would leave them after a bulk load.
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        else:
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        return {
            "consultation_id": cid,
            "opinions": count,
            "email": user.email,
            "password": BENCH_PASSWORD,
            "moderator_email": moderator.email if moderator is not None else None,
            "consultations": db.session.scalar(select(func.count(Consultation.id))),
        }


def _capture(app):
    statements: list[tuple[str, object, float]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_t"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        statements.append(
            (statement, parameters, time.perf_counter() - conn.info.pop("bench_t", 0))
        )

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", before)
        event.listen(db.engine, "after_cursor_execute", after)
    return statements


def queries(urls: list[str]) -> dict:
    """How many SQL statements each URL costs an anonymous visitor (second request, warm)."""
    app = _app()
    statements = _capture(app)
    client = app.test_client()
    out = {}
    for url in urls:
        client.get(url)
        statements.clear()
        response = client.get(url)
        out[url] = {"status": response.status_code, "statements": len(statements)}
    return out


def plans(urls: list[str]) -> dict:
    """Each statement of each URL with its time and query plan (EXPLAIN QUERY PLAN on SQLite,
    EXPLAIN ANALYZE on PostgreSQL)."""
    app = _app()
    statements = _capture(app)
    client = app.test_client()
    out: dict[str, list] = {}
    for url in urls:
        client.get(url)
        statements.clear()
        client.get(url)
        captured = list(statements)
        entries = []
        with app.app_context():
            conn = db.engine.raw_connection()
            try:
                cur = conn.cursor()
                sqlite = db.engine.dialect.name == "sqlite"
                for statement, params, seconds in captured:
                    prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
                    try:
                        cur.execute(prefix + statement, params)
                        rows = cur.fetchall()
                        plan = [" | ".join(str(v) for v in (r[1:] if sqlite else r)) for r in rows]
                    except Exception as exc:
                        plan = [f"(no plan: {exc})"]
                        conn.rollback()
                    entries.append(
                        {
                            "ms": round(seconds * 1000, 2),
                            "sql": " ".join(statement.split()),
                            "plan": plan,
                        }
                    )
            finally:
                conn.close()
        out[url] = entries
    return out


def main(argv: list[str]) -> None:
    command, args = argv[0], argv[1:]
    if command == "schema":
        result = schema(create=bool(args and args[0] == "create"))
    elif command == "prepare":
        result = prepare(int(args[0]))
    elif command == "queries":
        result = queries(args)
    elif command == "plans":
        result = plans(args)
    else:
        raise SystemExit(__doc__)
    print(json.dumps(result, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
