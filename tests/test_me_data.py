"""My opinions and the download of my data: everything about me, nothing about anyone else."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from consultations.models import (
    Consultation,
    Flag,
    Opinion,
    OpinionRevision,
    Outcome,
    Response,
    Stance,
    Status,
)
from core.extensions import db
from core.timeutil import utcnow


def _consultation(world, title="Dự thảo quy hoạch chợ"):
    now = utcnow()
    c = Consultation(
        locality_id=world.commune_id,
        title=title,
        stored_status=Status.open,
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=30),
    )
    db.session.add(c)
    db.session.flush()
    return c


def _opinion(c, author_id, n, body, **kw):
    op = Opinion(
        consultation_id=c.id,
        author_id=author_id,
        stance=kw.pop("stance", Stance.agree),
        body=body,
        tracking_number=f"YK-2026-{n:06d}",
        **kw,
    )
    db.session.add(op)
    db.session.flush()
    return op


def _populate(app, world):
    with app.app_context():
        c = _consultation(world)
        mine = _opinion(c, world.ids["resident"], 1, "Nên mở rộng bãi đỗ xe", stance=Stance.suggest)
        theirs = _opinion(c, world.ids["official"], 2, "Ý kiến của người khác")
        response = Response(
            consultation_id=c.id,
            outcome=Outcome.partly_accepted,
            explanation="Sẽ bổ sung 20 chỗ đỗ xe",
            author_id=world.ids["moderator"],
        )
        db.session.add(response)
        db.session.flush()
        mine.response_id = response.id
        db.session.add(
            OpinionRevision(
                opinion_id=mine.id,
                body="Bản cũ của tôi",
                stance=Stance.agree,
                replaced_by_id=world.ids["resident"],
            )
        )
        db.session.add(
            OpinionRevision(opinion_id=theirs.id, body="Bản cũ của người khác", stance=Stance.agree)
        )
        db.session.add(Flag(opinion_id=theirs.id, user_id=world.ids["resident"], reason="Lạc đề"))
        db.session.add(
            Flag(opinion_id=mine.id, user_id=world.ids["reviewer"], reason="Cờ của người khác")
        )
        db.session.commit()


def test_download_json_holds_my_data_only(app, client, auth, world):
    _populate(app, world)
    auth.login("resident@example.vn")
    response = client.get("/me/data")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["user"]["email"] == "resident@example.vn"
    assert data["user"]["full_name"] == "Nguyễn Văn Resident"
    assert data["user"]["locality"]["code"] == "00004-T1"
    [op] = data["opinions"]
    assert op["tracking_number"] == "YK-2026-000001"
    assert op["consultation"]["title"] == "Dự thảo quy hoạch chợ"
    assert (op["body"], op["stance"], op["status"]) == (
        "Nên mở rộng bãi đỗ xe",
        "suggest",
        "published",
    )
    assert op["response"]["outcome"] == "partly_accepted"
    assert op["created_at"]
    assert [r["body"] for r in data["revisions"]] == ["Bản cũ của tôi"]
    assert [(f["tracking_number"], f["reason"]) for f in data["flags"]] == [
        ("YK-2026-000002", "Lạc đề")
    ]
    text = response.get_data(as_text=True)
    for other in (
        "official@example.vn",
        "Ý kiến của người khác",
        "Bản cũ của người khác",
        "Cờ của người khác",
        "Nguyễn Văn Official",
        "moderator",
    ):
        assert other not in text


def test_download_csv(app, client, auth, world):
    _populate(app, world)
    auth.login("resident@example.vn")
    response = client.get("/me/data?format=csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["section", "item", "field", "value"]
    assert ["user", "1", "email", "resident@example.vn"] in rows
    assert ["opinions", "1", "tracking_number", "YK-2026-000001"] in rows
    assert ["opinions", "1", "response.explanation", "Sẽ bổ sung 20 chỗ đỗ xe"] in rows
    assert any(r[0] == "consents" for r in rows) is False  # the world's users gave none
    assert "official@example.vn" not in text
    assert "Ý kiến của người khác" not in text
    assert client.get("/me/data?format=xml").status_code == 400


def test_my_opinions_lists_status_and_answer(app, client, auth, world):
    _populate(app, world)
    auth.login("resident@example.vn")
    html = client.get("/me/opinions").get_data(as_text=True)
    for text in (
        "YK-2026-000001",
        "Dự thảo quy hoạch chợ",
        "Nên mở rộng bãi đỗ xe",
        "Partly accepted",
        "Sẽ bổ sung 20 chỗ đỗ xe",
        "Published",
    ):
        assert text in html
    assert "YK-2026-000002" not in html


def test_my_opinions_are_paginated(app, client, auth, world):
    with app.app_context():
        c = _consultation(world)
        for n in range(1, 46):
            _opinion(c, world.ids["resident"], n, f"Ý kiến số {n}")
        db.session.commit()
    auth.login("resident@example.vn")
    first = client.get("/me/opinions").get_data(as_text=True)
    assert first.count('class="tracking"') == 20
    assert "YK-2026-000045" in first
    assert "YK-2026-000026" in first
    assert "YK-2026-000025" not in first
    assert "Page 1 of 3" in first
    last = client.get("/me/opinions?page=3").get_data(as_text=True)
    assert last.count('class="tracking"') == 5
    assert "YK-2026-000001" in last
    assert client.get("/me/opinions?page=99").status_code == 200  # clamped to the last page
    assert client.get("/me/opinions?page=abc").status_code == 200


def test_no_opinions_yet(client, auth, world):
    auth.login("resident@example.vn")
    assert "You have not given an opinion yet." in client.get("/me/opinions").get_data(as_text=True)
