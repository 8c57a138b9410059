"""Answers (tiếp thu, giải trình): one or a group of alike opinions, mailed to the authors,
counted as progress; a replaced answer stays on record."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from support import outbox

from audit.models import AuditEvent
from auth.models import User
from consultations import services
from consultations.models import Consultation, Opinion, Outcome, Response, Status
from core.extensions import db
from moderation import services as moderation

EXPLANATION = "Ban soạn thảo tiếp thu, sửa Điều 3: lộ giới tối thiểu 5 mét."


def _answer(app, oid):
    with app.app_context():
        op = db.session.get(Opinion, oid)
        return (op.response_id, op.response.outcome if op.response else None, op.tracking_number)


def _events(app, action):
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def _answered_mails(app):
    return [m for m in outbox(app) if "has been answered" in m["subject"]]


def _withdraw(app, world, oid, who="resident"):
    with app.test_request_context():
        c = db.session.get(Opinion, oid).consultation
        stored, closes = c.stored_status, c.closes_at
        c.stored_status = Status.open
        from core.timeutil import utcnow

        c.closes_at = utcnow().replace(year=utcnow().year + 1)
        services.withdraw_opinion(
            db.session.get(Opinion, oid), by=db.session.get(User, world.ids[who])
        )
        c.stored_status, c.closes_at = stored, closes
        db.session.commit()


@pytest.mark.postgres
def test_one_answer_is_saved_audited_and_mailed(app, client, auth, make, world, en):
    cid = make.consultation("closed")
    oid = make.opinion(cid, stance="suggest", body="Đề nghị mở rộng ngõ.", section_position=4)
    auth.login(world.email("moderator"))
    response = client.post(
        f"/moderation/opinions/{oid}/response",
        data={
            "outcome": "accepted",
            "explanation": EXPLANATION,
            "next": f"/moderation/consultations/{cid}",
        },
    )
    assert response.status_code == 302
    response_id, outcome, number = _answer(app, oid)
    assert outcome == Outcome.accepted
    with app.app_context():
        row = db.session.get(Response, response_id)
        assert row.explanation == EXPLANATION
        assert row.author_id == world.ids["moderator"]
        assert row.consultation_id == cid
    [event] = _events(app, "response.create")
    assert event.object_id == response_id
    assert event.data["opinion_ids"] == [oid]
    assert event.data["outcome"] == "accepted"
    [message] = _answered_mails(app)
    assert message["to"] == "resident@example.vn"
    assert number in message["subject"]
    assert EXPLANATION in message["text"]
    assert "Outcome: Accepted" in message["text"]

    page = client.get(f"/moderation/consultations/{cid}").get_data(as_text=True)
    assert "1 of 1 opinion answered" in page
    assert EXPLANATION in page


@pytest.mark.postgres
def test_group_answer_links_three_opinions_to_one_response(app, client, auth, make, world, en):
    cid = make.consultation("closed")
    ids = [
        make.opinion(cid, who=who, body=f"Ngõ quá hẹp ({who}).", stance="disagree")
        for who in ("resident", "reviewer", "official")
    ]
    other = make.opinion(cid, body="Ý kiến khác.")
    auth.login(world.email("moderator"))
    response = client.post(
        "/moderation/responses",
        data={
            "opinion_ids": [str(i) for i in ids],
            "outcome": "partly_accepted",
            "explanation": EXPLANATION,
            "next": "/moderation/?tab=unanswered",
        },
    )
    assert response.status_code == 302
    answers = {_answer(app, i)[0] for i in ids}
    assert len(answers) == 1
    assert None not in answers
    assert _answer(app, other)[0] is None
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == 1
    mails = _answered_mails(app)
    assert sorted(m["to"] for m in mails) == [
        "official@example.vn",
        "resident@example.vn",
        "reviewer@example.vn",
    ]
    assert all(EXPLANATION in m["text"] for m in mails)
    [event] = _events(app, "response.create")
    assert sorted(event.data["opinion_ids"]) == sorted(ids)

    progress = client.get(f"/moderation/consultations/{cid}").get_data(as_text=True)
    assert "3 of 4 opinions answered" in progress
    queue = client.get("/moderation/?tab=unanswered").get_data(as_text=True)
    assert "Not answered (1)" in queue

    items = client.get(f"/api/v1/consultations/{cid}/opinions").get_json()["items"]
    answers = {item["id"]: item["response"] for item in items}
    for i in ids:
        assert answers[i] == {"outcome": "partly_accepted", "explanation": EXPLANATION}
    assert answers[other] is None


def test_the_message_after_a_large_group_answer_names_the_first_ten(
    app, client, auth, make, world, en
):
    # The message travels in the session cookie: thousands of numbers would not fit in it.
    cid = make.consultation("open")
    ids = [make.opinion(cid, body=f"Ý kiến {i}.") for i in range(13)]
    auth.login(world.email("moderator"))
    data = {"opinion_ids": [str(i) for i in ids], "outcome": "noted", "explanation": EXPLANATION}
    page = client.post("/moderation/responses", data=data, follow_redirects=True).text
    message = re.search(r"The answer was saved and sent to the authors: ([^<]*)", page)[1]
    with app.app_context():
        numbers = [db.session.get(Opinion, i).tracking_number for i in ids]
    assert message == ", ".join(numbers[:10]) + " and 3 others."
    assert {_answer(app, i)[0] for i in ids} != {None}


@pytest.mark.postgres
def test_a_new_answer_replaces_the_old_one_which_stays_on_record(
    app, client, auth, make, world, en
):
    cid = make.consultation("closed")
    oid = make.opinion(cid)
    auth.login(world.email("official"))  # officials write answers too
    client.post(
        f"/moderation/opinions/{oid}/response",
        data={"outcome": "noted", "explanation": "Ghi nhận."},
    )
    first = _answer(app, oid)[0]
    client.post(
        f"/moderation/opinions/{oid}/response",
        data={"outcome": "accepted", "explanation": EXPLANATION},
    )
    second, outcome, _ = _answer(app, oid)
    assert second != first
    assert outcome == Outcome.accepted
    with app.app_context():
        assert db.session.get(Response, first).explanation == "Ghi nhận."  # kept
    [event] = _events(app, "opinion.answer_replace")
    assert event.data == {
        "consultation_id": cid,
        "tracking_number": _answer(app, oid)[2],
        "old_response_id": first,
        "new_response_id": second,
    }
    assert len(_answered_mails(app)) == 2


@pytest.mark.postgres
def test_progress_counts_every_opinion_but_withdrawn_ones(app, make, world):
    cid = make.consultation("open")
    a = make.opinion(cid, section_position=2)
    make.opinion(cid, section_position=2, body="Hai")  # stays unanswered
    c = make.opinion(cid, body="Cả dự thảo")
    gone = make.opinion(cid, section_position=3, body="Rút lại")
    hidden = make.opinion(cid, section_position=3, body="Ẩn")
    _withdraw(app, world, gone)
    with app.test_request_context():
        moderator = db.session.get(User, world.ids["moderator"])
        moderation.hide_opinion(db.session.get(Opinion, hidden), by=moderator, reason="Xúc phạm")
        moderation.respond(
            [db.session.get(Opinion, a), db.session.get(Opinion, c)],
            by=moderator,
            outcome="noted",
            explanation="Ghi nhận.",
        )
        db.session.commit()
        sections = {s.position: s.id for s in db.session.get(Consultation, cid).sections}
        progress = moderation.answer_progress(cid)
    assert (progress["total"], progress["answered"], progress["remaining"]) == (4, 2, 2)
    assert progress["complete"] is False
    assert progress["sections"][sections[2]] == {"total": 2, "answered": 1}
    assert progress["sections"][sections[3]] == {
        "total": 1,
        "answered": 0,
    }  # hidden still needs one
    assert progress["sections"][None] == {"total": 1, "answered": 1}


def test_withdrawn_opinion_cannot_be_answered(app, client, auth, make, world):
    cid = make.consultation("open")
    oid = make.opinion(cid)
    _withdraw(app, world, oid)
    auth.login(world.email("moderator"))
    response = client.post(
        f"/moderation/opinions/{oid}/response", data={"outcome": "noted", "explanation": "x"}
    )
    assert response.status_code == 409
    assert _answer(app, oid)[0] is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"outcome": "accepted", "explanation": "  "}, "Write the explanation of the answer."),
        ({"outcome": "maybe", "explanation": "Giữ chữ đã gõ"}, "Choose the outcome of the answer."),
        ({"explanation": "Giữ chữ đã gõ"}, "Choose the outcome of the answer."),
    ],
)
def test_bad_answer_is_400_with_the_form_shown_again(
    app, client, auth, make, world, en, data, message
):
    cid = make.consultation("closed")
    oid = make.opinion(cid)
    auth.login(world.email("moderator"))
    response = client.post(
        f"/moderation/opinions/{oid}/response",
        data=data | {"next": f"/moderation/consultations/{cid}"},
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert data["explanation"].strip() in html
    assert f'id="explanation-op{oid}"' in html
    assert _answer(app, oid)[0] is None
    assert _answered_mails(app) == []


def test_group_answer_without_opinions_is_400_on_the_queue(app, client, auth, make, world, en):
    cid = make.consultation("closed")
    make.opinion(cid)
    auth.login(world.email("moderator"))
    response = client.post(
        "/moderation/responses",
        data={
            "outcome": "accepted",
            "explanation": "Giữ chữ đã gõ",
            "next": "/moderation/?tab=unanswered",
        },
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Choose the opinions to answer together." in html
    assert "Giữ chữ đã gõ" in html
    assert "<h1>Moderation</h1>" in html


def test_group_answer_keeps_the_selection_when_the_explanation_is_missing(
    app, client, auth, make, world, en
):
    cid = make.consultation("closed")
    ids = [make.opinion(cid, body=f"Ý kiến {i}") for i in range(2)]
    auth.login(world.email("moderator"))
    response = client.post(
        "/moderation/responses",
        data={
            "opinion_ids": [str(i) for i in ids],
            "outcome": "accepted",
            "explanation": "",
            "next": "/moderation/?tab=unanswered",
        },
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    for i in ids:
        assert f'value="{i}" id="select-{i}" form="group-answer" checked' in html
    assert 'id="outcome-group-accepted" value="accepted" required checked' in html


def test_group_answer_across_consultations_is_400(app, client, auth, make, world, en):
    first, second = make.consultation("closed"), make.consultation("closed", title="Quy định khác")
    ids = [make.opinion(first), make.opinion(second, body="Khác")]
    auth.login(world.email("moderator"))
    response = client.post(
        "/moderation/responses",
        data={
            "opinion_ids": [str(i) for i in ids],
            "outcome": "accepted",
            "explanation": EXPLANATION,
        },
    )
    assert response.status_code == 400
    assert "must belong to the same consultation" in response.get_data(as_text=True)


def test_group_answer_with_an_unknown_opinion_is_404(app, client, auth, make, world):
    cid = make.consultation("closed")
    oid = make.opinion(cid)
    auth.login(world.email("moderator"))
    response = client.post(
        "/moderation/responses",
        data={"opinion_ids": [str(oid), "987654"], "outcome": "accepted", "explanation": "x"},
    )
    assert response.status_code == 404
    assert _answer(app, oid)[0] is None


@pytest.mark.postgres
def test_answers_are_refused_once_concluded(app, client, auth, make, world):
    cid = make.consultation("closed")
    oid = make.opinion(cid)
    with app.app_context():
        db.session.get(Consultation, cid).stored_status = Status.concluded
        db.session.commit()
    auth.login(world.email("moderator"))
    data = {"outcome": "accepted", "explanation": EXPLANATION}
    assert client.post(f"/moderation/opinions/{oid}/response", data=data).status_code == 409
    assert (
        client.post("/moderation/responses", data=data | {"opinion_ids": [str(oid)]}).status_code
        == 409
    )
    assert _answer(app, oid)[0] is None


@pytest.mark.parametrize("who", ["resident", "official_other", "reviewer", "admin"])
def test_only_moderators_and_officials_of_the_locality_answer(app, client, auth, make, world, who):
    cid = make.consultation("closed")
    oid = make.opinion(cid)
    auth.login(world.email(who))
    data = {"outcome": "accepted", "explanation": EXPLANATION}
    assert client.post(f"/moderation/opinions/{oid}/response", data=data).status_code == 403
    assert (
        client.post("/moderation/responses", data=data | {"opinion_ids": [str(oid)]}).status_code
        == 403
    )
    assert _answer(app, oid)[0] is None


def test_anonymous_answers_go_to_login(app, client, make, world):
    cid = make.consultation("closed")
    oid = make.opinion(cid)
    data = {"outcome": "accepted", "explanation": EXPLANATION, "opinion_ids": [str(oid)]}
    for path in (f"/moderation/opinions/{oid}/response", "/moderation/responses"):
        response = client.post(path, data=data)
        assert response.status_code == 302
        assert "/auth/login" in response.headers["Location"]
    assert client.post("/moderation/opinions/424242/response", data=data).status_code == 302


def test_unknown_opinion_answer_is_404(app, client, auth, world):
    auth.login(world.email("moderator"))
    assert (
        client.post(
            "/moderation/opinions/424242/response", data={"outcome": "noted", "explanation": "x"}
        ).status_code
        == 404
    )


@pytest.mark.parametrize("several", [False, True])
def test_the_answer_may_carry_a_summary_for_the_record(app, client, auth, make, world, en, several):
    cid = make.consultation("closed")
    ids = [
        make.opinion(cid, body=f"Ý kiến dài số {i} về lộ giới.", section_position=4)
        for i in range(2)
    ]
    auth.login(world.email("moderator"))
    data = {
        "outcome": "accepted",
        "explanation": EXPLANATION,
        "summary": "  Đề nghị nâng lộ giới lên 5 mét. ",
    }
    if several:
        response = client.post(
            "/moderation/responses", data={**data, "opinion_ids": [str(i) for i in ids]}
        )
    else:
        response = client.post(f"/moderation/opinions/{ids[0]}/response", data=data)
    assert response.status_code == 302
    with app.app_context():
        answered = ids if several else ids[:1]
        summaries = {db.session.get(Opinion, i).response.summary for i in answered}
    assert summaries == {"Đề nghị nâng lộ giới lên 5 mét."}


def test_a_too_long_summary_is_refused_with_the_text_kept(app, client, auth, make, world, en):
    cid = make.consultation("closed")
    oid = make.opinion(cid, body="Đề nghị mở rộng ngõ.", section_position=4)
    auth.login(world.email("moderator"))
    response = client.post(
        f"/moderation/opinions/{oid}/response",
        data={"outcome": "accepted", "explanation": EXPLANATION, "summary": "x" * 2001},
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Use at most 2000 characters." in html
    assert EXPLANATION in html
    assert _answer(app, oid)[0] is None
