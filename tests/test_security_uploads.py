"""The shared upload validator: type by content, size limit, random stored names."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage

from infra import storage

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def office(kind: str, extra: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        if kind == "docx":
            z.writestr("word/document.xml", "<w:document/>")
        elif kind == "xlsx":
            z.writestr("xl/workbook.xml", "<workbook/>")
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return buf.getvalue()


def real_docx() -> bytes:
    import docx

    d = docx.Document()
    d.add_paragraph("Báo cáo phản biện")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def real_xlsx() -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active["A1"] = "Ý kiến"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def upload(data: bytes, name: str) -> FileStorage:
    return FileStorage(
        stream=io.BytesIO(data), filename=name, content_type="application/octet-stream"
    )


@pytest.mark.parametrize(
    ("data", "name", "kind", "content_type"),
    [
        (PDF, "phan-bien.pdf", "pdf", "application/pdf"),
        (PNG, "anh.png", "png", "image/png"),
        (JPEG, "anh.JPG", "jpeg", "image/jpeg"),
        (JPEG, "anh.jpeg", "jpeg", "image/jpeg"),
        (office("docx"), "du-thao.docx", "docx", storage.KINDS["docx"][0]),
        (office("xlsx"), "bang.xlsx", "xlsx", storage.KINDS["xlsx"][0]),
        (PDF, "no-extension", "pdf", "application/pdf"),
    ],
)
def test_accepted_files_are_stored_under_a_random_name(app, data, name, kind, content_type):
    with app.test_request_context():
        stored = storage.save(upload(data, name))
        path = storage.path_for(stored.stored_name)
        assert path.read_bytes() == data
        assert path.parent == Path(app.config["UPLOAD_DIR"])
        assert name.split(".")[0] not in stored.stored_name
        assert stored.kind == kind
        assert stored.content_type == content_type
        assert stored.size == len(data)
        assert stored.sha256 == hashlib.sha256(data).hexdigest()
        assert stored.filename == name
        assert not list(path.parent.glob("*.partial"))


def test_real_office_files_are_recognised(app):
    with app.test_request_context():
        assert storage.save(upload(real_docx(), "a.docx")).kind == "docx"
        assert storage.save(upload(real_xlsx(), "a.xlsx")).kind == "xlsx"


def test_two_uploads_of_the_same_name_do_not_collide(app):
    with app.test_request_context():
        a = storage.save(upload(PDF, "x.pdf"))
        b = storage.save(upload(PDF + b"2", "x.pdf"))
        assert a.stored_name != b.stored_name
        assert storage.path_for(a.stored_name).read_bytes() == PDF


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (
            b"MZ\x90\x00" + b"\x00" * 100,
            "report.pdf",
            "not accepted",
        ),  # a Windows program named .pdf
        (b"<html><script>alert(1)</script></html>", "report.pdf", "not accepted"),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
            "image.png",
            "not accepted",
        ),
        (b"just text", "notes.txt", "not accepted"),
        (b"", "empty.pdf", "empty"),
        (PDF, "report.html", "does not match its name"),
        (PNG, "report.pdf", "does not match its name"),
        (b"PK\x03\x04garbage", "broken.docx", "not accepted"),
        (office("none"), "plain.docx", "not accepted"),  # a zip that is no Word document
        (office("docx", {"word/vbaProject.bin": b"macro"}), "macro.docx", "not accepted"),
        (office("xlsx", {"xl/vbaProject.bin": b"macro"}), "macro.xlsx", "not accepted"),
    ],
)
def test_refused_files_leave_nothing_behind(app, data, name, message):
    app.config["BABEL_DEFAULT_LOCALE"] = "en"
    with app.test_request_context():
        with pytest.raises(storage.UploadError, match=message):
            storage.save(upload(data, name))
        folder = Path(app.config["UPLOAD_DIR"])
        assert not folder.exists() or not any(folder.iterdir())


def test_size_limit_from_config(app):
    app.config["BABEL_DEFAULT_LOCALE"] = "en"
    app.config["UPLOAD_MAX_BYTES"] = 1024
    with app.test_request_context():
        with pytest.raises(storage.UploadError, match="too large"):
            storage.save(upload(PDF + b"0" * 2000, "big.pdf"))
        assert storage.save(upload(PDF + b"0" * 900, "ok.pdf")).size == len(PDF) + 900
        with pytest.raises(storage.UploadError, match="too large"):
            storage.save(upload(PDF + b"0" * 500, "big.pdf"), max_bytes=100)


def test_zip_bomb_is_refused(app):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"\x00" * (storage.MAX_UNPACKED_BYTES + 1))
    with app.test_request_context(), pytest.raises(storage.UploadError):
        storage.save(upload(buf.getvalue(), "bomb.docx"))


def test_allowed_kinds(app):
    with app.test_request_context():
        with pytest.raises(storage.UploadError):
            storage.save(upload(PNG, "a.png"), allowed={"pdf"})
        assert storage.save(upload(PDF, "a.pdf"), allowed={"pdf"}).kind == "pdf"
        with pytest.raises(storage.UploadError):
            storage.save(None)
        with pytest.raises(storage.UploadError):
            storage.save(upload(PDF, ""))


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "C:\\Users\\a\\..\\phản biện.pdf", "a/b/c.pdf", "\x00evil.pdf"]
)
def test_sender_file_names_are_cleaned(app, name):
    with app.test_request_context():
        stored = storage.save(upload(PDF, name))
        assert "/" not in stored.filename
        assert "\\" not in stored.filename
        assert "\x00" not in stored.filename
        assert ".." not in stored.filename or stored.filename.endswith(".pdf")


@pytest.mark.parametrize(
    "name", ["../gopy.sqlite", "/etc/passwd", "abc.pdf", "", "0" * 32 + ".pdf/../x"]
)
def test_path_for_only_accepts_generated_names(app, name):
    with app.test_request_context(), pytest.raises(FileNotFoundError):
        storage.path_for(name)


def test_send_is_a_sandboxed_download(app):
    with app.test_request_context():
        stored = storage.save(upload(PDF, "Phản biện.pdf"))
        response = storage.send(
            stored.stored_name, filename=stored.filename, content_type=stored.content_type
        )
        response.direct_passthrough = False
        assert response.mimetype == "application/pdf"
        assert "attachment" in response.headers["Content-Disposition"]
        assert "phan-bien.pdf" in response.headers["Content-Disposition"]
        assert "sandbox" in response.headers["Content-Security-Policy"]
        assert response.get_data() == PDF
        response.close()
        from werkzeug.exceptions import NotFound

        with pytest.raises(NotFound):
            storage.send("0" * 32 + ".pdf", filename="x.pdf", content_type="application/pdf")
        with pytest.raises(NotFound):
            storage.send("../x", filename="x.pdf", content_type="application/pdf")
