"""Household votes (issue 15) probed as an attacker would: other localities, other roles,
secrecy of the vote and of the register, hostile input, state and CSRF."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from support import PASSWORD
from test_counting import COMMITTEE
from test_results import matter_ids, seed_households

from core.extensions import db
from decisions.models import Decision, Vote
from households.models import Household

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _client(app, world, who):
    c = app.test_client()
    c.set_cookie("lang", "en")
    if who:
        c.post("/auth/login", data={"email": world.email(who), "password": PASSWORD})
    return c


@pytest.fixture
def decide(app, world, make):
    """An open decide consultation of the commune, three households, one linked, one vote."""
    cid = make.consultation("open", kind="decide")
    hh = seed_households(app, world.village_ids[0], 3)
    m = matter_ids(app, cid)
    with app.app_context():
        h = db.session.get(Household, hh[0])
        h.representative_id = world.ids["resident"]
        h.representative_name = "Đại Diện Bí Mật"
        db.session.commit()
    return cid, hh, m


def _close(app, cid):
    from consultations.models import Consultation, Status
    from core.timeutil import utcnow

    with app.app_context():
        c = db.session.get(Consultation, cid)
        c.closes_at = utcnow() - timedelta(seconds=1)
        c.stored_status = Status.closed
        db.session.commit()


def test_staff_of_another_commune_act_on_nothing(app, world, decide):
    cid, hh, m = decide
    other = _client(app, world, "official_other")
    assert other.get(f"/households/{hh[0]}").status_code == 403
    assert other.get(f"/households/{hh[0]}/edit").status_code == 403
    r = other.post(f"/households/{hh[0]}/representative", data={"email": "", "reason": "x"})
    assert r.status_code == 403
    assert other.get(f"/consultations/{cid}/ballots").status_code == 403
    r = other.post(
        f"/consultations/{cid}/ballots",
        data={"household": "H00002", "section_id": str(m[0]), "choice": "agree"},
    )
    assert r.status_code == 403
    assert other.get(f"/consultations/{cid}/ballots.pdf").status_code == 403
    assert other.post(f"/consultations/{cid}/ballots.pdf").status_code == 403
    _close(app, cid)
    assert other.get(f"/consultations/{cid}/counting").status_code == 403
    assert other.post(f"/consultations/{cid}/counting", data=COMMITTEE).status_code == 403
    assert other.post(f"/consultations/{cid}/counting/confirm").status_code == 403
    assert other.post(f"/consultations/{cid}/results/sign").status_code == 403
    assert other.post(f"/consultations/{cid}/results/publish").status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Vote.id))) == 0


def _cast(c, cid, section, choice="agree"):
    return c.post(
        f"/consultations/{cid}/votes", data={"section_id": str(section), "choice": choice}
    )


def test_no_vote_outside_the_household_the_community_and_the_period(app, world, make, decide):
    cid, hh, m = decide
    res = _client(app, world, "resident")
    # struck off
    with app.app_context():
        db.session.get(Household, hh[0]).active = False
        db.session.commit()
    assert _cast(res, cid, m[0]).status_code == 403
    with app.app_context():
        db.session.get(Household, hh[0]).active = True
        db.session.commit()
    # another commune's consultation
    other = make.consultation("open", kind="decide", locality_id=world.other_commune_id)
    assert _cast(res, other, matter_ids(app, other)[0]).status_code == 403
    draft = make.consultation("draft", kind="decide")
    assert _cast(res, draft, matter_ids(app, draft)[0]).status_code == 404
    closed = make.consultation("closed", kind="decide")
    assert _cast(res, closed, matter_ids(app, closed)[0]).status_code == 409
    # a section of another consultation
    r = _cast(res, cid, matter_ids(app, closed)[0])
    assert r.status_code == 400
    assert _cast(res, cid, m[0], "blank").status_code == 400
    assert _cast(res, cid, "9" * 40).status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Vote.id))) == 0


def test_public_and_staff_pages_never_name_the_representative(app, world, decide):
    cid, _hh, m = decide
    res = _client(app, world, "resident")
    assert _cast(res, cid, m[0]).status_code == 303
    for who in (None, "unverified", "official_other", "reviewer", "moderator"):
        c = _client(app, world, who)
        for path in (
            f"/consultations/{cid}",
            f"/consultations/{cid}/votes",
            f"/consultations/{cid}/results",
            f"/api/v1/consultations/{cid}/results",
            f"/api/v1/consultations/{cid}",
        ):
            text = c.get(path).get_data(as_text=True)
            assert "Đại Diện Bí Mật" not in text, (who, path)
            assert "resident@example.vn" not in text, (who, path)
            assert "Người đại diện" not in text, (who, path)


def test_register_text_is_escaped_everywhere(app, world, decide):
    cid, hh, m = decide
    with app.app_context():
        h = db.session.get(Household, hh[1])
        h.representative_name = XSS
        h.address = XSS
        h.code = '"><b>x'
        db.session.commit()
    off = _client(app, world, "official")
    for path in (
        "/households",
        f"/households/{hh[1]}",
        f"/households/{hh[1]}/edit",
        f"/consultations/{cid}/ballots",
    ):
        text = off.get(path).get_data(as_text=True)
        assert "<script>alert" not in text, path
        assert "<b>x" not in text, path
    r = off.post(
        f"/consultations/{cid}/ballots",
        data={"household": XSS, "section_id": str(m[0]), "choice": "agree"},
    )
    assert r.status_code == 400
    assert "<script>alert" not in r.get_data(as_text=True)


def test_oversized_input_is_a_400_not_a_500(app, world, decide):
    cid, hh, m = decide
    off = _client(app, world, "official")
    big = "A" * 100_000
    r = off.post(
        "/households/new",
        data={"code": "Z1", "village": "00004-T1", "representative_name": big, "active": "y"},
    )
    assert r.status_code == 400
    r = off.post("/households/new", data={"code": big, "village": "00004-T1"})
    assert r.status_code == 400
    r = off.post(f"/households/{hh[1]}/representative", data={"email": big, "reason": big})
    assert r.status_code in (400, 413)
    r = off.post(
        f"/consultations/{cid}/ballots",
        data={
            "household": big,
            "section_id": str(m[0]),
            "choice": "agree",
            "ballot_number": "9" * 50,
        },
    )
    assert r.status_code in (400, 413)
    r = off.post(
        f"/consultations/{cid}/ballots",
        data={
            "household": "H00002",
            "section_id": str(m[0]),
            "choice": "agree",
            "ballot_number": "9" * 50,
        },
    )
    assert r.status_code == 400
    r = off.post("/me/household", data={"code": big, "key": big})
    assert r.status_code in (400, 413)
    _close(app, cid)
    r = off.post(
        f"/consultations/{cid}/counting/corrections",
        data={"vote_id": "9" * 30, "choice": "agree", "reason": "x"},
    )
    assert r.status_code == 400
    members = {f"members-{i}-name": big for i in range(5)}
    r = off.post(f"/consultations/{cid}/counting", data=members)
    assert r.status_code == 400


def test_villages_of_another_commune_and_other_roles_are_refused(app, world, decide):
    _cid, hh, _m = decide
    off = _client(app, world, "official")
    r = off.post(
        f"/households/{hh[1]}/edit", data={"code": "H9", "village": "00008", "active": "y"}
    )
    assert r.status_code == 400
    r = off.post("/households/new", data={"code": "H9", "village": "00008", "active": "y"})
    assert r.status_code == 400
    r = off.post("/households/letters", data={"village": "00008"})
    assert r.status_code == 400
    import io

    csv = b"code,village_code,representative_name,address\nZ1,00008,x,y\n"
    r = off.post(
        "/households/import",
        data={"file": (io.BytesIO(csv), "a.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 400
    for who in ("moderator", "reviewer", "resident"):
        c = _client(app, world, who)
        assert c.get("/households").status_code == 403
        assert c.get(f"/households/{hh[1]}").status_code == 403
        assert c.post("/households/letters", data={"village": "00004-T1"}).status_code == 403


# --- problems found (fixed) ------------------------------------------------------------------------------


def test_a_changed_mind_sent_again_and_again_keeps_one_conflict(app, world, decide):
    """A representative who voted Agree and then posts Disagree in a loop (or double-clicks it)
    must not fill the committee's list, the trail and the minutes' count of refused votes: the
    same refused entry again is a repeat, as a repeat of the vote that stands is."""
    from audit.models import AuditEvent
    from decisions.models import VoteConflict

    cid, _hh, m = decide
    res = _client(app, world, "resident")
    assert _cast(res, cid, m[0], "agree").status_code == 303
    for _i in range(5):
        assert _cast(res, cid, m[0], "disagree").status_code == 409
    off = _client(app, world, "official")
    data = {"household": "H00001", "section_id": str(m[0]), "choice": "disagree"}
    for _i in range(3):
        assert off.post(f"/consultations/{cid}/ballots", data=data).status_code == 409
    with app.app_context():
        conflicts = list(db.session.scalars(sa.select(VoteConflict)))
        refusals = db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "vote.refuse")
        )
    assert [(k.channel.value, k.choice.value) for k in conflicts] == [
        ("online", "disagree"),
        ("paper", "disagree"),
    ]
    assert refusals == 2


def test_the_minutes_downloads_are_rate_limited(app):
    """The minutes are rendered (DOCX, PDF: seconds of CPU) on each request and public once the
    results are published: they get the download budget of the record and the exports."""
    from infra import ratelimits

    limited = ratelimits.limited_endpoints(app)
    assert limited["decisions.results_download"].limits[0].scope == "download_ip"


def test_a_huge_csv_is_refused_at_once_from_the_page(app, world, monkeypatch):
    """Each row is stored and audited within the request (20,000 rows: about 25 s on SQLite):
    a 10 MB file (some 300,000 rows) would hold the write lock for minutes and time out. The
    page takes a commune's register; more is a clear 400 before any row is looked up."""
    import io

    from households import importing

    monkeypatch.setattr(importing, "WEB_MAX_ROWS", 5)
    off = _client(app, world, "official")
    head = b"code,village_code,representative_name,address\n"
    rows = b"".join(b"H%03d,00004-T1,A,B\n" % i for i in range(6))
    r = off.post(
        "/households/import",
        data={"file": (io.BytesIO(head + rows), "a.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 400
    assert "more than 5 households" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Household.id))) == 0
    r = off.post(
        "/households/import",
        data={"file": (io.BytesIO(head + rows[: rows.index(b"H005")]), "a.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 303
    # The command line takes any number.
    with app.test_request_context():
        assert importing.import_households(
            head + rows.replace(b"H0", b"K0"), by=None, via="cli"
        ) == (6, 0)


def test_a_ballot_printed_before_a_move_does_not_go_to_the_household_now_bearing_its_code(
    app, world, decide
):
    from decisions.models import Ballot

    cid, hh, m = decide
    off = _client(app, world, "official")
    assert off.get(f"/consultations/{cid}/ballots.pdf").status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(Ballot.number).where(Ballot.household_id == hh[1]))
    # 00004-T1/H00002 may not move to T2 (nor change its code) while its ballot is out: a new
    # household of T1 given the code H00002 would get the vote of the ballot printed for it.
    form = {"code": "H00002", "village": "00004-T2", "active": "y"}
    refused = off.post(f"/households/{hh[1]}/edit", data=form)
    assert refused.status_code == 400
    assert "its code and village stay as printed" in refused.get_data(as_text=True)
    form = {"code": "H00009", "village": "00004-T1", "active": "y"}
    assert off.post(f"/households/{hh[1]}/edit", data=form).status_code == 400
    # The ballot comes back, typed as printed without its number: it goes to its household.
    data = {"household": "00004-T1/H00002", "section_id": str(m[0]), "choice": "agree"}
    assert off.post(f"/consultations/{cid}/ballots", data=data).status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(Vote.household_id)) == hh[1]


def test_linking_does_not_tell_which_household_of_another_commune_a_person_represents(
    app, world, decide
):
    _cid, hh, _m = decide
    with app.app_context():
        elsewhere = Household(
            locality_id=world.other_commune_id,
            code="NGOAI-77",
            representative_id=world.ids["moderator"],
        )
        db.session.add(elsewhere)
        db.session.commit()
    off = _client(app, world, "official")
    r = off.post(
        f"/households/{hh[1]}/representative",
        data={"email": world.email("moderator"), "reason": "Ủy quyền"},
    )
    assert r.status_code == 400
    text = r.get_data(as_text=True)
    assert "already represents a household of another locality" in text
    assert "NGOAI-77" not in text
    assert "Phường Ngọc Hà" not in text
    # Within the official's own villages the household is named, to unlink it there.
    r = off.post(
        f"/households/{hh[1]}/representative",
        data={"email": world.email("resident"), "reason": "Ủy quyền"},
    )
    assert r.status_code == 400
    assert "H00001" in r.get_data(as_text=True)


def test_running_counts_and_the_list_of_who_voted_do_not_tell_how_a_household_voted(
    app, world, decide
):
    cid, _hh, m = decide
    res = _client(app, world, "resident")
    assert _cast(res, cid, m[0], "disagree").status_code == 303
    reviewer = _client(app, world, "reviewer")
    page = reviewer.get(f"/consultations/{cid}/ballots").get_data(as_text=True)
    assert "00004-T1/H00001" in page  # the staff see who voted (by design)
    public = app.test_client().get(f"/api/v1/consultations/{cid}/results").json
    first = next(x for x in public["matters"] if x["section_id"] == m[0])
    # The one household that voted is known, so any count by choice would be its vote: while
    # the secret vote is open the results give the turnout only.
    assert public["status"] == "voting"
    assert first["votes"] is None
    assert first["passed"] is None
    assert first["turnout"] == 1
    assert first["by_channel"] == {"online": 1, "paper": 0, "meeting": 0}
    page = app.test_client().get(f"/consultations/{cid}/results").get_data(as_text=True)
    assert "The vote is under way" in page
    assert "Disagree:" not in page


def test_every_post_of_households_and_votes_needs_the_csrf_token(app, world, decide):
    """The CSRF walk (test_security_sessions.py) posts to every POST rule; here the rules of
    issue 15 on a real decide consultation and household, as each role."""
    cid, hh, m = decide
    rules = sorted(
        r.rule
        for r in app.url_map.iter_rules()
        if "POST" in r.methods
        and (r.endpoint.startswith(("decisions.", "households.")) or "household" in r.rule)
    )
    assert len(rules) >= 14, rules
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count(Vote.id)))
    for who in ("resident", "official", "moderator", "reviewer"):
        c = _client(app, world, who)
        for rule in rules:
            path = (
                rule.replace("<int:consultation_id>", str(cid))
                .replace("<int:household_id>", str(hh[1]))
                .replace("<token>", "0" * 32)
            )
            data = {"section_id": str(m[0]), "choice": "agree", "household": "H00002"}
            assert c.post(path, data=data, csrf=False).status_code == 400, (who, path)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Vote.id))) == before
        assert db.session.get(Decision, cid) is None
