"""memory:// limits count per process: gunicorn with several workers on it refuses to start
outside development (two workers would let a guesser try twice as many passwords)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from infra.ratelimits import gunicorn_workers

GUNICORN = str(Path(sys.executable).parent / "gunicorn")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ROOT = Path(__file__).resolve().parent.parent


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(tmp_path, workers: int, **env: str) -> tuple[subprocess.Popen, int]:
    port = _port()
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("RATELIMIT", "FLASK_", "GOPY_", "DATABASE_URL", "GUNICORN", "WEB_CONC")
        )
    }
    environ.update(SECRET_KEY="x" * 64, DATABASE_URL=f"sqlite:///{tmp_path / 'w.sqlite'}", **env)
    environ.setdefault("QUEUE_URL", f"sqlite:///{tmp_path / 'queue.sqlite'}")
    proc = subprocess.Popen(
        [
            GUNICORN,
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "20",
            "app:create_app()",
        ],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    return proc, port


def _answers(port: int, proc: subprocess.Popen, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/auth/login", timeout=2) as r:
                return r.status == 200
        except OSError:
            time.sleep(0.2)
    return False


def _stop(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        os.killpg(proc.pid, 15)
    out, _ = proc.communicate(timeout=20)
    return out


def test_workers_are_read_as_gunicorn_reads_them(monkeypatch):
    monkeypatch.delenv("GUNICORN_CMD_ARGS", raising=False)
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    assert gunicorn_workers(["flask", "run"]) == 1
    assert gunicorn_workers(["/venv/bin/gunicorn", "app:create_app()"]) == 1
    assert gunicorn_workers(["/venv/bin/gunicorn", "-w", "4", "app:create_app()"]) == 4
    assert gunicorn_workers(["gunicorn", "--workers=3", "app:create_app()"]) == 3
    monkeypatch.setenv("WEB_CONCURRENCY", "2")
    assert gunicorn_workers(["gunicorn", "app:create_app()"]) == 2
    monkeypatch.setenv("GUNICORN_CMD_ARGS", "--workers 5")
    assert gunicorn_workers(["gunicorn", "app:create_app()"]) == 5


@pytest.mark.slow
def test_two_workers_on_memory_storage_refuse_to_start(tmp_path):
    proc, port = _serve(tmp_path, 2)
    try:
        assert not _answers(port, proc)
        assert proc.wait(timeout=30) != 0
    finally:
        out = _stop(proc)
    assert "RATELIMIT_STORAGE_URI is memory:// with 2 gunicorn workers" in out


@pytest.mark.slow
def test_two_workers_on_redis_and_one_on_memory_serve(tmp_path):
    for workers, env in ((2, {"RATELIMIT_STORAGE_URI": REDIS_URL}), (1, {})):
        proc, port = _serve(tmp_path, workers, **env)
        try:
            assert _answers(port, proc), _stop(proc)
        finally:
            _stop(proc)
