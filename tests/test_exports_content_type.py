"""One Content-Type charset, never two: every download of the site, walked.

werkzeug adds "; charset=utf-8" to a text type given as ``mimetype``, so a type that already
carries one went out as "text/csv; charset=utf-8; charset=utf-8" (the CSV export did). Text
downloads (CSV, JSON) carry exactly one charset, binary ones (XLSX, DOCX, PDF, uploads) none.
A download route this test does not know fails it: add the new route to ``downloads``.
"""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from consultations.models import Attachment, Review
from core.extensions import db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TEXT_TYPES = {"text/csv", "application/json"}
BINARY_TYPES = {
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
#: Routes that send a file although their URL has no extension.
EXTENSIONLESS_DOWNLOADS = {"attachments.download", "records.review_attachment", "me.data"}


def downloads(app, client, auth, make) -> tuple[dict[str, list[str]], int]:
    """endpoint -> the URLs that exercise it, every format; and the consultation's id."""
    cid = make.consultation("open")
    make.opinion(cid, body="Đồng ý, đề nghị mở rộng ngõ lên 4 mét.", section_position=1)
    auth.login("official@example.vn")
    assert (
        client.post(
            f"/consultations/{cid}/attachments",
            data={"file": (io.BytesIO(PDF), "Bản đồ.pdf")},
            content_type="multipart/form-data",
        ).status_code
        == 302
    )
    auth.logout()
    auth.login("reviewer@example.vn")
    assert (
        client.post(
            f"/consultations/{cid}/reviews",
            data={
                "body": "Ủy ban MTTQ phường đồng thuận.",
                "attachment": (io.BytesIO(PDF), "Phản biện.pdf"),
            },
            content_type="multipart/form-data",
        ).status_code
        == 302
    )
    with app.app_context():
        aid = db.session.scalar(sa.select(Attachment.id))
        rid = db.session.scalar(sa.select(Review.id))
    return {
        "records.export": [
            f"/consultations/{cid}/export.{f}" for f in ("csv", "xlsx", "json", "docx", "pdf")
        ],
        "records.record_download": [f"/consultations/{cid}/record.{f}" for f in ("docx", "pdf")],
        "notices.notice_pdf": [f"/consultations/{cid}/notice.pdf"],
        "me.data": ["/me/data?format=json", "/me/data?format=csv"],
        "attachments.download": [f"/attachments/{aid}"],
        "records.review_attachment": [f"/reviews/{rid}/attachment"],
        "audit.export_csv": ["/audit/export.csv?locality=00004"],
    }, cid


#: JSON answers read by the page's own script, not files to save: checked below, not as downloads.
NOT_DOWNLOADS = {"localities.search_json"}


def _looks_like_a_download(rule) -> bool:
    return (
        "GET" in rule.methods
        and rule.endpoint not in NOT_DOWNLOADS
        and (
            re.search(r"\.(<any\(|pdf|csv|json|xlsx|docx|zip)", rule.rule) is not None
            or rule.endpoint in EXTENSIONLESS_DOWNLOADS
        )
    )


#: The household vote's files, walked by the officials (below the first test).
VOTE_DOWNLOADS = {"decisions.ballots_pdf", "decisions.results_download", "households.letters_pdf"}


def _check(response, path: str) -> str:
    try:
        assert response.status_code == 200, (path, response.status_code)
        assert response.headers["Content-Disposition"].startswith("attachment"), path
        header = response.headers["Content-Type"]
        response.get_data()  # a streamed body is produced in full
    finally:
        response.close()
    media_type = header.split(";")[0].strip()
    if media_type in TEXT_TYPES:
        assert header == f"{media_type}; charset=utf-8", (path, header)
    else:
        assert media_type in BINARY_TYPES, (path, header)
        assert re.findall(r";\s*charset=", header, flags=re.IGNORECASE) == [], (path, header)
    return header


def test_every_download_has_one_charset_on_text_and_none_on_binary(app, client, auth, make):
    urls, cid = downloads(app, client, auth, make)
    known = {r.endpoint for r in app.url_map.iter_rules() if _looks_like_a_download(r)} - {"static"}
    walked = set(urls) | VOTE_DOWNLOADS
    assert known <= walked, f"downloads this test does not walk: {sorted(known - walked)}"

    # Closed, so the record exists; the reviewer may export and read the record before it is published.
    from consultations.models import Consultation, Status
    from core.timeutil import utcnow

    with app.app_context():
        c = db.session.get(Consultation, cid)
        c.stored_status, c.closes_at = Status.closed, utcnow()
        db.session.commit()

    seen = {}
    for paths in urls.values():
        for path in paths:
            response = client.get(path)
            try:
                assert response.status_code == 200, (path, response.status_code)
                assert response.headers["Content-Disposition"].startswith("attachment"), path
                header = response.headers["Content-Type"]
                response.get_data()  # a streamed body is produced in full
            finally:
                response.close()
            seen[path] = header
            media_type = header.split(";")[0].strip()
            charsets = re.findall(r";\s*charset=", header, flags=re.IGNORECASE)
            if media_type in TEXT_TYPES:
                assert header == f"{media_type}; charset=utf-8", (path, header)
            else:
                assert media_type in BINARY_TYPES, (path, header)
                assert charsets == [], (path, header)
    print("\n" + "\n".join(f"{path:45} {header}" for path, header in seen.items()))
    assert len(seen) == 13
    search = client.get("/localities/search.json?q=ba")
    assert search.headers["Content-Type"] == "application/json"  # UTF-8 by definition (RFC 8259)


def test_the_household_vote_downloads_carry_no_charset(app, client, auth, world, make):
    from households.models import Household

    cid = make.consultation("closed", kind="decide")
    with app.app_context():
        db.session.add(Household(locality_id=world.village_ids[0], code="H001"))
        db.session.commit()
    auth.login("official@example.vn")
    paths = [f"/consultations/{cid}/ballots.pdf"]
    paths += [f"/consultations/{cid}/results.{fmt}" for fmt in ("docx", "pdf")]
    for path in paths:
        _check(client.get(path), path)
    # The letters are made by a job (run at once in the tests), then fetched once by who asked.
    progress = client.post("/households/letters", data={"village": "00004-T1"})
    assert progress.status_code == 303
    page = client.get(progress.headers["Location"]).get_data(as_text=True)
    letters = re.search(r'href="(/households/letters/[^"]+\.pdf)"', page)[1]
    assert _check(client.get(letters), letters) == "application/pdf"


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_the_export_command_and_the_download_are_the_same_bytes(
    app, client, auth, make, runner, tmp_path, fmt
):
    """The Content-Type fix changed headers only: the CSV and JSON stay the documented data."""
    cid = make.consultation("open")
    make.opinion(cid, body="Đề nghị giữ nguyên hiện trạng.", stance="disagree")
    auth.login("moderator@example.vn")
    response = client.get(f"/consultations/{cid}/export.{fmt}")
    out = tmp_path / f"out.{fmt}"
    assert (
        runner.invoke(args=["export", str(cid), "--format", fmt, "--output", str(out)]).exit_code
        == 0
    )
    assert response.get_data() == out.read_bytes()
    assert (b'"disagree"' if fmt == "csv" else b'"stance": "disagree"') in out.read_bytes()
