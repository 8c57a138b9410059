"""Consistent backups of the database while the site runs: ``flask --app app backup --output FILE``.

SQLite: the online backup API copies one consistent snapshot (writers are not blocked in WAL
mode), the copy is checked with ``PRAGMA integrity_check`` and then moved into place.
PostgreSQL: ``pg_dump --format=custom`` (restore with ``pg_restore``).
Then the stored uploads (attachments, reviews' signed PDFs), from the folder or the S3 store,
into a folder beside it (``FILE.files/``): only those not already there, since a stored file
never changes under its random name. Copied after the database, so every file the copy of the
database names is in the folder. Generated files (exports, letters) are left out: they are
made again on demand, and the letters hold households' keys.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy.engine import URL

from core.extensions import db
from infra import storage


class BackupError(click.ClickException):
    pass


def backup_sqlite(database: str, output: Path) -> int:
    """Copy the SQLite database at ``database`` to ``output``; returns the size in bytes."""
    if not database or database == ":memory:" or not Path(database).exists():
        raise BackupError(f"No SQLite database file at {database!r}.")
    partial = output.with_name(output.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(database, timeout=30)
    target = sqlite3.connect(partial)
    try:
        source.execute("PRAGMA busy_timeout=30000")
        source.backup(target)
        # A backup in WAL mode would need its -wal file; a single file is easier to keep.
        target.execute("PRAGMA journal_mode=DELETE")
        check = target.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        target.close()
        source.close()
    if check != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(f"The copy failed its integrity check: {check}")
    os.replace(partial, output)
    return output.stat().st_size


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A URL pg_dump understands, and the environment carrying the password (not argv)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def backup_postgresql(url: URL, output: Path, pg_dump: str | None = None) -> int:
    """``pg_dump`` the database in custom format to ``output``; returns the size in bytes."""
    program = pg_dump or shutil.which("pg_dump")
    if not program:
        raise BackupError("pg_dump was not found on PATH; install the PostgreSQL client tools.")
    partial = output.with_name(output.name + ".partial")
    conninfo, env = _libpq(url)
    argv = [program, "--format=custom", "--no-owner", "--file", str(partial), "--dbname", conninfo]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603 - fixed argv, no shell
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError("pg_dump failed: " + result.stderr.strip())
    os.replace(partial, output)
    return output.stat().st_size


def backup(output: Path) -> int:
    """Back up the application's database to ``output``."""
    url = db.engine.url
    output.parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "sqlite":
        return backup_sqlite(url.database or "", output)
    if url.get_backend_name() == "postgresql":
        return backup_postgresql(url, output)
    raise BackupError(f"Backups of {url.get_backend_name()} databases are not supported.")


def backup_files(target: Path) -> tuple[int, int]:
    """Copy into ``target`` the stored uploads it lacks; (copied, total)."""
    target.mkdir(parents=True, exist_ok=True)
    copied = total = 0
    for name, _modified, size in storage.listing():
        total += 1
        path = target / name
        if path.exists() and path.stat().st_size == size:
            continue
        partial = path.with_name(name + ".partial")
        with open(partial, "wb") as out:
            for chunk in storage.chunks(name):
                out.write(chunk)
        os.replace(partial, path)
        copied += 1
    return copied, total


@click.command("backup")
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (SQLite copy, or pg_dump custom format for PostgreSQL).",
)
@click.option(
    "--files",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the stored uploads (default: FILE.files beside the database's copy).",
)
@click.option("--no-files", is_flag=True, help="The database only (the store is backed up apart).")
@with_appcontext
def backup_command(output: Path, files: Path | None, no_files: bool) -> None:
    """Write a consistent backup of the database to a file, and the stored uploads to a folder
    beside it, while the site keeps running."""
    size = backup(output)
    click.echo(f"Backup written to {output} ({size:,} bytes).")
    if no_files:
        return
    folder = files or output.with_name(output.name + ".files")
    copied, total = backup_files(folder)
    click.echo(f"Stored files in {folder}: {copied:,} copied, {total:,} in all.")


COMMANDS = [backup_command]
