"""Cost at scale: ``python bench/million.py`` on the database of ``DATABASE_URL``, seeded with
``flask --app app demo --opinions N`` (a million for issue 17).

Through Flask's test client, beside a bare Flask "hello" through the same client: the
consultation page (first and deepest page of opinions, rendered every time), the JSON API's
first page, and its keyset pages (``?after=``) at the start, the middle and the end of the
opinions, then a harvest of every opinion by keyset, timed per thousand pages. Last, the CSV
export through the CLI, with its time and peak memory (``BENCH_SKIP_EXPORT=1`` skips it).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from flask import Flask

from app import create_app
from consultations.models import Opinion
from core.extensions import db

ROUNDS = 50


def per_request(client, path: str, rounds: int = ROUNDS) -> float:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    start = time.perf_counter()
    for _ in range(rounds):
        client.get(path)
    return (time.perf_counter() - start) / rounds


def main() -> int:
    app = create_app({"RATELIMIT_ENABLED": False, "SECRET_KEY": "bench-" + "0" * 40})
    with app.app_context():
        cid, total, low, high = db.session.execute(
            sa.select(
                Opinion.consultation_id,
                sa.func.count(),
                sa.func.min(Opinion.id),
                sa.func.max(Opinion.id),
            )
            .group_by(Opinion.consultation_id)
            .order_by(sa.func.count().desc())
            .limit(1)
        ).one()
    per_page = app.config["OPINIONS_PER_PAGE"]
    client = app.test_client()
    bare = Flask("bare")
    bare.add_url_rule("/", "hello", lambda: "Hello")
    hello = per_request(bare.test_client(), "/", 500)
    print(f"consultation {cid}: {total:,} opinions; bare Flask {hello * 1000:.3f} ms a request")
    api = f"/api/v1/consultations/{cid}/opinions"
    paths = {
        "consultation page, first": f"/consultations/{cid}",
        "consultation page, deepest": f"/consultations/{cid}?page={max(1, total // per_page)}",
        "API opinions, first page": api,
        "API keyset, start": f"{api}?after={low}",
        "API keyset, middle": f"{api}?after={(low + high) // 2}",
        "API keyset, end": f"{api}?after={high - 50}",
    }
    for name, path in paths.items():
        spent = per_request(client, path)
        print(f"{name:30} {spent * 1000:8.2f} ms  ({hello / spent:.3f}x bare)")

    # Every opinion by keyset, as an open-data harvester would: the time of each 1,000 pages.
    after, pages, seen, lap = low - 1, 0, 0, time.perf_counter()
    laps = []
    while True:
        data = client.get(f"{api}?after={after}").get_json()
        seen += len(data["items"])
        pages += 1
        if pages % 1000 == 0:
            now = time.perf_counter()
            laps.append(now - lap)
            lap = now
        if data["next_after"] is None:
            break
        after = data["next_after"]
    if laps:
        print(
            f"harvest: {seen:,} opinions in {pages:,} pages; seconds per 1,000 pages: "
            f"first {laps[0]:.2f}, middle {laps[len(laps) // 2]:.2f}, last {laps[-1]:.2f}"
        )
    else:
        print(f"harvest: {seen:,} opinions in {pages:,} pages")

    if not os.environ.get("BENCH_SKIP_EXPORT"):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "export.csv"
            start = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "flask",
                    "--app",
                    "app",
                    "export",
                    str(cid),
                    "--format",
                    "csv",
                    "--output",
                    str(out),
                ],
                check=True,
                capture_output=True,
            )
            spent = time.perf_counter() - start
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            size = out.stat().st_size / 1e6
            print(f"CSV export: {spent:.1f} s, {peak:.0f} MB peak RSS, {size:.0f} MB written")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
