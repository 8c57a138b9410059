"""Two app servers from two separate copies of the checkout, each with its own instance/
folder, on one PostgreSQL, one Redis and one S3 store (moto's server): what one stores the
other serves, a job queued by one is done by the other's worker, a session begun on one holds
on the other. Nothing of the site's lives on an app server."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import redis
import requests
import sqlalchemy as sa
from peers import free_port, fresh_database, postgresql_url, stop, wait_for_port
from support import PASSWORD, Maker, dispose, new_app, seed_world

from consultations.models import Attachment

ROOT = Path(__file__).resolve().parent.parent
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
#: Not copied: what a checkout does not hold (the venv is shared, as two servers share a
#: system's packages), and what a server makes of its own.
LEFT_OUT = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "instance", "test-artifacts", "__pycache__", ".pytest_cache"
)


def _needed() -> tuple[str, str]:
    database, queue = postgresql_url(), os.environ.get("TEST_REDIS_URL")
    if not queue:
        if os.environ.get("CI"):
            pytest.fail("TEST_REDIS_URL must be set on CI")
        pytest.skip("Redis not configured (TEST_REDIS_URL)")
    return database, queue


class Site:
    """One app server (gunicorn) run from its own checkout."""

    def __init__(self, checkout: Path, env: dict[str, str]):
        self.checkout, self.env = checkout, env
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(checkout / "server.log", "wb")  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                "1",
                "-b",
                f"127.0.0.1:{self.port}",
                "app:create_app()",
            ],
            cwd=checkout,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, self.process, seconds=60)

    def flask(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", *args],
            cwd=self.checkout,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout + done.stderr

    def session(self, email: str) -> requests.Session:
        s = requests.Session()
        s.headers["Accept-Language"] = "en"
        form = s.get(f"{self.base}/auth/login").text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
        r = s.post(
            f"{self.base}/auth/login",
            data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)},
            allow_redirects=False,
        )
        assert r.status_code in (302, 303), r.text[:500]
        return s

    def close(self) -> None:
        stop(self.process)
        self.log.close()


def _checkout(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(ROOT, target, ignore=LEFT_OUT)
    # Each imports its own code, not the installed project's.
    where = subprocess.run(
        [sys.executable, "-c", "import app, infra.stores; print(infra.stores.__file__)"],
        cwd=target,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(target), where
    return target


@pytest.mark.slow
def test_two_servers_share_files_jobs_and_sessions(tmp_path, s3_peer):
    database_url, redis_url = _needed()
    bucket = s3_peer.new_bucket()
    redis.Redis.from_url(redis_url).flushdb()
    a_dir, b_dir = _checkout(tmp_path, "a"), _checkout(tmp_path, "b")
    with fresh_database(database_url) as url:
        env = {
            **os.environ,
            **s3_peer.env(),
            "DATABASE_URL": url,
            "QUEUE_URL": redis_url,
            "RATELIMIT_STORAGE_URI": redis_url,
            "STORAGE_URL": f"s3://{bucket}/site",
            "SECRET_KEY": "two-servers-" + "0" * 40,
            "BASE_URL": "http://127.0.0.1",
            "EXPORT_INLINE_MAX": "2",
            "BABEL_DEFAULT_LOCALE": "en",
        }
        env.pop("FLASK_DEBUG", None)
        env.pop("GOPY_ENV", None)
        a_env = {**env, "PYTHONPATH": str(a_dir)}
        b_env = {**env, "PYTHONPATH": str(b_dir)}
        sites: list[Site] = []
        try:
            migrate = subprocess.run(
                [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
                cwd=a_dir,
                env=a_env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert migrate.returncode == 0, migrate.stderr
            seeder = new_app((url, {}), tmp_path)
            world = seed_world(seeder)
            maker = Maker(seeder, world)
            cid = maker.consultation("open")
            for i in range(3):  # more than EXPORT_INLINE_MAX: the export is a job
                maker.opinion(cid, body=f"Ý kiến số {i + 1} về con đường liên thôn.")
            dispose(seeder)

            a, b = Site(a_dir, a_env), Site(b_dir, b_env)
            sites += [a, b]

            # An official attaches a plan on server A; anyone gets it from server B.
            official = a.session("official@example.vn")
            form = official.get(f"{a.base}/consultations/{cid}").text
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
            posted = official.post(
                f"{a.base}/consultations/{cid}/attachments",
                data={"csrf_token": token},
                files={"file": ("Bản đồ.pdf", io.BytesIO(PDF), "application/pdf")},
                allow_redirects=False,
            )
            assert posted.status_code in (302, 303)
            engine = sa.create_engine(url)
            with engine.connect() as conn:
                aid = conn.scalar(sa.select(Attachment.id))
            engine.dispose()
            fetched = requests.get(f"{b.base}/attachments/{aid}", timeout=30)
            assert fetched.status_code == 200
            assert fetched.content == PDF
            assert not (a_dir / "instance" / "uploads").exists() or not any(
                (a_dir / "instance" / "uploads").rglob("*.pdf")
            )

            # A reviewer asks server A for the CSV: a job on Redis, done by B's worker.
            reviewer = a.session("reviewer@example.vn")
            first = reviewer.get(f"{a.base}/consultations/{cid}/export.csv")
            assert first.headers["Content-Type"].startswith("text/html")  # the progress page
            b.flask("worker", "--burst")
            ready = reviewer.get(f"{a.base}/consultations/{cid}/export.csv")
            assert ready.headers["Content-Type"].startswith("text/csv")
            assert "Ý kiến số 3 về con đường liên thôn." in ready.content.decode("utf-8-sig")

            # The same session, begun on A, downloads the same file from B.
            again = reviewer.get(f"{b.base}/consultations/{cid}/export.csv")
            assert again.headers["Content-Type"].startswith("text/csv")
            assert again.content == ready.content
        finally:
            for site in sites:
                site.close()
