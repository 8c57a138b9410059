"""``make bench``: Góp ý under load with a large data set, against the issue's targets.

Seeds a fresh database (``db upgrade`` then ``demo --opinions N``, plus public consultations for
the search), serves it with gunicorn as in production, loads each page with wrk from a second
process, times the exports, and prints a table that is also saved to bench/results/latest.md.
SQLite always; PostgreSQL too when ``BENCH_DATABASE_URL`` names a database this may recreate.

Settings (environment): BENCH_OPINIONS (100000), BENCH_CONSULTATIONS (5000 extra, for search),
BENCH_DURATION (10 s per target), BENCH_CONNECTIONS (8), BENCH_THREADS (2),
BENCH_EXPORT_TIMEOUT (300 s), BENCH_PAGE_CACHE (5 s), BENCH_SKIP (comma list of: sqlite,
exports, docx, cache).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg
from load import ROOT, Browser, Server, write_scripts
from measure import (
    CONNECTIONS,
    DURATION,
    EXTRA_CONSULTATIONS,
    OPINIONS,
    RESULTS,
    SKIP,
    SMALL_OPINIONS,
    THREADS,
    baseline,
    deep_url,
    exports,
    load_targets,
    log,
    page_cache_targets,
    page_urls,
    page_weight,
)
from report import Targets, render
from sqlalchemy.engine import make_url


def base_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"FLASK_DEBUG", "GOPY_ENV", "FLASK_APP"}}
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=secrets.token_hex(32),
        RATELIMIT_ENABLED="0",
        PYTHONUNBUFFERED="1",
    )
    return env


def run(cmd: list[str], env: dict[str, str], *, timeout: int = 1800) -> subprocess.CompletedProcess:
    out = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:6])} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return out


def flask(*args: str, env: dict[str, str], timeout: int = 1800) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "flask", "--app", "app", *args], env, timeout=timeout)


def seed_tool(*args: str, env: dict[str, str]) -> dict:
    out = run([sys.executable, str(ROOT / "bench" / "seed.py"), *args], env)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- databases -----------------------------------------------------------------------------------


def fresh_database(url: str) -> None:
    """Delete the SQLite file, or drop and create the PostgreSQL database."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(u.database + suffix).unlink(missing_ok=True)
        return
    conninfo = {
        "host": u.host or "127.0.0.1",
        "port": u.port or 5432,
        "user": u.username or "postgres",
        "dbname": "postgres",
    }
    if u.password:
        conninfo["password"] = u.password
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{u.database}"')


def build(url: str, opinions: int, notes: list[str]) -> dict:
    """A fresh database with the demo, ``opinions`` bulk opinions and the search corpus."""
    env = base_env(url)
    fresh_database(url)
    try:
        flask("db", "upgrade", env=env)
        missing = seed_tool("schema", env=env)["missing"]
    except RuntimeError as exc:
        missing = [f"db upgrade failed: {str(exc).splitlines()[-1]}"]
    if missing:
        note = f"`db upgrade` left out {', '.join(missing)}: schema built with create_all instead"
        if note not in notes:
            notes.append(note)
        fresh_database(url)
        seed_tool("schema", "create", env=env)
    started = time.monotonic()
    flask("demo", "--opinions", str(opinions), env=env)
    seeded = time.monotonic() - started
    info = seed_tool("prepare", str(EXTRA_CONSULTATIONS), env=env)
    info["seed_seconds"] = seeded
    return info


def backend(
    label: str, url: str, small_url: str, get_script: Path, post_script: Path, notes: list[str]
) -> dict:
    log(f"{label}: seeding {OPINIONS} opinions and {EXTRA_CONSULTATIONS} extra consultations")
    info = build(url, OPINIONS, notes)
    log(
        f"{label}: seeded in {info['seed_seconds']:.0f} s; small data set ({SMALL_OPINIONS} opinions)"
    )
    small = build(small_url, SMALL_OPINIONS, notes)
    cid = info["consultation_id"]
    if small["consultation_id"] != cid:
        notes.append(
            f"{label}: the small data set put its opinions on consultation {small['consultation_id']}"
        )
    env = base_env(url)
    # Measured next to the app's own figures: this machine's load may change over a run.
    base = baseline(get_script)
    outbox = RESULTS / f"outbox-{label}"
    shutil.rmtree(outbox, ignore_errors=True)  # receipts of the last run's POST benchmark
    spec = f"app:create_app({{'OUTBOX_DIR': {str(outbox)!r}}})"
    with Server(spec, env, RESULTS / f"gunicorn-{label}.log") as server:
        server.wait("/healthz")
        browser = Browser(server.base)
        deep = deep_url(browser, cid, info["opinions"])
        urls = {**page_urls(cid), "consultation page, deep": deep}
        log(f"{label}: statements per page")
        counts_big = seed_tool("queries", *urls.values(), env=env)
        # The small data set's deep page is its last full one (page 2000 of it would be empty).
        small_urls = {
            **urls,
            "consultation page, deep": re.sub(
                r"page=\d+", f"page={max(1, small['opinions'] // 20)}", deep
            ),
        }
        counts_small = seed_tool("queries", *small_urls.values(), env=base_env(small_url))
        plans = seed_tool(
            "plans",
            urls["consultation page"],
            deep,
            urls["list with search"],
            urls["API opinions"],
            env=env,
        )
        (RESULTS / f"plans-{label}.json").write_text(
            json.dumps(plans, ensure_ascii=False, indent=1)
        )
        weights = page_weight(
            Browser(server.base),
            {
                "list": "/",
                "consultation": f"/consultations/{cid}",
                "concluded consultation": "/consultations/1",
                "record": "/consultations/1/record",
                "log in": "/auth/login",
                "register": "/auth/register",
            },
        )
        results = load_targets(server, info, deep, get_script, post_script)
    if "cache" not in SKIP:
        results += page_cache_targets(env, label, info, deep, get_script)
    statements = [
        {
            "page": name,
            "path": path,
            "small": counts_small.get(small_urls[name], {}).get("statements"),
            "large": counts_big.get(path, {}).get("statements"),
        }
        for name, path in urls.items()
    ]
    export_rows = [] if "exports" in SKIP else exports(env, cid, label)
    return {
        "label": label,
        "baseline": base,
        "info": info,
        "results": results,
        "statements": statements,
        "weights": weights,
        "exports": export_rows,
    }


def main() -> int:
    RESULTS.mkdir(parents=True, exist_ok=True)
    get_script, post_script = write_scripts(RESULTS)
    notes: list[str] = []
    started = time.monotonic()
    backends = []
    if "sqlite" not in SKIP:
        backends.append(
            backend(
                "sqlite",
                f"sqlite:///{RESULTS / 'bench.sqlite'}",
                f"sqlite:///{RESULTS / 'small.sqlite'}",
                get_script,
                post_script,
                notes,
            )
        )
    pg = os.environ.get("BENCH_DATABASE_URL")
    if pg:
        backends.append(backend("postgresql", pg, pg + "_small", get_script, post_script, notes))
    text = render(
        backends,
        Targets(),
        notes=notes,
        seconds=time.monotonic() - started,
        settings={
            "opinions": OPINIONS,
            "extra consultations": EXTRA_CONSULTATIONS,
            "duration": DURATION,
            "connections": CONNECTIONS,
            "wrk threads": THREADS,
            "cpus": os.cpu_count(),
            "load average": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        },
    )
    print(text)
    (RESULTS / "latest.md").write_text(text, encoding="utf-8")
    log(f"saved {RESULTS / 'latest.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
