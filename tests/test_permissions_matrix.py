"""Every route × every role: who is let through and who is refused, and how.

"ok" means the permission check let the request through (the answer may still be 400 for the
empty form or 409 for the state: both come after the permission check); "login" is a redirect
to the login page; "403" forbidden; "404" a draft hidden from those who may not see it (its
existence is not revealed, even on its edit routes).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import ROLES

from consultations.models import Opinion, Section
from core.extensions import db

ALL = ["anonymous", *ROLES]
STAFF = {"official", "moderator", "reviewer"}
VERIFIED = {"resident", "official", "official_other", "moderator", "reviewer", "admin"}


def expect(ok: set[str], *, anonymous: str = "login", other: str = "403") -> dict[str, str]:
    return {
        role: ("ok" if role in ok else anonymous if role == "anonymous" else other) for role in ALL
    }


EVERYONE = dict.fromkeys(ALL, "ok")
LOGGED_IN = expect(set(ROLES))

# (method, url template, form data, expected per role)
ROUTES = [
    ("GET", "/", None, EVERYONE),
    ("GET", "/?q=dat+dai&status=open&category=land&locality=00004", None, EVERYONE),
    ("GET", "/healthz", None, EVERYONE),
    ("GET", "/localities/search.json?q=ba+dinh", None, EVERYONE),
    ("GET", "/localities/00004", None, EVERYONE),
    ("GET", "/me/privacy", None, EVERYONE),
    ("GET", "/consultations/{open}", None, EVERYONE),
    ("GET", "/consultations/{open}/notice", None, EVERYONE),
    ("GET", "/consultations/{open}/notice.pdf", None, EVERYONE),
    ("GET", "/consultations/{concluded}/notice.pdf", None, EVERYONE),
    (
        "GET",
        "/consultations/{draft}/notice",
        None,
        expect({"official"}, anonymous="404", other="404"),
    ),
    (
        "GET",
        "/consultations/{draft}/notice.pdf",
        None,
        expect({"official"}, anonymous="404", other="404"),
    ),
    ("GET", "/api/v1/consultations", None, EVERYONE),
    ("GET", "/api/v1/consultations/{open}", None, EVERYONE),
    ("GET", "/api/v1/consultations/{open}/opinions", None, EVERYONE),
    ("GET", "/consultations/{concluded}/record", None, EVERYONE),
    ("GET", "/consultations/{concluded}/record.pdf", None, EVERYONE),
    ("GET", "/consultations/{concluded}/record.docx", None, EVERYONE),
    ("GET", "/consultations/new", None, expect({"official", "official_other"})),
    ("POST", "/consultations/new", {}, expect({"official", "official_other"})),
    ("GET", "/consultations/{draft}", None, expect({"official"}, anonymous="404", other="404")),
    ("GET", "/api/v1/consultations/{draft}", None, expect(set(), anonymous="404", other="404")),
    ("GET", "/consultations/{draft}/edit", None, expect({"official"}, other="404")),
    ("POST", "/consultations/{draft}/edit", {}, expect({"official"}, other="404")),
    (
        "GET",
        "/consultations/{draft}/sections/{draft_section}/edit",
        None,
        expect({"official"}, other="404"),
    ),
    ("POST", "/consultations/{draft}/open", {}, expect({"official"}, other="404")),
    ("POST", "/consultations/{open}/extend", {"closes_at": "2099-01-01"}, expect({"official"})),
    ("POST", "/consultations/{open}/attachments", {}, expect({"official"})),
    ("POST", "/consultations/{draft}/attachments", {}, expect({"official"}, other="404")),
    ("POST", "/consultations/{open}/close", {"reason": "Đã đủ ý kiến"}, expect({"official"})),
    (
        "POST",
        "/consultations/{open}/opinions",
        {"body": "Ý kiến", "stance": "agree", "section_id": ""},
        expect(VERIFIED),
    ),
    ("GET", "/opinions/{opinion}/edit", None, expect({"resident"})),
    ("POST", "/opinions/{opinion}/edit", {"body": "Sửa", "stance": "agree"}, expect({"resident"})),
    ("POST", "/opinions/{opinion}/flag", {"reason": "Xúc phạm"}, expect(VERIFIED - {"resident"})),
    ("GET", "/opinions/{opinion}/withdraw", None, expect({"resident"})),
    ("POST", "/opinions/{opinion}/withdraw", {}, expect({"resident"})),
    ("GET", "/track", None, EVERYONE),
    ("GET", "/track?number={tracking}", None, EVERYONE),
    ("GET", "/track?number={draft_tracking}", None, expect(set(), anonymous="404", other="404")),
    ("GET", "/moderation/", None, expect({"moderator"})),
    ("GET", "/moderation/dashboard", None, expect({"moderator", "reviewer"})),
    ("GET", "/moderation/consultations/{closed}", None, expect({"moderator", "official"})),
    (
        "POST",
        "/moderation/opinions/{closed_opinion}/hide",
        {"reason": "Lời lẽ xúc phạm"},
        expect({"moderator"}),
    ),
    ("POST", "/moderation/opinions/{closed_opinion}/restore", {}, expect({"moderator"})),
    (
        "POST",
        "/moderation/opinions/{closed_opinion}/response",
        {"outcome": "noted", "explanation": "Ghi nhận"},
        expect({"moderator", "official"}),
    ),
    (
        "POST",
        "/moderation/responses",
        {"opinion_ids": "{closed_opinion}", "outcome": "noted", "explanation": "Ghi nhận"},
        expect({"moderator", "official"}),
    ),
    ("GET", "/consultations/{closed}/record", None, expect(STAFF)),
    ("POST", "/consultations/{closed}/record/publish", {"conclusion": ""}, expect({"moderator"})),
    ("GET", "/consultations/{closed}/reviews", None, expect(STAFF)),
    ("POST", "/consultations/{closed}/reviews", {"body": ""}, expect({"reviewer"})),
    ("GET", "/consultations/{closed}/export.csv", None, expect(STAFF)),
    ("GET", "/consultations/{closed}/export.json", None, expect(STAFF)),
    ("GET", "/consultations/{draft}/export.csv", None, expect({"official"}, other="404")),
    ("GET", "/moderation/consultations/{draft}", None, expect({"official"}, other="404")),
    # Refused by the state before the role: 409 for every logged-in user (tests/test_state_rules.py).
    ("POST", "/opinions/{concluded_opinion}/flag", {"reason": "Xúc phạm"}, LOGGED_IN),
    ("GET", "/audit/?locality=00004", None, expect({"reviewer", "admin"})),
    ("GET", "/audit/export.csv?locality=00004", None, expect({"reviewer", "admin"})),
    ("GET", "/audit/export.csv", None, expect({"reviewer", "admin"})),
    ("GET", "/me/account", None, LOGGED_IN),
    ("GET", "/me/opinions", None, LOGGED_IN),
    ("GET", "/me/data", None, LOGGED_IN),
]


def classify(response) -> str:
    if response.status_code in (301, 302, 303) and "/auth/login" in response.headers.get(
        "Location", ""
    ):
        return "login"
    if response.status_code in (401,):
        return "login"
    if response.status_code in (403, 404):
        return str(response.status_code)
    assert response.status_code < 500, response.status_code
    return "ok"


@pytest.fixture
def targets(app, world, make):
    ids = {
        "draft": make.consultation("draft"),
        "open": make.consultation("open"),
        "closed": make.consultation("closed"),
    }
    ids["opinion"] = make.opinion(ids["open"], who="resident")
    ids["closed_opinion"] = make.opinion(ids["closed"], who="resident")
    concluded = make.consultation("closed")
    ids["concluded_opinion"] = make.opinion(concluded, who="resident")
    with app.test_request_context():
        from auth.models import User
        from consultations.models import Consultation, Outcome
        from consultations.record import publish_record
        from moderation.services import respond

        c = db.session.get(Consultation, concluded)
        moderator = db.session.get(User, world.ids["moderator"])
        ops = list(
            db.session.scalars(sa.select(Opinion).where(Opinion.consultation_id == concluded))
        )
        respond(ops, by=moderator, outcome=Outcome.noted, explanation="Ghi nhận")
        publish_record(
            c,
            by=moderator,
            conclusion="Kết luận",
            signer_name="Nguyễn Văn A",
            signer_title="Chủ tịch",
        )
        db.session.commit()
        ids["draft_section"] = db.session.scalar(
            sa.select(Section.id).where(Section.consultation_id == ids["draft"])
        )
    ids["concluded"] = concluded
    with app.app_context():
        ids["tracking"] = db.session.get(Opinion, ids["opinion"]).tracking_number
        # A number that names no opinion the public may see: a 404 for everyone alike.
        ids["draft_tracking"] = "YK-1999-000001"
    return ids


def _login(client, world, role):
    if role == "anonymous":
        return
    from auth.models import User
    from auth.sessions import open_session

    with client.application.app_context():
        user = db.session.get(User, world.ids[role])
        open_session(user)
        db.session.commit()
        ident = user.get_id()
    with client.session_transaction() as sess:
        sess["_user_id"] = ident
        sess["_fresh"] = True


@pytest.mark.parametrize(
    ("method", "url", "data", "expected"), ROUTES, ids=[f"{m} {u}" for m, u, _, _ in ROUTES]
)
def test_route_by_role(app, world, targets, method, url, data, expected):
    path = url.format(**targets)
    got = {}
    # Refused roles first: an allowed action may change the state for the next role (409 is
    # still "allowed", since the permission check comes before the state check).
    for role in sorted(ALL, key=lambda r: expected[r] == "ok"):
        client = app.test_client()
        _login(client, world, role)
        if method == "GET":
            response = client.get(path)
        else:
            form = {
                k: (v.format(**targets) if isinstance(v, str) else v)
                for k, v in (data or {}).items()
            }
            response = client.post(path, data=form)
        got[role] = classify(response)
    assert got == expected, got
