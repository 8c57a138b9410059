"""The moderator's pages of alike opinions (issue 16): a consultation's groups with their size
and campaign mark, a group with its members, taking out an opinion that does not belong (kept
when the groups are computed again), merging two groups, and one answer for a whole group,
written by the worker: every member answered once, a double click refused."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from support import (
    AuthActions,
    Maker,
    dispose,
    new_queued_app,
    notifications_of,
    outbox,
    seed_world,
)

from alike import grouping
from alike.models import AlikeLink, OpinionAlike, OpinionGroup
from audit.models import AuditEvent
from auth.models import User
from consultations.models import (
    Consultation,
    Opinion,
    OpinionStatus,
    Outcome,
    Response,
    Section,
    Status,
)
from core.extensions import db
from core.timeutil import utcnow
from infra import mail, queue
from moderation import services as moderation
from outbox.models import OutboxMessage

WIDEN = "Đề nghị mở rộng đường liên thôn đoạn qua tổ dân phố số 1 lên 6 mét để xe cứu hỏa vào được."
LIGHTS = "Đề nghị lắp thêm đèn chiếu sáng trên đường ven sông, buổi tối rất tối và nguy hiểm."
OTHER = "Tôi đề nghị giữ nguyên mức phí vệ sinh môi trường như năm trước."
AUTHORS = ("resident", "reviewer", "official", "admin")


def _texts(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _summary(html: str) -> str:
    """The error summary at the top of the page."""
    match = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    assert match, "no error summary at the top of the page"
    return _texts(match.group(0))


def make_group(app, opinion_ids: list[int], *, campaign: bool = False) -> int:
    """A group made directly with the models (as the grouping would), replacing whatever the
    grouping made of these opinions."""
    with app.app_context():
        ops = [db.session.get(Opinion, i) for i in opinion_ids]
        for op in ops:
            row = db.session.get(OpinionAlike, op.id)
            if row is None:
                row = OpinionAlike(
                    opinion_id=op.id,
                    consultation_id=op.consultation_id,
                    text_key=f"k{op.id}",
                    signature=b"",
                )
                db.session.add(row)
            row.group_id = None
        db.session.flush()
        group = OpinionGroup(
            consultation_id=ops[0].consultation_id,
            section_id=ops[0].section_id,
            representative_id=ops[0].id,
            size=len(ops),
            campaign=campaign,
        )
        db.session.add(group)
        db.session.flush()
        for op in ops:
            db.session.get(OpinionAlike, op.id).group_id = group.id
        # Groups the grouping made and that are now empty.
        empty = sa.select(OpinionAlike.group_id).where(OpinionAlike.group_id.is_not(None))
        db.session.execute(
            sa.delete(OpinionGroup).where(
                OpinionGroup.consultation_id == ops[0].consultation_id,
                OpinionGroup.id.not_in(empty),
            )
        )
        db.session.commit()
        return group.id


def _opinions(make: Maker, cid: int, body: str, who=AUTHORS, **kwargs) -> list[int]:
    return [make.opinion(cid, who=w, body=body, **kwargs) for w in who]


@pytest.fixture
def queued_app(database_url, tmp_path):
    """Jobs wait for the worker (``queue.run_due``), as in production."""
    app = new_queued_app(database_url, tmp_path)
    yield app
    dispose(app)


@pytest.fixture
def setup(queued_app):
    """An open consultation with a campaign of four copies on article 3, a group of two on
    article 3, and an opinion alike to no other; the moderator logged in."""
    world = seed_world(queued_app)
    make = Maker(queued_app, world)
    cid = make.consultation("open")
    campaign = _opinions(make, cid, WIDEN, section_position=3)
    pair = _opinions(make, cid, LIGHTS, who=("resident", "reviewer"), section_position=3)
    alone = make.opinion(cid, who="official", body=OTHER)
    with queued_app.app_context():
        queue.run_due()  # receipts, and whatever the grouping does with new opinions
    ids = {
        "campaign": make_group(queued_app, campaign, campaign=True),
        "pair": make_group(queued_app, pair),
    }
    client = queued_app.test_client()
    AuthActions(client).login(world.email("moderator"))
    return queued_app, world, client, cid, ids, {"campaign": campaign, "pair": pair, "alone": alone}


def _pending(app, group_id: int) -> int:
    with app.app_context():
        return db.session.scalar(
            sa.select(sa.func.count())
            .select_from(OpinionAlike)
            .join(Opinion, Opinion.id == OpinionAlike.opinion_id)
            .where(OpinionAlike.group_id == group_id, Opinion.response_id.is_(None))
        )


# --- the pages -------------------------------------------------------------------------------


@pytest.mark.postgres
def test_the_groups_page_shows_sizes_campaigns_and_what_is_left_to_answer(setup):
    app, _world, client, cid, ids, _ops = setup
    page = client.get(f"/moderation/consultations/{cid}/groups")
    assert page.status_code == 200
    text = _texts(page.get_data(as_text=True))
    assert "2 groups, the largest first" in text
    assert "6 opinions in a group" in text
    assert "1 campaign" in text
    # The largest first, each with its size, text and what is left to answer.
    first, second = text.index(f"Group {ids['campaign']}"), text.index(f"Group {ids['pair']}")
    assert first < second
    assert "4 opinions Campaign 4 opinions with the same text" in text
    assert "4 still to answer" in text
    assert "2 still to answer" in text
    assert WIDEN[:40] in text
    assert LIGHTS[:40] in text
    assert OTHER[:40] not in text

    only = _texts(client.get(f"/moderation/consultations/{cid}/groups?campaign=1").data.decode())
    assert f"Group {ids['campaign']}" in only
    assert f"Group {ids['pair']}" not in only
    whole = _texts(client.get(f"/moderation/consultations/{cid}/groups?whole=1").data.decode())
    assert "No groups of alike opinions to show." in whole
    with app.app_context():
        section_id = db.session.scalar(
            sa.select(Section.id).where(Section.consultation_id == cid, Section.position == 3)
        )
    article = client.get(f"/moderation/consultations/{cid}/groups?section={section_id}")
    assert "2 groups, the largest first" in _texts(article.get_data(as_text=True))


def test_the_campaign_reads_in_vietnamese(setup):
    _app, _world, client, cid, ids, _ops = setup
    client.set_cookie("lang", "vi")
    with client.application.app_context():
        db.session.execute(sa.text("UPDATE \"user\" SET locale = 'vi'"))
        db.session.commit()
    text = _texts(client.get(f"/moderation/consultations/{cid}/groups").get_data(as_text=True))
    assert "Chiến dịch" in text
    assert "4 ý kiến cùng nội dung" in text
    queue_page = client.get(f"/moderation/?consultation={cid}&tab=unanswered")
    assert f"Nhóm {ids['campaign']} · 4 ý kiến" in _texts(queue_page.get_data(as_text=True))


def test_the_queue_and_the_consultation_page_mark_and_link_the_groups(setup):
    _app, _world, client, cid, ids, _ops = setup
    html = client.get(f"/moderation/?consultation={cid}&tab=unanswered").get_data(as_text=True)
    text = _texts(html)
    assert text.count(f"Group {ids['campaign']} · 4 opinions") == 4
    assert text.count(f"Group {ids['pair']} · 2 opinions") == 2
    assert f'href="/moderation/groups/{ids["campaign"]}"' in html
    assert f'href="/moderation/consultations/{cid}/groups"' in html

    html = client.get(f"/moderation/consultations/{cid}").get_data(as_text=True)
    assert f'href="/moderation/consultations/{cid}/groups"' in html
    assert "6 opinions saying the same thing are in 2 groups" in _texts(html)
    assert f"Group {ids['pair']} · 2 opinions" in _texts(html)


def test_the_group_page_lists_the_members_by_their_public_name_only(setup):
    app, world, client, _cid, ids, ops = setup
    html = client.get(f"/moderation/groups/{ids['campaign']}").get_data(as_text=True)
    text = _texts(html)
    assert "Group " + str(ids["campaign"]) + " of alike opinions" in text
    assert "A campaign: near-identical texts sent from many accounts" in text
    with app.app_context():
        numbers = [db.session.get(Opinion, i).tracking_number for i in ops["campaign"]]
    for number in numbers:
        assert number in text
    for who in AUTHORS:
        assert f"Người dân {who}" in text  # the public name…
        assert world.email(who) not in html
        assert f"Nguyễn Văn {who.title()}" not in html
    assert text.count("Remove from the group") == 4
    assert 'name="other_group"' in html
    assert 'name="explanation"' in html


# --- answering a whole group -------------------------------------------------------------------


def _answer(client, group_id: int, **form):
    data = {"outcome": "accepted", "explanation": "Ủy ban tiếp thu, sẽ mở rộng đường năm 2027."}
    data.update(form)
    return client.post(f"/moderation/groups/{group_id}/response", data=data)


@pytest.mark.postgres
def test_the_answer_reaches_every_member_through_the_worker_once(setup):
    app, world, client, _cid, ids, ops = setup
    gid = ids["campaign"]
    # One member already answered keeps its answer; one withdrawn needs none.
    with app.test_request_context():
        first = db.session.get(Opinion, ops["campaign"][0])
        moderator = db.session.get(User, world.ids["moderator"])
        moderation.respond([first], by=moderator, outcome=Outcome.noted, explanation="Ghi nhận.")
        db.session.get(Opinion, ops["campaign"][1]).status = OpinionStatus.withdrawn
        db.session.commit()
    with app.app_context():
        queue.run_due()
    sent_before = len(outbox(app))

    response = _answer(client, gid)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "is being recorded for its 2 opinions waiting for one" in _texts(page)
    assert "This page refreshes by itself" in _texts(page)
    assert '<meta http-equiv="refresh"' in page
    assert 'name="explanation"' not in page  # no second answer while the first is recorded
    assert _pending(app, gid) == 3  # nothing answered in the request: the worker does it
    with app.app_context():
        [row] = db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.template == "group_answer")
        ).all()
        assert row.kind == mail.FANOUT

    with app.app_context():
        queue.run_due()  # the group answer, then the authors' fan-out
        queue.run_due()  # …and their mail
    with app.app_context():
        group = db.session.get(OpinionGroup, gid)
        assert group.answering_at is None
        members = {
            op.id: op
            for op in db.session.scalars(sa.select(Opinion).where(Opinion.id.in_(ops["campaign"])))
        }
        assert members[ops["campaign"][0]].response.outcome == Outcome.noted  # kept
        assert members[ops["campaign"][1]].response_id is None  # withdrawn: no answer
        answered = {members[i].response_id for i in ops["campaign"][2:]}
        assert len(answered) == 1
        assert None not in answered
        response_row = db.session.get(Response, answered.pop())
        assert response_row.outcome == Outcome.accepted
        assert db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "alike.answer")
        )
    page = _texts(client.get(f"/moderation/groups/{gid}").get_data(as_text=True))
    assert "Every opinion of this group has an answer." in page
    assert "being recorded" not in page
    # The authors of the two answered opinions (official, admin) are told, once each.
    mails = sorted(m["to"] for m in outbox(app)[sent_before:])
    assert mails == [world.email("admin"), world.email("official")]
    assert len(notifications_of(app, world.ids["official"])) >= 1


@pytest.mark.postgres
def test_a_double_submit_answers_once_and_says_why(setup):
    app, _world, client, _cid, ids, _ops = setup
    gid = ids["pair"]
    assert _answer(client, gid).status_code == 302
    again = _answer(client, gid, explanation="Lần hai.")
    assert again.status_code == 409
    html = again.get_data(as_text=True)
    assert f"The group {gid} is being answered." in _summary(html)
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.template == "group_answer")
            )
            == 1
        )
        queue.run_due()
        responses = db.session.scalars(sa.select(Response)).all()
    assert len(responses) == 1
    assert responses[0].explanation.startswith("Ủy ban tiếp thu")
    assert _pending(app, gid) == 0
    # Once answered, another answer is refused: nobody is left waiting.
    late = _answer(client, gid)
    assert late.status_code == 409
    assert "Every opinion of this group already has an answer." in _summary(late.data.decode())


def test_a_consultation_concluded_meanwhile_gives_the_answer_up(setup):
    app, _world, client, cid, ids, _ops = setup
    gid = ids["pair"]
    assert _answer(client, gid).status_code == 302
    with app.app_context():
        c = db.session.get(Consultation, cid)
        c.stored_status, c.concluded_at = Status.concluded, utcnow()
        db.session.commit()
        queue.run_due()
        [row] = db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.template == "group_answer")
        ).all()
        assert row.status == "sent"  # given up, not retried for ever
        assert db.session.get(OpinionGroup, gid).answering_at is None
    assert _pending(app, gid) == 2


def test_a_group_dissolved_before_the_worker_still_has_its_opinions_answered(setup):
    app, _world, client, _cid, ids, _ops = setup
    gid = ids["pair"]
    with app.app_context():
        pair = sorted(
            db.session.scalars(
                sa.select(OpinionAlike.opinion_id).where(OpinionAlike.group_id == gid)
            )
        )
    assert _answer(client, gid).status_code == 302
    # Its author rewrites one of the two: regrouped, the group dissolves before the worker
    # reaches the answer (taking one out by hand is refused meanwhile).
    assert client.post(f"/moderation/groups/{gid}/opinions/{pair[1]}/remove").status_code == 409
    with app.app_context():
        db.session.get(Opinion, pair[1]).body = OTHER
        grouping.add(pair[1])
        db.session.commit()
        assert db.session.get(OpinionGroup, gid) is None
        queue.run_due()
        answered = {db.session.get(Opinion, i).response_id for i in pair}
    assert len(answered) == 1  # both, with the one answer the moderator gave
    assert None not in answered


def test_errors_are_shown_at_the_top_in_the_users_language_and_the_input_is_kept(setup):
    app, _world, client, _cid, ids, _ops = setup
    client.set_cookie("lang", "vi")
    with app.app_context():
        db.session.execute(sa.text("UPDATE \"user\" SET locale = 'vi'"))
        db.session.commit()
    gid = ids["pair"]
    refused = _answer(client, gid, outcome="", explanation="Giải trình đã viết.")
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "Vui lòng chọn kết quả trả lời." in _summary(html)
    assert "Giải trình đã viết." in html  # the explanation is kept
    assert 'href="#outcome-group-' in html

    bad = client.post(f"/moderation/groups/{gid}/merge", data={"other_group": "999999"})
    assert bad.status_code == 400
    html = bad.get_data(as_text=True)
    assert "Không có nhóm 999999 trong đợt lấy ý kiến này." in _summary(html)
    assert 'value="999999"' in html
    assert 'href="#other_group"' in html


# --- removing and merging ------------------------------------------------------------------


def _recompute(app, cid: int) -> None:
    with app.test_request_context():
        grouping.recompute(cid)
        db.session.commit()


@pytest.mark.postgres
def test_an_opinion_taken_out_stays_out_when_the_groups_are_computed_again(setup):
    app, _world, client, cid, _ids, ops = setup
    _recompute(app, cid)  # the copies make a group by themselves
    with app.app_context():
        gid = db.session.get(OpinionAlike, ops["campaign"][0]).group_id
        assert gid is not None
        members = set(
            db.session.scalars(
                sa.select(OpinionAlike.opinion_id).where(OpinionAlike.group_id == gid)
            )
        )
        assert set(ops["campaign"]) <= members
        out = db.session.get(Opinion, ops["campaign"][2])
        number = out.tracking_number

    response = client.post(f"/moderation/groups/{gid}/opinions/{out.id}/remove")
    assert response.status_code == 302
    page = _texts(client.get(response.headers["Location"]).get_data(as_text=True))
    assert f"The opinion {number} was taken out of the group {gid}" in page
    assert page.count("Remove from the group") == len(members) - 1

    _recompute(app, cid)
    with app.app_context():
        row = db.session.get(OpinionAlike, out.id)
        assert row.group_id is None
        assert row.apart
        still = db.session.get(OpinionAlike, ops["campaign"][0]).group_id
        assert still is not None
        assert db.session.get(OpinionGroup, still).size == len(members) - 1
        assert db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "alike.remove", AuditEvent.object_id == out.id)
        )


def test_taking_one_of_two_out_closes_the_group(setup):
    _app, _world, client, cid, ids, ops = setup
    gid = ids["pair"]
    response = client.post(f"/moderation/groups/{gid}/opinions/{ops['pair'][0]}/remove")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/moderation/consultations/{cid}/groups")
    assert "the group is closed" in _texts(client.get(response.headers["Location"]).data.decode())
    assert client.get(f"/moderation/groups/{gid}").status_code == 404
    # An opinion of another group, or of none, is not taken out of this one.
    other = client.post(f"/moderation/groups/{ids['campaign']}/opinions/{ops['alone']}/remove")
    assert other.status_code == 400
    assert "is not in the group" in _summary(other.get_data(as_text=True))


@pytest.mark.postgres
def test_merging_two_groups_keeps_them_together(setup):
    app, _world, client, cid, ids, ops = setup
    response = client.post(
        f"/moderation/groups/{ids['campaign']}/merge", data={"other_group": str(ids["pair"])}
    )
    assert response.status_code == 302
    page = _texts(client.get(response.headers["Location"]).get_data(as_text=True))
    assert f"2 opinions of the group {ids['pair']} joined the group {ids['campaign']}" in page
    assert client.get(f"/moderation/groups/{ids['pair']}").status_code == 404
    with app.app_context():
        group = db.session.get(OpinionGroup, ids["campaign"])
        assert group.size == 6
        members = set(
            db.session.scalars(
                sa.select(OpinionAlike.opinion_id).where(OpinionAlike.group_id == group.id)
            )
        )
        assert members == set(ops["campaign"]) | set(ops["pair"])
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AlikeLink)) == 1

    _recompute(app, cid)  # the texts differ, the moderator's merge holds
    with app.app_context():
        gids = {db.session.get(OpinionAlike, i).group_id for i in ops["campaign"] + ops["pair"]}
        assert len(gids) == 1
        assert None not in gids


def test_a_merge_with_a_group_of_another_article_is_refused_beside_the_field(setup):
    app, world, client, cid, ids, _ops = setup
    elsewhere = _opinions(Maker(app, world), cid, OTHER, who=("resident", "admin"))
    with app.app_context():
        queue.run_due()
    gid = make_group(app, elsewhere)
    refused = client.post(f"/moderation/groups/{ids['pair']}/merge", data={"other_group": str(gid)})
    assert refused.status_code == 400
    assert "only groups of the same article can be merged" in _summary(refused.data.decode())
    assert client.get(f"/moderation/groups/{gid}").status_code == 200


@pytest.mark.postgres
def test_posted_through_the_form_with_an_immediate_queue_the_group_is_answered(
    app, world, make, client, auth
):
    cid = make.consultation("open")
    gid = make_group(app, _opinions(make, cid, LIGHTS, who=("resident", "reviewer", "admin")))
    auth.login(world.email("official"))  # the locality's officials answer too
    response = _answer(client, gid, summary="Lắp đèn đường ven sông.")
    assert response.status_code == 302
    page = _texts(client.get(f"/moderation/groups/{gid}").get_data(as_text=True))
    assert "Every opinion of this group has an answer." in page
    assert _pending(app, gid) == 0
    with app.app_context():
        [answer] = db.session.scalars(sa.select(Response)).all()
        assert answer.summary == "Lắp đèn đường ven sông."
        assert db.session.get(OpinionGroup, gid).answering_at is None
