"""The open-data JSON API: public consultations and opinions, public fields only."""

import json

import pytest

from auth.models import User
from consultations import services
from consultations.models import Consultation, Opinion, OpinionStatus, Outcome, Response, Stance
from core.extensions import db
from core.timeutil import utcnow

PRIVATE = ("@example.vn", "Nguyễn Văn", "password", "phone")


def assert_public(response):
    text = response.get_data(as_text=True)
    for secret in PRIVATE:
        assert secret not in text, secret


@pytest.mark.postgres
def test_the_list_has_public_consultations_with_pages(client, world, make):
    open_id = make.consultation("open", title="Quy hoạch đất đai")
    closed_id = make.consultation(
        "closed", title="Trường học", category="education", text="Điều 1. Trường\nXây trường."
    )
    make.consultation("draft", title="Nháp")

    r = client.get("/api/v1/consultations")
    assert r.status_code == 200
    assert r.mimetype == "application/json"
    data = r.get_json()
    assert {item["id"] for item in data["items"]} == {open_id, closed_id}
    assert (data["page"], data["pages"], data["total"]) == (1, 1, 2)
    item = next(i for i in data["items"] if i["id"] == open_id)
    assert item["title"] == "Quy hoạch đất đai"
    assert item["status"] == "open"
    assert item["kind"] == "comment"
    assert item["category"] == "land"
    assert item["locality"] == {"code": "00004", "name": "Phường Ba Đình"}
    assert item["opens_at"].endswith("+00:00")
    assert "Quy hoạch đất đai" in r.get_data(as_text=True)  # UTF-8, not \\u escapes
    assert_public(r)

    assert [i["id"] for i in client.get("/api/v1/consultations?q=dat+dai").get_json()["items"]] == [
        open_id
    ]
    assert [
        i["id"] for i in client.get("/api/v1/consultations?status=closed").get_json()["items"]
    ] == [closed_id]
    assert [
        i["id"] for i in client.get("/api/v1/consultations?category=education").get_json()["items"]
    ] == [closed_id]
    assert client.get("/api/v1/consultations?locality=00008").get_json()["items"] == []
    assert client.get("/api/v1/consultations?status=draft").get_json()["total"] == 2


def test_the_list_is_paginated(client, make):
    for i in range(12):
        make.consultation("open", title=f"Dự thảo {i}")
    first = client.get("/api/v1/consultations").get_json()
    second = client.get("/api/v1/consultations?page=2").get_json()
    assert (len(first["items"]), first["pages"], first["total"]) == (10, 2, 12)
    assert (len(second["items"]), second["page"]) == (2, 2)
    assert client.get("/api/v1/consultations?page=5").get_json()["items"] == []


@pytest.mark.postgres
def test_one_consultation_with_its_sections(client, make):
    cid = make.consultation("open")
    r = client.get(f"/api/v1/consultations/{cid}")
    assert r.status_code == 200
    data = r.get_json()
    assert data["id"] == cid
    assert [s["position"] for s in data["sections"]] == [1, 2, 3, 4]
    assert data["sections"][1]["heading"] == "Điều 1. Phạm vi điều chỉnh"
    assert (
        data["sections"][1]["text"]
        == "Quy định này áp dụng cho việc sử dụng đất đai trên địa bàn phường."
    )
    assert set(data["sections"][0]) == {"id", "position", "heading", "text"}


@pytest.mark.parametrize("path", ["", "/opinions"])
def test_drafts_and_unknown_ids_are_404_in_json(client, make, path):
    cid = make.consultation("draft")
    for url in (f"/api/v1/consultations/{cid}{path}", f"/api/v1/consultations/999999{path}"):
        r = client.get(url)
        assert r.status_code == 404
        assert r.get_json()["status"] == 404


def test_drafts_stay_hidden_even_from_their_officials(client, auth, world, make):
    cid = make.consultation("draft")
    auth.login(world.email("official"))
    assert client.get(f"/api/v1/consultations/{cid}").status_code == 404
    assert client.get("/api/v1/consultations").get_json()["total"] == 0


@pytest.mark.postgres
def test_opinions_with_public_fields_only(app, client, world, make):
    cid = make.consultation("open")
    published = make.opinion(
        cid, body="Đồng ý <b>hoàn toàn</b>", stance="agree", section_position=2
    )
    withdrawn = make.opinion(cid, body="Rút lại")
    hidden = make.opinion(cid, body="Bị ẩn")
    offline = make.opinion(cid, who="official", body="Tại hội nghị", channel="meeting")
    with app.test_request_context():
        resident = db.session.get(User, world.ids["resident"])
        services.withdraw_opinion(db.session.get(Opinion, withdrawn), by=resident)
        op = db.session.get(Opinion, hidden)
        op.status, op.hidden_reason, op.hidden_at = OpinionStatus.hidden, "Lạc đề", utcnow()
        db.session.get(Opinion, published).response = Response(
            consultation_id=cid, outcome=Outcome.accepted, explanation="Tiếp thu."
        )
        db.session.commit()
        number = db.session.get(Opinion, published).tracking_number
        section_id = db.session.get(Opinion, published).section_id

    r = client.get(f"/api/v1/consultations/{cid}/opinions")
    assert r.status_code == 200
    assert r.mimetype == "application/json"
    data = r.get_json()
    assert (data["page"], data["pages"], data["total"]) == (1, 1, 4)
    by_id = {item["id"]: item for item in data["items"]}
    p = by_id[published]
    assert p["tracking_number"] == number
    assert (p["stance"], p["channel"], p["status"], p["section_id"]) == (
        "agree",
        "online",
        "published",
        section_id,
    )
    assert p["body"] == "Đồng ý <b>hoàn toàn</b>"  # raw text: JSON consumers escape it themselves
    assert p["response"] == {"outcome": "accepted", "explanation": "Tiếp thu."}
    assert p["author"] == "Người dân resident"
    assert p["created_at"].endswith("+00:00")
    assert by_id[withdrawn]["body"] is None
    assert by_id[withdrawn]["status"] == "withdrawn"
    assert by_id[hidden]["body"] is None
    assert by_id[hidden]["status"] == "hidden"
    assert by_id[offline]["channel"] == "meeting"
    assert by_id[offline]["response"] is None
    assert "Rút lại" not in r.get_data(as_text=True)
    assert "Bị ẩn" not in r.get_data(as_text=True)
    assert_public(r)
    for item in data["items"]:
        assert {
            "id",
            "tracking_number",
            "stance",
            "channel",
            "section_id",
            "status",
            "body",
            "response",
            "created_at",
            "author",
        } <= set(item)


def _post_opinions(app, world, cid: int, n: int) -> None:
    """``n`` opinions by the resident through the service, "Ý kiến 0" to "Ý kiến n-1"."""
    with app.test_request_context():
        c = db.session.get(Consultation, cid)
        user = db.session.get(User, world.ids["resident"])
        for i in range(n):
            services.post_opinion(c, by=user, body=f"Ý kiến {i}", stance=Stance.agree)
        db.session.commit()


def test_opinions_come_fifty_a_page(app, client, world, make):
    cid = make.consultation("open")
    _post_opinions(app, world, cid, 53)
    first = client.get(f"/api/v1/consultations/{cid}/opinions").get_json()
    second = client.get(f"/api/v1/consultations/{cid}/opinions?page=2").get_json()
    assert (len(first["items"]), first["pages"], first["total"]) == (50, 2, 53)
    assert len(second["items"]) == 3
    ids = [i["id"] for i in first["items"] + second["items"]]
    assert ids == sorted(ids)
    assert len(set(ids)) == 53


@pytest.mark.postgres
def test_opinions_can_be_walked_by_keyset(app, client, world, make):
    """?after=<id> gives the opinions that follow, whatever arrives meanwhile; next_after is
    where to go on from, and none on the last step."""
    cid = make.consultation("open")
    _post_opinions(app, world, cid, 53)
    first = client.get(f"/api/v1/consultations/{cid}/opinions").get_json()
    assert first["next_after"] == first["items"][-1]["id"]
    # An opinion posted while a client walks the list neither repeats nor hides one.
    with app.test_request_context():
        c = db.session.get(Consultation, cid)
        services.post_opinion(
            c,
            by=db.session.get(User, world.ids["resident"]),
            body="Ý kiến mới",
            stance=Stance.suggest,
        )
        db.session.commit()
    second = client.get(
        f"/api/v1/consultations/{cid}/opinions?after={first['next_after']}"
    ).get_json()
    assert [i["body"] for i in second["items"]] == [
        "Ý kiến 50",
        "Ý kiến 51",
        "Ý kiến 52",
        "Ý kiến mới",
    ]
    assert (second["after"], second["next_after"], second["total"]) == (
        first["next_after"],
        None,
        54,
    )
    assert "page" not in second
    ids = [i["id"] for i in first["items"] + second["items"]]
    assert ids == sorted(ids)
    assert len(set(ids)) == 54
    assert (
        client.get(f"/api/v1/consultations/{cid}/opinions?after=0").get_json()["items"][0]["id"]
        == ids[0]
    )
    assert (
        client.get(f"/api/v1/consultations/{cid}/opinions?after={ids[-1]}").get_json()["items"]
        == []
    )
    # Past any id a database can hold: an empty last page, not a 500.
    for huge in ("9223372036854775807", "9223372036854775808", "1" + "0" * 40):
        beyond = client.get(f"/api/v1/consultations/{cid}/opinions?after={huge}")
        assert beyond.status_code == 200, huge
        assert (beyond.get_json()["items"], beyond.get_json()["next_after"]) == ([], None)
    client.set_cookie("lang", "vi")
    refused = client.get(f"/api/v1/consultations/{cid}/opinions?after=abc")
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "Tham số after= phải là mã số của một ý kiến (số nguyên)."


def test_the_api_is_read_only(client, make):
    cid = make.consultation("open")
    r = client.post(
        f"/api/v1/consultations/{cid}/opinions",
        data=json.dumps({"body": "x"}),
        content_type="application/json",
        csrf=False,
    )
    assert r.status_code == 405
