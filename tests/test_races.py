"""State changes that must not race, fired at once by real clients through gunicorn (4 workers).

Publishing the record, answering, editing, withdrawing and reporting take the consultation's lock
(consultations/locking.py). Each race runs on SQLite (WAL) and PostgreSQL; ``record verify``
must say OK after every round. The harness is the one of test_concurrency.py.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa
from test_concurrency import Browser, Server, seed, server_config

from app import create_app
from core.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

MODERATOR = "moderator@example.vn"


def _app(config: dict):
    return create_app({**config, "TESTING": True, "QUEUE_IMMEDIATE": True})


def _setup(config: dict, residents: int):
    """The seeded world plus a moderator of the commune."""
    from auth.models import Role, RoleAssignment, User

    seeded = seed(config, residents)
    app = _app(config)
    with app.app_context():
        official = db.session.scalar(sa.select(User).where(User.email == "official@example.vn"))
        mod = User(
            email=MODERATOR,
            full_name="Điều hành",
            display_name="Điều hành viên",
            locality=official.locality,
            email_verified_at=official.email_verified_at,
            password_hash=official.password_hash,
        )
        mod.assignments.append(RoleAssignment(role=Role.moderator, locality=official.locality))
        db.session.add(mod)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return seeded


def _open_consultation(title: str):
    """A new open consultation of the official's commune (in the caller's request context)."""
    from auth.models import User
    from consultations import services
    from consultations.models import Category, Kind
    from core.timeutil import utcnow

    official = db.session.scalar(sa.select(User).where(User.email == "official@example.vn"))
    now = utcnow()
    c = services.create_consultation(
        by=official,
        locality=official.locality,
        title=title,
        summary="Lấy ý kiến.",
        kind=Kind.comment,
        category=Category.other,
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=40),
        text="Điều 1. Phạm vi\nNội dung.",
    )
    services.open_consultation(c, by=official)
    return c, official


def _closed_answered_consultation(config: dict, emails: list[str], n: int) -> tuple[int, list[int]]:
    """A new consultation with ``n`` answered opinions, closed early: ready to publish."""
    from auth.models import User
    from consultations import services
    from consultations.models import Stance
    from moderation import services as moderation

    app = _app(config)
    with app.test_request_context():
        c, official = _open_consultation("Quy định về vỉa hè")
        ids = []
        for i in range(n):
            author = db.session.scalar(sa.select(User).where(User.email == emails[i % len(emails)]))
            op = services.post_opinion(c, by=author, body=f"Ý kiến số {i}.", stance=Stance.suggest)
            moderation.respond([op], by=official, outcome="noted", explanation="Đã ghi nhận.")
            ids.append(op.id)
        services.close_consultation(c, by=official, reason="Đã đủ ý kiến.")
        db.session.commit()
        cid = c.id
        db.session.remove()
        db.engine.dispose()
    return cid, ids


def _verify(config: dict, cid: int):
    from consultations import record as records
    from consultations.models import Record

    app = _app(config)
    with app.app_context():
        rec = db.session.scalar(sa.select(Record).where(Record.consultation_id == cid))
        result = None if rec is None else records.verify_record(rec)
        db.session.remove()
        db.engine.dispose()
    return result


def _rows(config: dict, stmt):
    engine = sa.create_engine(
        config["SQLALCHEMY_DATABASE_URI"], **config["SQLALCHEMY_ENGINE_OPTIONS"]
    )
    try:
        with engine.connect() as conn:
            return conn.execute(stmt).all()
    finally:
        engine.dispose()


def _fire(jobs):
    """Run every job at the same moment, each in its own thread; their results in order."""
    barrier = threading.Barrier(len(jobs))

    def run(job):
        barrier.wait(timeout=60)
        return job()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(run, jobs))


def _post(browser: Browser, path: str, form: dict):
    """A job for :func:`_fire`: post ``form`` to ``path``, giving the status."""
    return lambda: browser.request("POST", path, form)[0]


def _logged_in(port: int, email: str, page: str) -> tuple[Browser, str]:
    browser = Browser(port)
    browser.login(email)
    token = browser.csrf(page)
    browser.frozen = True
    return browser, token


@pytest.fixture
def served(database_url, tmp_path):
    url, engine_options = database_url
    config = server_config(url, engine_options, tmp_path)
    seeded = _setup(config, residents=8)
    server = Server(config, tmp_path)
    server.start()
    try:
        yield config, seeded, server
    finally:
        server.stop()


def test_publish_and_eight_answers_never_break_the_record(served):
    config, seeded, server = served
    for _round in range(5):
        cid, ids = _closed_answered_consultation(config, seeded.emails, 8)
        publisher, ptoken = _logged_in(server.port, MODERATOR, f"/consultations/{cid}/record")
        answerers = [
            _logged_in(server.port, MODERATOR, f"/consultations/{cid}/record") for _ in ids
        ]

        publish = _post(
            publisher,
            f"/consultations/{cid}/record/publish",
            {
                "conclusion": "Tiếp thu các ý kiến.",
                "signer_name": "Nguyễn Văn A",
                "signer_title": "Chủ tịch",
                "csrf_token": ptoken,
            },
        )
        answers = [
            _post(
                b,
                f"/moderation/opinions/{i}/response",
                {"outcome": "accepted", "explanation": f"Tiếp thu ý kiến {i}.", "csrf_token": t},
            )
            for (b, t), i in zip(answerers, ids, strict=True)
        ]
        jobs = [publish, *answers]
        statuses = _fire(jobs)
        assert statuses[0] == 302, statuses
        assert all(s in (302, 409) for s in statuses), statuses
        result = _verify(config, cid)
        assert result is not None
        assert result.ok, (statuses, result)


def test_twenty_reports_of_one_opinion_by_one_user_store_one_flag(served):
    from consultations.models import Flag, Opinion

    config, seeded, server = served
    author, token = _logged_in(
        server.port, seeded.emails[0], f"/consultations/{seeded.consultation_id}"
    )
    status, headers, _ = author.request(
        "POST",
        f"/consultations/{seeded.consultation_id}/opinions",
        {
            "body": "Đề nghị mở rộng ngõ.",
            "stance": "suggest",
            "section_id": "",
            "csrf_token": token,
        },
    )
    assert status in (302, 303)
    opinion_id = int(headers["Location"].rsplit("#opinion-", 1)[1])
    reporter, rtoken = _logged_in(server.port, seeded.emails[1], f"/opinions/{opinion_id}/flag")

    def report():
        return reporter.request(
            "POST",
            f"/opinions/{opinion_id}/flag",
            {"reason": "Lời lẽ xúc phạm.", "csrf_token": rtoken},
        )[0]

    statuses = _fire([report] * 20)
    assert statuses == [302] * 20, statuses
    assert len(_rows(config, sa.select(Flag.id).where(Flag.opinion_id == opinion_id))) == 1
    assert _rows(config, sa.select(Opinion.flag_count).where(Opinion.id == opinion_id))[0][0] == 1


def test_ten_parallel_publishes_one_succeeds(served):
    config, seeded, server = served
    cid, _ids = _closed_answered_consultation(config, seeded.emails, 3)
    browsers = [
        _logged_in(server.port, MODERATOR, f"/consultations/{cid}/record") for _ in range(10)
    ]

    def publish(browser, token):
        return lambda: browser.request(
            "POST",
            f"/consultations/{cid}/record/publish",
            {
                "conclusion": "Tiếp thu.",
                "signer_name": "Nguyễn Văn A",
                "signer_title": "Chủ tịch",
                "csrf_token": token,
            },
        )[0]

    statuses = _fire([publish(b, t) for b, t in browsers])
    assert sorted(statuses) == [302] + [409] * 9, statuses
    result = _verify(config, cid)
    assert result is not None
    assert result.ok


def test_parallel_edits_and_withdraw_keep_the_whole_history(served):
    from consultations.models import Opinion, OpinionRevision, OpinionStatus

    config, seeded, server = served
    cid = seeded.consultation_id
    for _round in range(3):
        author, token = _logged_in(server.port, seeded.emails[2], f"/consultations/{cid}")
        status, headers, _ = author.request(
            "POST",
            f"/consultations/{cid}/opinions",
            {"body": "Bản gốc.", "stance": "agree", "section_id": "", "csrf_token": token},
        )
        assert status in (302, 303)
        opinion_id = int(headers["Location"].rsplit("#opinion-", 1)[1])
        editors = [
            _logged_in(server.port, seeded.emails[2], f"/opinions/{opinion_id}/edit")
            for _ in range(6)
        ]
        withdrawer, wtoken = _logged_in(
            server.port, seeded.emails[2], f"/opinions/{opinion_id}/withdraw"
        )

        jobs = [
            _post(
                b,
                f"/opinions/{opinion_id}/edit",
                {"body": f"Bản sửa {n}.", "stance": "suggest", "csrf_token": t},
            )
            for n, (b, t) in enumerate(editors)
        ]
        jobs.insert(
            3, _post(withdrawer, f"/opinions/{opinion_id}/withdraw", {"csrf_token": wtoken})
        )
        statuses = _fire(jobs)
        assert all(s in (302, 409) for s in statuses), statuses
        assert statuses[3] == 302, statuses
        edited = [f"Bản sửa {n}." for n, s in enumerate(statuses[:3] + statuses[4:]) if s == 302]

        body, op_status = _rows(
            config, sa.select(Opinion.body, Opinion.status).where(Opinion.id == opinion_id)
        )[0]
        history = [
            r[0]
            for r in _rows(
                config,
                sa.select(OpinionRevision.body)
                .where(OpinionRevision.opinion_id == opinion_id)
                .order_by(OpinionRevision.id),
            )
        ]
        assert str(getattr(op_status, "value", op_status)) == OpinionStatus.withdrawn.value
        # Every accepted edit is in the chain: each revision keeps the text the next one replaced.
        chain = [*history, body]
        assert chain[0] == "Bản gốc."
        assert len(chain) == len(edited) + 1, (chain, edited)
        assert sorted(chain[1:]) == sorted(edited), (chain, edited)


def _closing_consultation(config: dict, seconds: float) -> tuple[int, object]:
    """A new open consultation that closes by itself ``seconds`` from now."""
    from core.timeutil import utcnow

    app = _app(config)
    with app.test_request_context():
        c, _official = _open_consultation("Quy định về chợ đêm")
        db.session.flush()
        # Past MIN_COMMENT_DAYS on purpose: the closing instant is what this test is about.
        c.closes_at = utcnow() + timedelta(seconds=seconds)
        db.session.commit()
        cid, closes_at = c.id, c.closes_at
        db.session.remove()
        db.engine.dispose()
    return cid, closes_at


def _answer_all(config: dict, cid: int) -> None:
    from auth.models import User
    from consultations.models import Opinion
    from moderation import services as moderation

    app = _app(config)
    with app.test_request_context():
        official = db.session.scalar(sa.select(User).where(User.email == "official@example.vn"))
        ops = db.session.scalars(
            sa.select(Opinion).where(Opinion.consultation_id == cid, Opinion.response_id.is_(None))
        ).all()
        if ops:
            moderation.respond(list(ops), by=official, outcome="noted", explanation="Đã ghi nhận.")
            db.session.commit()
        db.session.remove()
        db.engine.dispose()


def _closing_round(config: dict, seeded, server) -> None:
    """One round: six residents post until refused while a moderator publishes the moment the
    consultation has closed."""
    import time

    from consultations.models import Opinion
    from core.timeutil import utcnow

    cid, closes_at = _closing_consultation(config, seconds=4)
    page = f"/consultations/{cid}"
    posters = [_logged_in(server.port, e, page) for e in seeded.emails[:6]]
    publisher, ptoken = _logged_in(server.port, MODERATOR, page)

    def poster(browser, token, n):
        def run():
            statuses = []
            while True:
                form = {
                    "body": f"Ý kiến sát giờ {n}-{len(statuses)}.",
                    "stance": "agree",
                    "csrf_token": token,
                }
                statuses.append(browser.request("POST", f"{page}/opinions", form)[0])
                if statuses[-1] == 409 or len(statuses) > 400:
                    return statuses

        return run

    def publish():
        time.sleep(max(0.0, (closes_at - utcnow()).total_seconds()))
        form = {
            "conclusion": "Tiếp thu các ý kiến.",
            "signer_name": "Nguyễn Văn A",
            "signer_title": "Chủ tịch",
            "csrf_token": ptoken,
        }
        while True:
            status = publisher.request("POST", f"{page}/record/publish", form)[0]
            if status == 400:  # opinions of the last moments are not answered yet
                _answer_all(config, cid)
            elif status != 409:
                return status

    results = _fire([*(poster(b, t, n) for n, (b, t) in enumerate(posters)), publish])
    assert results[-1] == 302, results[-1]
    for statuses in results[:-1]:
        assert set(statuses) <= {302, 409}, statuses
        assert statuses[-1] == 409
    result = _verify(config, cid)
    assert result is not None
    assert result.ok, result
    late = _rows(
        config,
        sa.select(sa.func.count())
        .select_from(Opinion)
        .where(
            Opinion.consultation_id == cid,
            Opinion.created_at >= closes_at,
        ),
    )[0][0]
    assert late == 0


def test_opinions_posted_at_the_closing_instant_never_break_the_record(served):
    """Every opinion stored is in the published record's hash, and none came after the close."""
    config, seeded, server = served
    for _round in range(3):
        _closing_round(config, seeded, server)
