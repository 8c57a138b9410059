"""The audit trail in words and local time, its codes in a CSV of the same list.

Every action code the code base records (each ``record("…")`` / ``record_now("…")`` call, under
whatever name it is imported) has words, and so has every data key passed with it.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from audit.actions import ACTIONS, KEYS, SHOWN_ELSEWHERE
from audit.models import AuditEvent
from auth.models import User
from core.extensions import db

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".venv", "node_modules", "tests", "migrations", "bench"}
#: Keywords of record() itself, not data.
RECORD_KEYWORDS = {"by", "locality_id"}


def recorded_calls() -> list[tuple[str, int, str, list[str | None]]]:
    """(file, line, action code, data keys) of every literal record/record_now call."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        if SKIP_DIRS & set(path.relative_to(ROOT).parts):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "audit.models"
            for alias in node.names
            if alias.name in ("record", "record_now")
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in names
            ):
                first = node.args[0] if node.args else None
                where = f"{path}:{node.lineno}: record the action code as a literal string"
                assert isinstance(first, ast.Constant), where
                assert isinstance(first.value, str), where
                keys = [k.arg for k in node.keywords if k.arg not in RECORD_KEYWORDS]
                found.append((str(path.relative_to(ROOT)), node.lineno, first.value, keys))
    return found


def test_every_action_recorded_in_the_code_base_has_words():
    calls = recorded_calls()
    codes = {code for _, _, code, _ in calls}
    assert len(codes) >= 30, codes  # the walk found the calls
    assert {"review.create", "opinion.create", "consultation.open", "user.login_locked"} <= codes
    missing = sorted(f"{f}:{line} {code}" for f, line, code, _ in calls if code not in ACTIONS)
    assert not missing, f"audit actions without words in audit/actions.py ACTIONS: {missing}"


def test_every_data_key_recorded_has_a_label():
    missing = sorted(
        f"{f}:{line} {code} {key}"
        for f, line, code, keys in recorded_calls()
        for key in keys
        if key is not None and key not in KEYS and key not in SHOWN_ELSEWHERE
    )
    assert not missing, f"audit data keys without a label in audit/actions.py KEYS: {missing}"


def test_every_word_of_the_trail_is_in_the_vietnamese_catalogue(app):
    from babel.messages.pofile import read_po

    with (ROOT / "translations" / "vi" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    untranslated = [
        str(label._args[0])
        for label in [*ACTIONS.values(), *KEYS.values()]
        if not (catalog.get(label._args[0]) and catalog.get(label._args[0]).string)
    ]
    assert not untranslated, untranslated


# --- the page -------------------------------------------------------------------------------


@pytest.fixture
def vi(app, client, world):
    with app.app_context():
        db.session.execute(sa.update(User).values(locale="vi"))
        db.session.commit()
    client.set_cookie("lang", "vi")


def _review(app, client, auth, make) -> int:
    cid = make.consultation("open", title="Quy định quản lý đất đai phường Ba Đình")
    auth.login("reviewer@example.vn")
    response = client.post(
        f"/consultations/{cid}/reviews", data={"body": "Ủy ban MTTQ phường đồng thuận."}
    )
    assert response.status_code == 302
    return cid


def _event(
    app, action, *, at, locality_id, object_type="consultation", object_id=None, actor=None, **data
):
    with app.app_context():
        db.session.add(
            AuditEvent(
                action=action,
                object_type=object_type,
                object_id=object_id,
                actor_id=actor,
                locality_id=locality_id,
                at=at,
                data=data,
            )
        )
        db.session.commit()


@pytest.mark.postgres
def test_the_trail_speaks_in_words_and_local_time(app, client, auth, world, make, vi):
    cid = _review(app, client, auth, make)
    _event(
        app,
        "consultation.extend",
        at=datetime(2026, 8, 14, 2, 30, tzinfo=UTC),
        locality_id=world.commune_id,
        object_id=cid,
        actor=world.ids["official"],
        old="2026-09-17T17:00:00+00:00",
        new="2026-09-30T17:00:00+00:00",
    )
    html = client.get("/audit/?locality=00004").get_data(as_text=True)
    assert "Mặt trận Tổ quốc gửi ý kiến phản biện" in html
    assert "Tạo đợt lấy ý kiến" in html
    assert "Mở lấy ý kiến" in html
    # The object is a link with its title, not "consultation #3".
    assert f'<a href="/consultations/{cid}">Quy định quản lý đất đai phường Ba Đình</a>' in html
    assert f'href="/consultations/{cid}/reviews"' in html
    assert "consultation #" not in html
    assert "review #" not in html
    # Local time, the commune's way: 02:30 UTC is 09:30 in Asia/Ho_Chi_Minh.
    assert "09:30 ngày 14/8/2026" in html
    # What changed, in words: the closing days, not ISO stamps.
    assert "Hạn cuối cũ" in html
    assert "đến hết ngày 17/9/2026" in html
    assert "đến hết ngày 30/9/2026" in html
    text = re.sub(r"<[^>]+>", " ", html)  # attributes (datetime=, data-action=) hold the codes
    for code in (
        "review.create",
        "consultation.extend",
        "consultation_id",
        "+00:00",
        "2026-09-17T",
    ):
        assert code not in text, code
    # Readable at 360 px: the table stacks, each cell labelled, no sideways scrolling box.
    assert '<table class="stack audit-trail">' in html
    assert 'data-label="Thời gian"' in html
    assert "table-scroll" not in html


def test_an_opinion_is_named_by_its_tracking_number(app, client, auth, world, make, vi):
    cid = make.consultation("open")
    oid = make.opinion(cid)
    with app.app_context():
        number = db.session.scalar(
            sa.text("SELECT tracking_number FROM opinion WHERE id = :i"), {"i": oid}
        )
    auth.login("reviewer@example.vn")
    html = client.get("/audit/").get_data(as_text=True)
    assert f'<a href="/consultations/{cid}#opinion-{oid}">Ý kiến {number}</a>' in html
    assert "Tiếp nhận ý kiến" in html
    assert "Trực tuyến" in html  # the channel in words


def test_an_unknown_code_still_reads_as_words(app, client, auth, world, vi):
    _event(
        app, "system.tick", at=datetime(2026, 1, 2, 0, 5, tzinfo=UTC), locality_id=world.commune_id
    )
    auth.login("reviewer@example.vn")
    html = client.get("/audit/").get_data(as_text=True)
    assert "Thao tác khác (system.tick)" in html
    assert "07:05 ngày 2/1/2026" in html


# --- the CSV --------------------------------------------------------------------------------


def _csv(response) -> list[dict[str, str]]:
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(body[1:])))


@pytest.mark.postgres
def test_the_csv_keeps_the_codes_of_the_same_list(app, client, auth, world, make):
    cid = _review(app, client, auth, make)
    _event(
        app,
        "opinion.hide",
        at=datetime(2026, 8, 14, 2, 30, tzinfo=UTC),
        locality_id=world.village_ids[0],
        object_type="opinion",
        object_id=7,
        actor=world.ids["moderator"],
        reason="Lộ thông tin của resident@example.vn",
        email="resident@example.vn",
        tracking_number="YK-2026-000007",
    )
    _event(
        app,
        "user.verify",
        at=datetime(2026, 8, 14, 3, 0, tzinfo=UTC),
        locality_id=world.other_commune_id,
    )
    _event(
        app,
        "opinion.flag",
        at=datetime(2026, 8, 14, 4, 0, tzinfo=UTC),
        locality_id=world.commune_id,
        object_type="opinion",
        object_id=8,
        reason='=HYPERLINK("http://x")',
    )

    page = client.get("/audit/?locality=00004").get_data(as_text=True)
    page_order = re.findall(r'<tr data-action="([\w.]+)">', page)
    response = client.get("/audit/export.csv?locality=00004")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    # An ASCII name for old browsers, the Vietnamese one (RFC 5987) for the rest.
    assert disposition.startswith('attachment; filename="nhat-ky-thao-tac-')
    assert '-00004.csv"; ' in disposition
    assert "filename*=UTF-8''Nh%E1%BA%ADt%20k%C3%BD%20thao%20t%C3%A1c%20%E2%80%93%20" in disposition
    assert response.headers["Cache-Control"] == "private, no-store"
    rows = _csv(response)
    assert [r["action"] for r in rows] == page_order  # the same list, in the same order
    assert "user.verify" not in page_order  # another commune's event is in neither
    review = next(r for r in rows if r["action"] == "review.create")
    assert review["object_type"] == "review"
    assert review["locality_code"] == "00004"
    assert json.loads(review["data"])["consultation_id"] == cid
    assert review["actor"] == "Người dân reviewer"
    hide = next(r for r in rows if r["action"] == "opinion.hide")
    assert hide["at"] == "2026-08-14T02:30:00+00:00"  # the codes: UTC ISO 8601
    assert hide["locality_code"] == "00004-T1"
    assert json.loads(hide["data"])["tracking_number"] == "YK-2026-000007"
    assert "@example.vn" not in response.get_data(as_text=True)
    flag = next(r for r in rows if r["action"] == "opinion.flag")
    assert flag["data"].startswith("{")  # JSON starts with a brace, never a formula
    assert "Nguyễn Văn" not in response.get_data(as_text=True)


def test_the_csv_follows_the_locality_filter_and_its_permission(app, client, auth, world):
    _event(
        app,
        "consultation.open",
        at=datetime(2026, 8, 14, 3, 0, tzinfo=UTC),
        locality_id=world.other_commune_id,
    )
    _event(
        app,
        "consultation.close",
        at=datetime(2026, 8, 15, 3, 0, tzinfo=UTC),
        locality_id=world.commune_id,
    )
    auth.login("admin@example.vn")
    assert [r["action"] for r in _csv(client.get("/audit/export.csv?locality=00008"))] == [
        "consultation.open"
    ]
    assert [r["action"] for r in _csv(client.get("/audit/export.csv"))] == [
        "consultation.close",
        "consultation.open",
    ]
    auth.logout()
    auth.login("reviewer@example.vn")
    assert client.get("/audit/export.csv?locality=00008").status_code == 403
    assert client.get("/audit/export.csv?locality=99999").status_code == 404
    auth.logout()
    auth.login("moderator@example.vn")
    assert client.get("/audit/export.csv").status_code == 403


def test_the_page_links_to_the_csv_of_its_list(app, client, auth, world):
    _event(
        app,
        "consultation.close",
        at=datetime(2026, 8, 15, 3, 0, tzinfo=UTC),
        locality_id=world.commune_id,
    )
    auth.login("admin@example.vn")
    html = client.get("/audit/?locality=00004").get_data(as_text=True)
    assert 'href="/audit/export.csv?locality=00004"' in html
