"""Alike opinions in the record and the exports (issue 16): ``similar_group`` in the CSV, JSON
and XLSX; the record (page, DOCX, PDF) prints one row per group sharing an answer, with its
tracking numbers (the first hundred, then a count), its count and the answer once, a campaign
as "N ý kiến cùng nội dung"; the staff's table keeps one row per opinion and names its group;
the published record still verifies."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from datetime import timedelta

import docx
import openpyxl
import pytest
import sqlalchemy as sa

from alike import grouping
from alike.models import OpinionAlike, OpinionGroup
from consultations import record as rec
from consultations import services
from consultations.models import (
    Channel,
    Consultation,
    Opinion,
    OpinionStatus,
    Record,
    Response,
    Stance,
    Status,
)
from consultations.record_groups import NUMBERS_SHOWN
from core.extensions import db
from core.timeutil import utcnow

WIDEN = "Đề nghị mở rộng đường liên thôn đoạn qua tổ dân phố số 1 lên 6 mét để xe cứu hỏa vào được."
WIDEN_AGAIN = (
    "Kính gửi UBND phường, tôi xin góp ý: đề nghị mở rộng đường liên thôn đoạn qua tổ dân phố "
    "số 1 lên 6 mét để xe cứu hỏa vào được. Trân trọng cảm ơn!"
)
WIDEN_FOLDED = (
    "de nghi mo rong duong lien thon doan qua to dan pho so 1 len 6 met de xe cuu hoa vao duoc"
)
NARROW = (
    "Đề nghị mở rộng đường liên thôn đoạn qua tổ dân phố số 1 lên 4 mét để xe cứu hỏa vào được."
)
FORM_LETTER = "Chúng tôi phản đối việc thu phí đỗ xe trước cổng chợ phường vào ngày thường."


def _answer(ids, outcome="accepted", explanation="Ủy ban tiếp thu.", summary=None) -> int:
    response = Response(
        consultation_id=db.session.get(Opinion, ids[0]).consultation_id,
        outcome=outcome,
        explanation=explanation,
        summary=summary,
    )
    db.session.add(response)
    db.session.flush()
    for oid in ids:
        db.session.get(Opinion, oid).response_id = response.id
    return response.id


def _close(cid) -> None:
    c = db.session.get(Consultation, cid)
    c.stored_status, c.closes_at = Status.closed, utcnow() - timedelta(seconds=1)


def _publish(client, auth, cid) -> None:
    auth.login("moderator@example.vn")
    response = client.post(
        f"/consultations/{cid}/record/publish",
        data={
            "conclusion": "Thống nhất.",
            "signer_name": "Nguyễn Văn An",
            "signer_title": "Chủ tịch",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    auth.logout()


@pytest.fixture
def alike_consultation(app, make):
    """Three rewordings of one demand answered together, its near miss (4 m, not 6 m) and an
    opinion on article 2; the groups computed by the grouping itself."""
    cid = make.consultation("open")
    ids = {
        "widen": make.opinion(cid, body=WIDEN, stance="suggest"),
        "again": make.opinion(cid, who="reviewer", body=WIDEN_AGAIN, stance="suggest"),
        "folded": make.opinion(cid, who="official", body=WIDEN_FOLDED, stance="suggest"),
        "narrow": make.opinion(cid, who="admin", body=NARROW, stance="suggest"),
        "article": make.opinion(cid, body="Đồng ý với điều 2.", section_position=2),
    }
    with app.app_context():
        grouping.recompute(cid)
        _answer([ids["widen"], ids["again"], ids["folded"]], explanation="Mở rộng lên 6 mét.")
        _answer([ids["narrow"]], explanation="Giữ 4 mét.")
        _answer([ids["article"]], outcome="noted", explanation="Ghi nhận.")
        _close(cid)
        db.session.commit()
        numbers = {k: db.session.get(Opinion, v).tracking_number for k, v in ids.items()}
        group = db.session.get(OpinionAlike, ids["widen"]).group_id
    return cid, ids, numbers, group


def _page(app, cid) -> str:
    """The record page as a visitor reads it (Vietnamese), as plain text."""
    app.config["BABEL_DEFAULT_LOCALE"] = "vi"  # the product's default; the suite reads English
    page = app.test_client().get(f"/consultations/{cid}/record").get_data(as_text=True)
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def _opinion_table(document):
    return next(t for t in document.tables if t.rows[0].cells[0].text == "STT")


def _rows(table) -> list[list[str]]:
    return [[c.text for c in r.cells] for r in table.rows[1:] if len(r._tr.tc_lst) > 1]


@pytest.mark.postgres
def test_exports_give_each_member_its_group(app, client, auth, alike_consultation):
    cid, _ids, numbers, group = alike_consultation
    assert group is not None
    auth.login("reviewer@example.vn")
    text = client.get(f"/consultations/{cid}/export.csv").get_data(as_text=True)
    by_number = {
        r["tracking_number"]: r for r in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    }
    for k in ("widen", "again", "folded"):
        assert by_number[numbers[k]]["similar_group"] == str(group)
    assert by_number[numbers["narrow"]]["similar_group"] == ""  # another width: never alike
    assert by_number[numbers["article"]]["similar_group"] == ""

    items = {
        i["tracking_number"]: i for i in client.get(f"/consultations/{cid}/export.json").get_json()
    }
    assert [items[numbers[k]]["similar_group"] for k in ("widen", "again", "folded")] == [group] * 3
    assert items[numbers["narrow"]]["similar_group"] is None

    ws = openpyxl.load_workbook(
        io.BytesIO(client.get(f"/consultations/{cid}/export.xlsx").get_data())
    ).active
    header = [c.value for c in ws[1]]
    assert header[-1] == "Group of alike opinions"  # the reviewer reads English
    cells = {r[0]: r[-1] for r in ws.iter_rows(min_row=2, values_only=True)}
    assert cells[numbers["again"]] == group
    assert cells[numbers["article"]] is None


@pytest.mark.postgres
def test_the_record_prints_a_group_once_with_its_numbers_and_answer(
    app, client, auth, alike_consultation, tmp_path
):
    cid, _ids, numbers, _group = alike_consultation
    _publish(client, auth, cid)
    document = docx.Document(io.BytesIO(client.get(f"/consultations/{cid}/record.docx").get_data()))
    rows = _rows(_opinion_table(document))
    assert len(rows) == 3  # the group, its near miss, article 2's opinion
    stt, tracking, content, stance, answer = rows[0]
    assert stt == "1"
    assert tracking == "\n".join(numbers[k] for k in ("widen", "again", "folded"))
    assert content == f"3 ý kiến có nội dung tương tự:\n{WIDEN}"  # the representative's text
    assert stance == "Góp ý, đề xuất"
    assert answer.count("Mở rộng lên 6 mét.") == 1
    assert rows[1][1] == numbers["narrow"]
    assert rows[1][2] == NARROW
    # The figures still count every opinion.
    figures = next(t for t in document.tables if t.rows[0].cells[0].text == "Nội dung")
    counts = {r.cells[0].text: r.cells[1].text for r in figures.rows[1:]}
    assert counts["Tổng số ý kiến nhận được"] == "5"

    path = tmp_path / "record.pdf"
    path.write_bytes(client.get(f"/consultations/{cid}/record.pdf").get_data())
    flat = " ".join(
        subprocess.run(
            ["pdftotext", "-enc", "UTF-8", str(path), "-"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.split()
    )
    assert "3 ý kiến có nội dung" in flat  # the columns interleave in the extracted text
    assert flat.count("Tiếp thu. Mở rộng lên") == 1

    plain = _page(app, cid)
    assert "3 ý kiến có nội dung tương tự" in plain
    assert " , ".join(numbers[k] for k in ("widen", "again", "folded")) in plain  # one a span
    assert plain.count("Mở rộng lên 6 mét.") == 1

    with app.app_context():  # the hash of the published record is not touched by the grouping
        record = db.session.scalar(sa.select(Record).where(Record.consultation_id == cid))
        assert rec.verify_record(record).ok


def test_the_staff_table_keeps_one_row_per_opinion_and_names_its_group(
    client, auth, alike_consultation
):
    cid, _ids, numbers, group = alike_consultation
    auth.login("reviewer@example.vn")
    document = docx.Document(io.BytesIO(client.get(f"/consultations/{cid}/export.docx").get_data()))
    rows = {r[1]: r for r in _rows(_opinion_table(document))}
    assert len(rows) == 5
    assert rows[numbers["again"]][3] == f"{WIDEN_AGAIN}\n[Nhóm ý kiến cùng nội dung số {group}]"
    assert rows[numbers["narrow"]][3] == NARROW


def test_members_answered_apart_or_hidden_are_printed_apart(app, client, auth, alike_consultation):
    cid, ids, numbers, _group = alike_consultation
    with app.app_context():
        _answer([ids["folded"]], outcome="noted", explanation="Trả lời riêng.")
        op = db.session.get(Opinion, ids["again"])
        op.status, op.hidden_reason = OpinionStatus.hidden, "Lời lẽ không phù hợp."
        db.session.commit()
    _publish(client, auth, cid)
    document = docx.Document(io.BytesIO(client.get(f"/consultations/{cid}/record.docx").get_data()))
    rows = _rows(_opinion_table(document))
    by_number = {r[1]: r for r in rows}
    assert len(rows) == 5  # nothing left to print together
    assert by_number[numbers["widen"]][2] == WIDEN
    assert "Trả lời riêng." in by_number[numbers["folded"]][4]
    assert by_number[numbers["again"]][2].startswith("Ý kiến đã bị cán bộ quản lý ý kiến ẩn")


@pytest.mark.postgres
def test_a_campaign_reads_honestly_and_every_opinion_stays_counted(app, client, auth, make, world):
    cid = make.consultation("open")
    n = NUMBERS_SHOWN + 27
    with app.test_request_context():
        c = db.session.get(Consultation, cid)
        from auth.models import User

        official = db.session.get(User, world.ids["official"])
        ids = [
            services.post_opinion(
                c,
                by=official,
                body=FORM_LETTER,
                stance=Stance.disagree,
                section=None,
                channel=Channel.paper,
                contributor_name=f"Hộ gia đình số {i}",
            ).id
            for i in range(n)
        ]
        db.session.commit()
        stats = grouping.recompute(cid)
        assert stats["campaigns"] == 1
        _answer(ids, outcome="not_accepted", explanation="Giữ mức phí đỗ xe.")
        _close(cid)
        db.session.commit()
        group = db.session.scalar(
            sa.select(OpinionGroup).where(OpinionGroup.consultation_id == cid)
        )
        assert group.campaign
        assert group.size == n
        first = db.session.get(Opinion, ids[0]).tracking_number
        shown = [db.session.get(Opinion, i).tracking_number for i in ids[:NUMBERS_SHOWN]]
    _publish(client, auth, cid)
    document = docx.Document(io.BytesIO(client.get(f"/consultations/{cid}/record.docx").get_data()))
    rows = _rows(_opinion_table(document))
    assert len(rows) == 1
    _stt, tracking, content, _stance, answer = rows[0]
    assert tracking == "\n".join(shown) + "\nvà 27 ý kiến khác"
    assert tracking.startswith(first)
    assert content == f"{n} ý kiến cùng nội dung:\n{FORM_LETTER}"
    assert answer.count("Giữ mức phí đỗ xe.") == 1
    figures = next(t for t in document.tables if t.rows[0].cells[0].text == "Nội dung")
    counts = {r.cells[0].text: r.cells[1].text for r in figures.rows[1:]}
    assert counts["Tổng số ý kiến nhận được"] == str(n)
    plain = _page(app, cid)
    assert f"{n} ý kiến cùng nội dung" in plain
    assert "và 27 ý kiến khác" in plain


def test_groups_are_frozen_with_the_published_record(app, client, auth, alike_consultation):
    cid, ids, _numbers, group = alike_consultation
    _publish(client, auth, cid)
    auth.login("moderator@example.vn")
    response = client.post(f"/moderation/groups/{group}/opinions/{ids['again']}/remove")
    assert response.status_code == 403
    result = app.test_cli_runner().invoke(args=["opinions", "group", str(cid)])
    assert result.exit_code != 0
    assert "published" in result.output
    with app.app_context():
        assert db.session.get(OpinionAlike, ids["again"]).group_id == group
