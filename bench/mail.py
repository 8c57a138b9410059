"""``python bench/mail.py``: no request waits on SendGrid (issue 14).

Seeds a fresh SQLite database (``db upgrade``, ``demo --opinions N``), points the real SendGrid
client at a local fake that takes each message and then hangs (BENCH_HANG, 3 s) before
answering, and times, in process:

- a moderator's group answer to every opinion of the consultation (N, 5,000 by default) — the
  service and the commit, as the view runs them; it must take under 1 s (it writes one fan-out
  row to the outbox; the worker writes each author's notification and mail);
- posting an opinion through the whole Flask stack, with SendGrid hanging and answering at
  once, as a ratio to a bare Flask app's request through the same test client;
- the worker sending what the answer queued (``worker --burst``), with SendGrid answering at
  once: the time the mail itself takes, outside any request.

Settings (environment): BENCH_MAIL_OPINIONS (5000), BENCH_HANG (3), BENCH_POSTS (20).
"""

from __future__ import annotations

import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The configuration is read by create_app(), after main() has set the environment.
from app import create_app  # noqa: E402 - the project, once on sys.path
from auth.models import Role, RoleAssignment, User  # noqa: E402
from consultations.models import Consultation, Opinion  # noqa: E402
from core.extensions import db  # noqa: E402
from moderation.services import needs_answer_clause, respond  # noqa: E402
from notifications.models import Notification  # noqa: E402
from outbox.models import OutboxMessage  # noqa: E402

OPINIONS = int(os.environ.get("BENCH_MAIL_OPINIONS", "5000"))
HANG = float(os.environ.get("BENCH_HANG", "3"))
POSTS = int(os.environ.get("BENCH_POSTS", "20"))
FLASK = str(Path(sys.executable).parent / "flask")


class Fake:
    """SendGrid's endpoint: counts what it takes, waits ``hang`` seconds before answering."""

    def __init__(self) -> None:
        self.hang = 0.0
        self.taken = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fake.taken += 1
                time.sleep(fake.hang)
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def seed(env: dict[str, str]) -> None:
    for args in (["db", "upgrade"], ["demo", "--opinions", str(OPINIONS)]):
        subprocess.run(
            [FLASK, "--app", "app", *args], cwd=ROOT, env=env, check=True, capture_output=True
        )


def timed(fn, n: int) -> float:
    """The median of ``n`` runs of ``fn``, in seconds."""
    runs = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="gopy-bench-mail-"))
    fake = Fake()
    env = {k: v for k, v in os.environ.items() if k not in {"FLASK_DEBUG", "GOPY_ENV"}}
    env.update(
        DATABASE_URL=f"sqlite:///{work / 'bench.sqlite'}",
        QUEUE_URL=f"sqlite:///{work / 'queue.sqlite'}",
        SECRET_KEY=secrets.token_hex(32),
        RATELIMIT_ENABLED="0",
        SENDGRID_API_KEY="SG.bench",
        SENDGRID_API_HOST=fake.url,
    )
    print(f"seeding {OPINIONS} opinions in {work} …", flush=True)
    seed(env)
    os.environ.update(env)

    app = create_app({"WTF_CSRF_ENABLED": False, "OUTBOX_DIR": str(work / "outbox")})
    with app.app_context():
        cid = db.session.scalar(
            sa.select(Opinion.consultation_id)
            .group_by(Opinion.consultation_id)
            .order_by(sa.func.count().desc())
            .limit(1)
        )
        c = db.session.get(Consultation, cid)
        moderator = db.session.scalar(
            sa.select(User).join(RoleAssignment).where(RoleAssignment.role == Role.moderator)
        )
        resident = db.session.scalar(
            sa.select(User).where(User.email.like("%@%"), ~User.assignments.any()).limit(1)
        )
        resident.set_password("bench-password-2026")
        db.session.commit()
        email, moderator_id = resident.email, moderator.id

    fake.hang = HANG
    with app.test_request_context():
        moderator = db.session.get(User, moderator_id)
        ops = db.session.scalars(
            sa.select(Opinion).where(Opinion.consultation_id == cid, needs_answer_clause())
        ).all()
        if os.environ.get("BENCH_PROFILE"):
            import cProfile

            cProfile.runctx(
                "respond(ops, by=moderator, outcome='noted', explanation='x'); db.session.rollback()",
                globals(),
                locals(),
                str(work / "answer.prof"),
            )
            print(f"profile: {work / 'answer.prof'}")
        before = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))
        started = time.perf_counter()
        respond(ops, by=moderator, outcome="noted", explanation="Ủy ban ghi nhận các ý kiến.")
        db.session.commit()
        answer = time.perf_counter() - started
        answered = len(ops)
    with app.app_context():
        queued = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) - before

    client = app.test_client()
    client.post("/auth/login", data={"email": email, "password": "bench-password-2026"})
    n = [0]

    def post():
        n[0] += 1
        body = f"Ý kiến số {n[0]}: đề nghị mở rộng ngõ lên 4 mét."
        r = client.post(f"/consultations/{cid}/opinions", data={"body": body, "stance": "agree"})
        assert r.status_code == 302, r.status_code

    hung = timed(post, POSTS)
    fake.hang = 0
    quick = timed(post, POSTS)

    bare = Flask("bare")
    bare.get("/")(lambda: "hello")
    bare_client = bare.test_client()
    hello = timed(lambda: bare_client.get("/"), 200)

    taken_before = fake.taken
    started = time.perf_counter()
    subprocess.run(
        [FLASK, "--app", "app", "worker", "--burst"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    burst = time.perf_counter() - started
    sent = fake.taken - taken_before
    with app.app_context():
        told = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(Notification.type == "opinion_answered")
        )

    print()
    print(f"| measure ({OPINIONS} opinions, SendGrid hanging {HANG:g} s) | figure |")
    print("|---|---|")
    print(
        f"| group answer to {answered} opinions (service + commit) | {answer:.3f} s, {queued} rows queued, "
        f"{'under' if answer < 1 else 'OVER'} 1 s |"
    )
    print(
        f"| post an opinion, SendGrid hanging | {hung * 1000:.1f} ms = {hung / hello:.0f}× bare Flask |"
    )
    print(
        f"| post an opinion, SendGrid answering at once | {quick * 1000:.1f} ms = {quick / hello:.0f}× bare Flask |"
    )
    print(f"| hanging / answering | {hung / quick:.2f} |")
    print(f"| bare Flask request (test client) | {hello * 1000:.2f} ms |")
    print(
        f"| `worker --burst` afterwards, SendGrid answering at once | {told} notifications "
        f"and {sent} mails in {burst:.1f} s |"
    )


if __name__ == "__main__":
    main()
