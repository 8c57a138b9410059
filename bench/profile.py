"""Where a logged-in page's milliseconds go: ``python bench/profile.py EMAIL PASSWORD [PATH]``.

Renders PATH (default: the consultation with the most opinions) for the logged-in user of the
database of ``DATABASE_URL`` (a demo: ``flask --app app demo``) through Flask's test client,
prints the time per page beside a bare Flask "hello" through the same client (their ratio),
then pyinstrument's tree of where the time went (``--no-profile`` to skip it).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from flask import Flask

from app import create_app
from consultations.models import Opinion
from core.extensions import db

ROUNDS = 200


def per_request(client, path: str, rounds: int = ROUNDS) -> float:
    for _ in range(20):
        client.get(path)
    start = time.perf_counter()
    for _ in range(rounds):
        client.get(path)
    return (time.perf_counter() - start) / rounds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("email")
    parser.add_argument("password")
    parser.add_argument("path", nargs="?")
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args()

    app = create_app({"RATELIMIT_ENABLED": False, "SECRET_KEY": "profile-" + "0" * 40})
    with app.app_context():
        cid = db.session.execute(
            sa.select(Opinion.consultation_id)
            .group_by(Opinion.consultation_id)
            .order_by(sa.func.count().desc())
        ).scalar()
    path = args.path or f"/consultations/{cid}"
    client = app.test_client()
    form = client.get("/auth/login").text
    token = form.split('name="csrf_token"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    login = client.post(
        "/auth/login", data={"email": args.email, "password": args.password, "csrf_token": token}
    )
    if login.status_code not in (302, 303):
        print(f"login refused ({login.status_code})", file=sys.stderr)
        return 1
    page = client.get(path)
    if page.status_code != 200:
        print(f"{path}: {page.status_code}", file=sys.stderr)
        return 1

    bare = Flask("bare")
    bare.add_url_rule("/", "hello", lambda: "Hello")
    hello = per_request(bare.test_client(), "/")
    spent = per_request(client, path)
    print(f"{path}: {len(page.data):,} bytes, {spent * 1000:.2f} ms a page")
    print(f"bare Flask: {hello * 1000:.3f} ms a request; ratio {hello / spent:.3f}x")
    if not args.no_profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(ROUNDS):
            client.get(path)
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
