"""Real servers for the tests that need more than one process: an S3 protocol peer (moto's
server, from PyPI), PgBouncer (Debian's package) and app servers started from a checkout.
Importable as ``peers``, like ``support``."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
import sqlalchemy as sa
from botocore.config import Config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen | None = None, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited with {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing answered on port {port} within {seconds} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def postgresql_url() -> str:
    """TEST_DATABASE_URL: without it a test fails on CI (nothing may be skipped there) and is
    skipped elsewhere."""
    import pytest  # lazy: this module is also a plain helper library

    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("TEST_DATABASE_URL must be set on CI: PostgreSQL tests may not be skipped")
        pytest.skip("PostgreSQL not configured (set TEST_DATABASE_URL)")
    return url


@contextlib.contextmanager
def fresh_database(url: str, prefix: str = "gopy_"):
    """A new PostgreSQL database beside ``url``'s (its extensions made), dropped afterwards;
    yields its URL."""
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    name = prefix + secrets.token_hex(5)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    new = sa.engine.make_url(url).set(database=name)
    engine = sa.create_engine(new)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS unaccent"))
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    engine.dispose()
    try:
        yield new.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class S3Peer:
    """moto's S3 server in its own process: the S3 protocol over HTTP, as MinIO speaks it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.process)

    def env(self) -> dict[str, str]:
        """What an operator sets for a MinIO of their own (boto3 reads these itself)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "gopy-test",
            "AWS_SECRET_ACCESS_KEY": "gopy-test-secret",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def client(self) -> Any:
        env = self.env()
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=env["AWS_DEFAULT_REGION"],
            config=Config(s3={"addressing_style": "path"}),
        )

    def new_bucket(self) -> str:
        name = "gopy-" + secrets.token_hex(6)
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> dict[str, bytes]:
        s3 = self.client()
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}

    def close(self) -> None:
        stop(self.process)


class PgBouncer:
    """Debian's pgbouncer in transaction mode in front of the tests' PostgreSQL."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 5432) -> None:
        program = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not Path(program).exists():
            raise RuntimeError("pgbouncer is not installed (the Debian package pgbouncer)")
        # Its own folder, outside pytest's (mode 700): as root it runs as the user postgres.
        self.folder = folder = Path(tempfile.mkdtemp(prefix="gopy-pgbouncer-"))
        self.port = free_port()
        ini = folder / "pgbouncer.ini"
        users = folder / "users.txt"
        users.write_text('"postgres" ""\n', encoding="utf-8")
        ini.write_text(
            "[databases]\n"
            f"* = host={host} port={port}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\n"
            f"unix_socket_dir =\nauth_type = trust\nauth_file = {users}\n"
            "pool_mode = transaction\nmax_client_conn = 200\ndefault_pool_size = 3\n"
            "admin_users = postgres\n"
            f"logfile = {folder / 'pgbouncer.log'}\npidfile = {folder / 'pgbouncer.pid'}\n"
            "ignore_startup_parameters = extra_float_digits,options\n",
            encoding="utf-8",
        )
        argv = [program, str(ini)]
        if os.geteuid() == 0:  # pgbouncer refuses to run as root
            shutil.chown(folder, "postgres")
            for path in (ini, users):
                shutil.chown(path, "postgres")
            argv = [program, "-u", "postgres", str(ini)]
        self.log = folder / "pgbouncer.log"
        with open(folder / "stderr.txt", "wb") as err:
            self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        try:
            wait_for_port(self.port, self.process)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}: {(folder / 'stderr.txt').read_text()}") from None

    def url(self, database_url: str) -> str:
        """``database_url`` (a database of the PostgreSQL behind) reached through PgBouncer."""
        u = sa.engine.make_url(database_url)
        return u.set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

    def stats(self, database: str) -> dict[str, Any]:
        """PgBouncer's own count for ``database`` (SHOW STATS on its admin console)."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, dbname="pgbouncer", user="postgres", autocommit=True
        ) as conn:
            cur = conn.execute("SHOW STATS")
            names = [c.name for c in cur.description]
            for row in cur.fetchall():
                if row[0] == database:
                    return dict(zip(names, row, strict=True))
        return {}

    def close(self) -> None:
        stop(self.process)
        shutil.rmtree(self.folder, ignore_errors=True)
