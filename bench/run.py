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

import gzip
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

from load import ROOT, Browser, Result, Server, write_scripts, wrk
from report import Targets, render

RESULTS = ROOT / "bench" / "results"
OPINIONS = int(os.environ.get("BENCH_OPINIONS", "100000"))
SMALL_OPINIONS = 100
EXTRA_CONSULTATIONS = int(os.environ.get("BENCH_CONSULTATIONS", "5000"))
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
EXPORT_TIMEOUT = int(os.environ.get("BENCH_EXPORT_TIMEOUT", "300"))
SKIP = {s.strip() for s in os.environ.get("BENCH_SKIP", "").split(",") if s.strip()}
#: The deep page: as far into the opinions as ?page=2000 at 20 a page.
DEEP_PAGE = 2000
#: Lifetime of caching.py's anonymous page cache in the page-cache rows.
PAGE_CACHE_SECONDS = float(os.environ.get("BENCH_PAGE_CACHE", "5"))


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


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
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(u.database + suffix).unlink(missing_ok=True)
        return
    import psycopg

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


# --- measurements --------------------------------------------------------------------------------


def page_urls(cid: int) -> dict[str, str]:
    return {
        "consultation page": f"/consultations/{cid}",
        "list with search": "/?q=dat+dai",
        "list": "/",
        "API opinions": f"/api/v1/consultations/{cid}/opinions",
    }


def deep_url(browser: Browser, cid: int, opinions: int) -> str:
    """The deep page as the page itself links it: ``?page=N``, or its keyset cursor."""
    _status, body, _ = browser.get(f"/consultations/{cid}")
    html = body.decode("utf-8", "replace")
    found = re.search(r'<a href="([^"]+)"[^>]*rel="next"', html) or re.search(
        r'rel="next"[^>]*href="([^"]+)"', html
    )
    if not found or "page=" in found.group(1):
        return f"/consultations/{cid}?page={DEEP_PAGE}"
    # A keyset link (e.g. ?before=<id>): ask for the id 40,000 opinions down.
    href = found.group(1).replace("&amp;", "&")
    depth = min(DEEP_PAGE * 20, max(opinions - 20, 0))
    param = re.search(r"(\w+)=(\d+)", href.split("?", 1)[-1])
    if not param:
        return f"/consultations/{cid}?page={DEEP_PAGE}"
    first_id = int(param.group(2)) + 20  # the link points past the first page of 20
    return re.sub(
        rf"{param.group(1)}=\d+", f"{param.group(1)}={max(first_id - depth, 1)}", href.split("#")[0]
    )


def page_weight(browser: Browser, paths: dict[str, str]) -> list[dict]:
    """HTML of each page plus the stylesheets it links, raw and gzipped."""
    rows = []
    css_cache: dict[str, bytes] = {}
    for name, path in paths.items():
        status, body, _ = browser.get(path)
        html = body.decode("utf-8", "replace")
        css = b""
        for href in re.findall(r'<link rel="stylesheet" href="([^"]+)"', html):
            href = href.replace("&amp;", "&")
            if href not in css_cache:
                css_cache[href] = browser.get(href)[1]
            css += css_cache[href]
        rows.append(
            {
                "page": name,
                "path": path,
                "status": status,
                "html": len(body),
                "css": len(css),
                "total": len(body) + len(css),
                "gzip": len(gzip.compress(body)) + len(gzip.compress(css))
                if css
                else len(gzip.compress(body)),
            }
        )
    return rows


def get_targets(
    server: Server, targets: dict[str, str], get_script: Path, cookie: str = ""
) -> list[Result]:
    """Load each path in turn; one that does not answer 200 is reported, not loaded."""
    browser = Browser(server.base)
    results = []
    for name, path in targets.items():
        status, _, _ = browser.get(path, cookie=cookie)
        if status != 200:
            results.append(Result(name, path, note=f"answered {status}, not loaded"))
            continue
        log(f"wrk {name}: {path}")
        results.append(
            wrk(
                name,
                server.base + path,
                duration=DURATION,
                connections=CONNECTIONS,
                threads=THREADS,
                script=get_script,
                env={"BENCH_COOKIE": cookie},
            )
        )
    return results


def load_targets(
    server: Server, info: dict, deep: str, get_script: Path, post_script: Path
) -> list[Result]:
    cid = info["consultation_id"]
    results = get_targets(
        server,
        {
            "consultation page, first": f"/consultations/{cid}",
            "consultation page, deep": deep,
            "list with search ?q=dat+dai": "/?q=dat+dai",
            "API opinions, first page": f"/api/v1/consultations/{cid}/opinions",
        },
        get_script,
    )
    resident = Browser(server.base)
    try:
        resident.login(info["email"], info["password"])
    except RuntimeError as exc:
        results.append(Result("consultation page, first, logged-in resident", "", note=str(exc)))
    else:
        results += get_targets(
            server,
            {"consultation page, first, logged-in resident": f"/consultations/{cid}"},
            get_script,
            cookie=resident.cookie_header(),
        )
    results.append(post_target(server, info, post_script))
    return results


def page_cache_targets(
    env: dict[str, str], label: str, info: dict, deep: str, get_script: Path
) -> list[Result]:
    """The anonymous pages again with caching.py's page cache on (PAGE_CACHE_SECONDS=5)."""
    cid = info["consultation_id"]
    outbox = RESULTS / f"outbox-{label}"
    spec = f"bench.serve:create_app({PAGE_CACHE_SECONDS}, {str(outbox)!r})"
    with Server(spec, env, RESULTS / f"gunicorn-{label}-cache.log") as server:
        server.wait("/healthz")
        suffix = f", page cache {PAGE_CACHE_SECONDS:g} s"
        return get_targets(
            server,
            {
                "consultation page, first" + suffix: f"/consultations/{cid}",
                "consultation page, deep" + suffix: deep,
                "list with search ?q=dat+dai" + suffix: "/?q=dat+dai",
                "API opinions, first page" + suffix: f"/api/v1/consultations/{cid}/opinions",
            },
            get_script,
        )


def post_target(server: Server, info: dict, post_script: Path) -> Result:
    cid = info["consultation_id"]
    path = f"/consultations/{cid}/opinions"
    browser = Browser(server.base)
    try:
        browser.login(info["email"], info["password"])
        token = browser.token(f"/consultations/{cid}")
    except RuntimeError as exc:
        return Result("post an opinion", path, note=str(exc))
    before = _opinion_count(browser, cid)
    log(f"wrk post an opinion: {path}")
    result = wrk(
        "post an opinion",
        server.base + path,
        duration=DURATION,
        connections=CONNECTIONS,
        threads=THREADS,
        script=post_script,
        count_ok=True,
        env={"BENCH_PATH": path, "BENCH_COOKIE": browser.cookie_header(), "BENCH_CSRF": token},
    )
    stored = _opinion_count(browser, cid) - before
    result.note = f"{stored} opinions stored"
    # Only received opinions count: a refused post is not throughput.
    if result.requests:
        result.rps = result.rps * (result.ok or 0) / result.requests
    return result


def _opinion_count(browser: Browser, cid: int) -> int:
    status, body, _ = browser.get(f"/api/v1/consultations/{cid}")
    return json.loads(body)["opinion_count"] if status == 200 else 0


def baseline(get_script: Path) -> Result:
    env = {k: v for k, v in os.environ.items() if k not in {"FLASK_DEBUG"}}
    with Server("hello:app", env, RESULTS / "gunicorn-hello.log", chdir=ROOT / "bench") as server:
        server.wait("/")
        log("wrk baseline: bare Flask hello")
        return wrk(
            "baseline: Flask hello",
            server.base + "/",
            duration=DURATION,
            connections=CONNECTIONS,
            threads=THREADS,
            script=get_script,
        )


def exports(env: dict[str, str], cid: int, label: str) -> list[dict]:
    """Each export through the CLI, with its wall time and the child's peak RSS."""
    rows = []
    formats = ["csv", "xlsx"] + ([] if "docx" in SKIP else ["docx"])
    for fmt in formats:
        output = RESULTS / f"export-{label}.{fmt}"
        output.unlink(missing_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "app",
            "export",
            str(cid),
            "--format",
            fmt,
            "--output",
            str(output),
        ]
        log(f"export {fmt}")
        started = time.monotonic()
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        status, rusage, timed_out = _wait(proc, EXPORT_TIMEOUT)
        seconds = time.monotonic() - started
        error = proc.stderr.read().decode("utf-8", "replace").strip().splitlines() if status else []
        proc.stderr.close()
        rows.append(
            {
                "format": fmt,
                "seconds": seconds,
                "peak_mb": rusage.ru_maxrss / 1024 if rusage else 0.0,
                "bytes": output.stat().st_size if output.exists() else 0,
                "ok": status == 0,
                "note": f"killed after {EXPORT_TIMEOUT} s"
                if timed_out
                else (error[-1][:200] if error else ""),
            }
        )
    return rows


def _wait(proc: subprocess.Popen, timeout: int):
    """Reap ``proc`` with wait4 so its own peak RSS is read (not the max over all children)."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, rusage, False
        if time.monotonic() > deadline:
            proc.kill()
            _, status, rusage = os.wait4(proc.pid, 0)
            proc.returncode = -9
            return -9, rusage, True
        time.sleep(0.05)


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
