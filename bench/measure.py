"""What bench/run.py measures against a running server: pages under wrk, their weight, the POST
of an opinion, the exports through the CLI; and the settings, read from the environment
(bench/run.py lists them)."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from load import ROOT, Browser, Result, Server, wrk

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
    moderator = Browser(server.base)
    queue = "moderator's queue, logged-in moderator"
    try:
        if not info.get("moderator_email"):
            raise RuntimeError("no moderator of the consultation in the seed")
        moderator.login(info["moderator_email"], info["password"])
    except RuntimeError as exc:
        results.append(Result(queue, "", note=str(exc)))
    else:
        results += get_targets(
            server,
            {queue: f"/moderation/consultations/{cid}"},
            get_script,
            cookie=moderator.cookie_header(),
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
