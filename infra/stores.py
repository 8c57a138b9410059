"""Where stored files live, chosen by ``STORAGE_URL``: a folder (the default, ``UPLOAD_DIR``
under ``instance/``) or any S3-compatible store (``s3://BUCKET/PREFIX``: MinIO or Ceph on
premises, AWS), through boto3 with the usual ``AWS_*`` variables and ``AWS_ENDPOINT_URL``.

Keys are ``name`` (uploads) or ``folder/name`` (generated files); :mod:`infra.storage` makes
them and checks them, this module only moves bytes. With an S3 store the app servers keep
nothing on their own disk: what one stores, every other serves.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import urlsplit

from flask import current_app

#: Read and sent in pieces of this size: a large export never sits whole in memory.
CHUNK = 256 * 1024


class Store(Protocol):
    url: str

    def put(self, key: str, data: bytes) -> None: ...
    def writer(self, key: str) -> contextlib.AbstractContextManager[IO[bytes]]: ...
    def get(self, key: str) -> bytes: ...
    def chunks(self, key: str) -> Iterator[bytes]: ...
    def size(self, key: str) -> int | None: ...
    def delete(self, key: str) -> None: ...
    def listing(self, prefix: str) -> Iterator[tuple[str, datetime, int]]: ...
    def local_path(self, key: str) -> Path | None: ...


class FolderStore:
    """Files in a folder of this machine: ``make run`` and one-server sites."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.url = self.root.as_uri() if self.root.is_absolute() else str(self.root)

    def _path(self, key: str) -> Path:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def put(self, key: str, data: bytes) -> None:
        with self.writer(key) as out:
            out.write(data)

    @contextlib.contextmanager
    def writer(self, key: str) -> Iterator[IO[bytes]]:
        """A file to write; it appears under ``key`` only once complete (fsync, rename)."""
        target = self._path(key)
        partial = target.with_name(target.name + ".partial")
        try:
            with open(partial, "wb") as out:
                yield out
                out.flush()
                os.fsync(out.fileno())
            os.chmod(partial, 0o640)
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def chunks(self, key: str) -> Iterator[bytes]:
        # Opened at the first chunk, closed at the last: a response never read holds no file.
        with (self.root / key).open("rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk

    def size(self, key: str) -> int | None:
        try:
            return (self.root / key).stat().st_size
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)

    def listing(self, prefix: str) -> Iterator[tuple[str, datetime, int]]:
        """(key, last modified, size) of the files in the folder ``prefix`` ("" the top)."""
        folder = self.root / prefix
        if not folder.is_dir():
            return
        for path in folder.iterdir():
            if path.is_file() and not path.name.endswith(".partial"):
                stat = path.stat()
                key = f"{prefix}/{path.name}" if prefix else path.name
                yield key, datetime.fromtimestamp(stat.st_mtime, UTC), stat.st_size

    def local_path(self, key: str) -> Path | None:
        return self.root / key


class S3Store:
    """Objects in a bucket of an S3-compatible store, under ``prefix``."""

    def __init__(self, bucket: str, prefix: str = "", client: Any = None):
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.url = f"s3://{bucket}/{self.prefix}"
        self.client = client or _client()

    def _key(self, key: str) -> str:
        return self.prefix + key

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    @contextlib.contextmanager
    def writer(self, key: str) -> Iterator[IO[bytes]]:
        """A temporary file to write, sent to the store once complete (in parts when large):
        nobody ever reads a half-written object."""
        with tempfile.TemporaryFile() as out:
            yield out
            out.flush()
            out.seek(0)
            self.client.upload_fileobj(out, self.bucket, self._key(key))

    def get(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except self.client.exceptions.NoSuchKey as exc:
            raise FileNotFoundError(key) from exc

    def chunks(self, key: str) -> Iterator[bytes]:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except self.client.exceptions.NoSuchKey as exc:
            raise FileNotFoundError(key) from exc
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    def size(self, key: str) -> int | None:
        from botocore.exceptions import ClientError  # lazy: only S3 sites load botocore

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        return int(head["ContentLength"])

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def listing(self, prefix: str) -> Iterator[tuple[str, datetime, int]]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._key(prefix + "/" if prefix else ""), Delimiter="/"
        )
        for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"][len(self.prefix) :], item["LastModified"], int(item["Size"])

    def local_path(self, key: str) -> Path | None:
        return None


def _client():
    import boto3  # lazy: a folder store needs no boto3 at all
    from botocore.config import Config

    # boto3 reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION and
    # AWS_ENDPOINT_URL (MinIO, Ceph) itself. Path-style addressing works on every S3 peer.
    config = Config(s3={"addressing_style": "path"}, retries={"mode": "standard"})
    return boto3.client("s3", config=config)


def from_url(url: str | None, folder: str | Path) -> Store:
    """The store ``url`` names: ``s3://BUCKET/PREFIX``, ``file:///path`` or a path; empty is
    the folder ``UPLOAD_DIR``."""
    if not url:
        return FolderStore(folder)
    parts = urlsplit(url)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise RuntimeError(f"STORAGE_URL needs a bucket: s3://BUCKET/PREFIX, not {url!r}")
        return S3Store(parts.netloc, parts.path)
    if parts.scheme == "file":
        return FolderStore(parts.path)
    if parts.scheme == "":
        return FolderStore(url)
    raise RuntimeError(f"STORAGE_URL must be s3://BUCKET/PREFIX or a folder, not {url!r}")


def store() -> Store:
    """The app's store, made on first use (and again if a test changes its settings)."""
    config = current_app.config
    settings = (config.get("STORAGE_URL"), config.get("UPLOAD_DIR"))
    made = current_app.extensions.get("gopy_store")
    if made is None or made[0] != settings:
        made = (settings, from_url(*settings))
        current_app.extensions["gopy_store"] = made
    return made[1]
