"""Uploaded files: checked by their content, never by the name or type the browser claims,
stored under a random name in the store ``STORAGE_URL`` names (:mod:`infra.stores`: a folder,
``UPLOAD_DIR``, by default; S3 in production).

    stored = storage.save(request.files["file"], allowed={"pdf"})   # raises UploadError
    Attachment(filename=stored.filename, content_type=stored.content_type, size=stored.size,
               stored_name=stored.stored_name, sha256=stored.sha256)
    ...
    return storage.send(a.stored_name, filename=a.filename, content_type=a.content_type)

Attachments and the formal reviews' signed PDFs both go through here: one content check, one
atomic write, one hash, one way to send them back (``core.web.download``).
Files the site makes itself (the exports made by a job) are written here too, with
:func:`write_generated`, in a subfolder (``folder="exports"``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import secrets
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from flask import current_app
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from core.textutil import clean_text
from core.web import download, refuse
from infra.stores import store

#: kind -> (content type, extensions accepted in the sender's file name)
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pdf": ("application/pdf", ("pdf",)),
    "png": ("image/png", ("png",)),
    "jpeg": ("image/jpeg", ("jpg", "jpeg")),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ("docx",)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ("xlsx",)),
}
DOCUMENTS = frozenset({"pdf", "docx", "xlsx"})
IMAGES = frozenset({"png", "jpeg"})

#: Office files are zip archives; refuse archives that would unpack to more than this
#: (a "zip bomb" sent to whoever converts or indexes the file later).
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_ZIP_ENTRIES = 5000

_STORED_NAME = re.compile(r"[0-9a-f]{32}\.[a-z]{3,4}")
#: Folders of the store for generated files (``exports``).
_FOLDER = re.compile(r"[a-z]{1,32}")


class UploadError(ValueError):
    """The file is refused; ``message`` is translated and meant for the person who sent it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class StoredFile:
    #: Random name in the store, e.g. "3f2a…9c.pdf"; never derived from user input.
    stored_name: str
    #: The sender's file name, cleaned, for display and downloads.
    filename: str
    #: From the content, not from the browser.
    content_type: str
    kind: str
    size: int
    sha256: str


def detect(data: bytes) -> str | None:
    """The kind of file ``data`` is, by its first bytes (and, for zip, its table of contents)."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"PK\x03\x04"):
        return _office_kind(data)
    return None


def _office_kind(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    names = {info.filename for info in infos}
    if len(infos) > MAX_ZIP_ENTRIES or sum(info.file_size for info in infos) > MAX_UNPACKED_BYTES:
        return None
    if "[Content_Types].xml" not in names:
        return None
    # Macro-enabled documents (.docm/.xlsm renamed) carry a VBA project: refused.
    if any(name.endswith("vbaProject.bin") for name in names):
        return None
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    return None


def clean_filename(name: str | None, kind: str) -> str:
    """The sender's file name without folders or control characters, at most 200 characters."""
    base = (
        clean_text((name or "").replace("\\", "/").rsplit("/", 1)[-1])
        .replace("\n", " ")
        .strip(" .")
    )
    if not base:
        base = "file." + KINDS[kind][1][0]
    return base[-200:]


def _read_limited(file: FileStorage, max_bytes: int) -> bytes:
    data = file.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UploadError(_("The file is too large: at most %(mb)s MB.", mb=_megabytes(max_bytes)))
    return data


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):g}"


def check(
    file: FileStorage | None,
    *,
    allowed: Iterable[str] = DOCUMENTS | IMAGES,
    max_bytes: int | None = None,
) -> tuple[bytes, str]:
    """Read and check an upload; returns its bytes and kind, or raises :class:`UploadError`."""
    allowed = set(allowed)
    if file is None or not file.filename:
        raise UploadError(_("Choose a file to upload."))
    limit = int(max_bytes or current_app.config["UPLOAD_MAX_BYTES"])
    data = _read_limited(file, limit)
    if not data:
        raise UploadError(_("The file is empty."))
    kind = detect(data)
    names = ", ".join(ext.upper() for k in sorted(allowed) for ext in KINDS[k][1][:1])
    if kind is None or kind not in allowed:
        if len(allowed) == 1:
            raise UploadError(_("Only %(types)s files can be attached.", types=names))
        raise UploadError(_("This type of file is not accepted. Accepted: %(types)s.", types=names))
    base = clean_filename(file.filename, kind)
    extension = base.rsplit(".", 1)[-1].lower() if "." in base else ""
    if extension and extension not in KINDS[kind][1]:
        raise UploadError(
            _(
                "The file's content does not match its name (.%(ext)s). Check that you chose the right file.",
                ext=extension[:10],
            )
        )
    return data, kind


def save(
    file: FileStorage | None,
    *,
    allowed: Iterable[str] = DOCUMENTS | IMAGES,
    max_bytes: int | None = None,
) -> StoredFile:
    """Check an upload and store it under a random name; raises :class:`UploadError`.
    The caller records the returned metadata and commits; on a later failure call
    :func:`delete` so no orphan file stays behind."""
    data, kind = check(file, allowed=allowed, max_bytes=max_bytes)
    stored_name = f"{secrets.token_hex(16)}.{KINDS[kind][1][0]}"
    store().put(stored_name, data)
    return StoredFile(
        stored_name=stored_name,
        filename=clean_filename(file.filename if file else None, kind),
        content_type=KINDS[kind][0],
        kind=kind,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def key_for(stored_name: str, *, folder: str | None = None) -> str:
    """The store's key of a stored upload (or, in ``folder``, of a generated file); refuses
    anything but a name :func:`save` or :func:`write_generated` made."""
    if not _STORED_NAME.fullmatch(stored_name or ""):
        raise FileNotFoundError(stored_name)
    if folder is None:
        return stored_name
    if not _FOLDER.fullmatch(folder):
        raise FileNotFoundError(folder)
    return f"{folder}/{stored_name}"


def path_for(stored_name: str, *, folder: str | None = None) -> Path:
    """The file of a stored name in a folder store (the tests look at the disk this way)."""
    key = key_for(stored_name, folder=folder)
    path = store().local_path(key)
    if path is None:
        raise FileNotFoundError(key)
    return path


def exists(stored_name: str, *, folder: str | None = None) -> bool:
    try:
        return store().size(key_for(stored_name, folder=folder)) is not None
    except FileNotFoundError:
        return False


def read(stored_name: str, *, folder: str | None = None) -> bytes:
    """The whole stored file (small ones: a review's PDF, a state); FileNotFoundError."""
    return store().get(key_for(stored_name, folder=folder))


def put(stored_name: str, data: bytes, *, folder: str) -> None:
    """Store ``data`` under a name the caller made (a job's small state file)."""
    store().put(key_for(stored_name, folder=folder), data)


def chunks(stored_name: str, *, folder: str | None = None) -> Iterator[bytes]:
    """The stored file read as it is sent, never whole in memory."""
    return store().chunks(key_for(stored_name, folder=folder))


def listing(folder: str | None = None) -> Iterator[tuple[str, datetime, int]]:
    """(stored name, last modified, size) of the files in ``folder`` (None: the uploads)."""
    if folder is not None:
        key_for("0" * 32 + ".pdf", folder=folder)  # checks the folder's name
    for key, modified, size in store().listing(folder or ""):
        name = key.rsplit("/", 1)[-1]
        if _STORED_NAME.fullmatch(name):
            yield name, modified, size


def write_generated(
    folder: str, extension: str, write: Callable[[IO[bytes]], None]
) -> tuple[str, int]:
    """Store a file the site makes itself (an export) under a random name in ``folder``:
    ``write`` is handed an open file and writes it as it goes (never whole in memory); the
    file appears under its name only once complete. Returns (stored name, size)."""
    stored_name = f"{secrets.token_hex(16)}.{extension}"
    with store().writer(key_for(stored_name, folder=folder)) as out:
        write(out)
        size = out.seek(0, io.SEEK_END)
    return stored_name, size


def delete(stored_name: str, *, folder: str | None = None) -> None:
    with contextlib.suppress(FileNotFoundError):
        store().delete(key_for(stored_name, folder=folder))


def send(
    stored_name: str,
    *,
    filename: str,
    content_type: str,
    inline: bool = False,
    folder: str | None = None,
):
    """A response with the stored file, as a download unless ``inline`` (PDF and images).
    From a folder store with ranges and validators; from S3 streamed through this server, so
    the permission checks of the view stay the only way in."""
    try:
        key = key_for(stored_name, folder=folder)
    except FileNotFoundError:
        refuse(404)
    where = store()
    path = where.local_path(key)
    if path is not None:
        if not path.exists():
            refuse(404)
        body: Path | Iterator[bytes] = path
        size = None
    else:
        size = where.size(key)
        if size is None:
            refuse(404)
        body = where.chunks(key)
    response = download(
        body, filename=filename or stored_name, content_type=content_type, inline=inline
    )
    if size is not None:
        response.headers["Content-Length"] = str(size)
    # Never let a browser run an uploaded file as a page of this site.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
