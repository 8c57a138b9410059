"""Serving under gunicorn and loading with wrk: the pieces bench/run.py puts together."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

#: gunicorn workers for the baseline and the application alike (BENCH_WORKERS).
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
ROOT = Path(__file__).resolve().parent.parent
WRK = os.environ.get("WRK", "wrk")

#: Appended to every wrk script: one JSON line with the figures (latencies in microseconds).
REPORT_LUA = r"""
function done(summary, latency, requests)
  local ok = 0
  for _, t in ipairs(bench_threads or {}) do ok = ok + (t:get("ok") or 0) end
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50": %d, "p95": %d, "p99": %d, "max": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, "ok": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout, ok))
end
"""

#: Sent by the Browser below and by wrk alike: Flask-Login's session protection ties a login to
#: the browser that made it (its address and User-Agent), and a request from another one marks
#: the session no longer fresh and sets the cookie again on every answer, which no real browser
#: sees and which cost every logged-in row of the table a signed cookie per request.
USER_AGENT = "gopy-bench/1"

#: GET, as a logged-in visitor when BENCH_COOKIE is set.
GET_LUA = r"""
function init(args)
  wrk.headers["User-Agent"] = "%(ua)s"
  local cookie = os.getenv("BENCH_COOKIE")
  if cookie and cookie ~= "" then wrk.headers["Cookie"] = cookie end
end
""".replace("%(ua)s", USER_AGENT)

#: POST an opinion per request, each with its own text, as a logged-in resident.
POST_LUA = r"""
bench_threads = {}
local next_id = 0
function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(bench_threads, thread)
end
function init(args)
  counter = 0
  ok = 0
  path = os.getenv("BENCH_PATH")
  headers = {["Content-Type"] = "application/x-www-form-urlencoded",
             ["User-Agent"] = "%(ua)s",
             ["Cookie"] = os.getenv("BENCH_COOKIE")}
  prefix = "csrf_token=" .. os.getenv("BENCH_CSRF") .. "&stance=suggest&section_id=&body="
end
function request()
  counter = counter + 1
  local body = prefix .. "Ban+tin+y+kien+so+" .. tid .. "-" .. counter ..
    "%3A+de+nghi+xa+cong+khai+tien+do+va+kinh+phi+tung+tuyen+duong."
  return wrk.format("POST", path, headers, body)
end
function response(status, headers, body)
  -- The service answers a received opinion with a redirect to it.
  if status == 302 or status == 303 then ok = ok + 1 end
end
"""


@dataclass
class Result:
    name: str
    url: str
    rps: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    requests: int = 0
    errors: int = 0
    ok: int | None = None
    note: str = ""
    #: The machine's 1-minute load average when the run started (other work skews figures).
    load: float = 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``gunicorn -w WORKERS --threads 1`` on a free local port, stopped on exit (``-w 4`` as in
    the README's production command: twice the cores, so a worker waiting on PostgreSQL leaves
    the CPU to another)."""

    def __init__(
        self,
        app_spec: str,
        env: dict[str, str],
        log: Path,
        chdir: Path = ROOT,
        workers: int = WORKERS,
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(workers),
            "--threads",
            "1",
            "-b",
            f"127.0.0.1:{self.port}",
            "--chdir",
            str(chdir),
            "--timeout",
            "120",
            "--graceful-timeout",
            "5",
            app_spec,
        ]
        self.log = log.open("ab")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait(self, path: str = "/", timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited with {self.proc.returncode}; see {self.log.name}"
                )
            try:
                with urllib.request.urlopen(self.base + path, timeout=5) as r:  # noqa: S310 - local URL
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer {path} within {timeout} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def wrk(
    name: str,
    url: str,
    *,
    duration: int,
    connections: int,
    threads: int,
    script: Path,
    env: dict[str, str] | None = None,
    count_ok: bool = False,
) -> Result:
    """Load ``url`` for ``duration`` seconds; read the JSON line the Lua ``done`` prints."""
    cmd = [
        WRK,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "30s",
        "-s",
        str(script),
        url,
    ]
    run_env = {**os.environ, **(env or {})}
    load = os.getloadavg()[0]
    out = subprocess.run(
        cmd, env=run_env, capture_output=True, text=True, timeout=duration + 120, check=False
    )
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH ")), None)
    if line is None:
        return Result(
            name, url, note=f"wrk failed: {out.stderr.strip() or out.stdout.strip()}"[:300]
        )
    data = json.loads(line[len("BENCH ") :])
    seconds = data["duration_us"] / 1e6
    errors = sum(data[k] for k in ("connect", "read", "write", "status", "timeout"))
    return Result(
        name,
        url,
        rps=data["requests"] / seconds if seconds else 0.0,
        p50_ms=data["p50"] / 1000,
        p95_ms=data["p95"] / 1000,
        p99_ms=data["p99"] / 1000,
        requests=data["requests"],
        errors=errors,
        ok=data["ok"] if count_ok else None,
        load=load,
    )


def write_scripts(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    get_script, post_script = folder / "get.lua", folder / "post.lua"
    get_script.write_text(GET_LUA + REPORT_LUA)
    post_script.write_text(POST_LUA + REPORT_LUA)
    return get_script, post_script


# --- a browser-like session, for the POST benchmark and the page weights -----------------------

_TOKEN = re.compile(r'name="csrf_token"\s+(?:type="hidden"\s+)?value="([^"]+)"')


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect
        )
        self.opener.addheaders = [("User-Agent", USER_AGENT)]

    def get(self, path: str, cookie: str = "") -> tuple[int, bytes, dict[str, str]]:
        req = urllib.request.Request(self.base + path, headers={"Cookie": cookie} if cookie else {})  # noqa: S310
        try:
            with self.opener.open(req, timeout=60) as r:
                return r.status, r.read(), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read(), dict(e.headers)

    def post(self, path: str, fields: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        data = urllib.parse.urlencode(fields).encode()
        try:
            with self.opener.open(self.base + path, data=data, timeout=60) as r:
                return r.status, r.read(), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read(), dict(e.headers)

    def token(self, path: str) -> str:
        status, body, _ = self.get(path)
        found = _TOKEN.search(body.decode("utf-8", "replace"))
        if status != 200 or not found:
            raise RuntimeError(f"no CSRF token on {path} (status {status})")
        return found.group(1)

    def login(self, email: str, password: str) -> None:
        token = self.token("/auth/login")
        status, _, _headers = self.post(
            "/auth/login", {"csrf_token": token, "email": email, "password": password}
        )
        if status not in (302, 303):
            raise RuntimeError(f"login as {email} answered {status}")

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)
