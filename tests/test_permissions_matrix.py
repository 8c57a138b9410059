"""Every route × every role: who is let through and who is refused, and how.

The routes come from ``app.url_map``: every rule but ``static``, with each of its methods, must
have an entry in MATRIX, so a new route fails here until someone writes down who may use it.
An entry is one or more cases (an address, a form, the expected answer per role); each case's
address must be one its rule answers.

"ok" means the permission check let the request through (the answer may still be 400 for the
empty form or 409 for the state: both come after the permission check); "login" is a redirect
to the login page; "403" forbidden; "404" a draft hidden from those who may not see it (its
existence is not revealed, even on its edit routes).

The database is seeded once for the module (the world, the consultations in each state, files)
and copied for every case: a case's allowed actions cannot leak into the next one.
"""

from __future__ import annotations

import io
import secrets
import shutil
from typing import NamedTuple

import pytest
import sqlalchemy as sa
from support import ROLES, Maker, dispose, new_app, seed_world

from app import create_app
from consultations.models import Attachment, Opinion, Review, Section
from core.extensions import db
from outbox.models import OutboxMessage

ALL = ["anonymous", *ROLES]
STAFF = {"official", "moderator", "reviewer"}
VERIFIED = {"resident", "official", "official_other", "moderator", "reviewer", "admin"}
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def expect(ok: set[str], *, anonymous: str = "login", other: str = "403") -> dict[str, str]:
    return {
        role: ("ok" if role in ok else anonymous if role == "anonymous" else other) for role in ALL
    }


EVERYONE = dict.fromkeys(ALL, "ok")
LOGGED_IN = expect(set(ROLES))
#: A draft, to its locality's officials only; the others are not told it exists.
DRAFT = expect({"official"}, anonymous="404", other="404")
#: The same behind a login: the visitor is asked to log in before anything is looked up.
DRAFT_LOGIN = expect({"official"}, other="404")
#: A draft its officials see but may not act on in this way (publish, review).
DRAFT_NOT_THIS = {**expect(set(), other="404"), "official": "403"}


class Case(NamedTuple):
    url: str  # with {placeholders} from the ``site`` fixture's ids
    expected: dict[str, str]
    data: dict | None = None  # the form of a POST


EXPORT = "/consultations/<int:consultation_id>/export.<any(csv, xlsx, json, docx, pdf):fmt>"
EXPORT_PROGRESS = (
    "/consultations/<int:consultation_id>/exports/<any(csv, xlsx, json, docx, pdf):fmt>/progress"
)

# (rule, method) -> the cases that exercise it.
MATRIX: dict[tuple[str, str], list[Case]] = {
    # --- public pages ---------------------------------------------------------------------------
    ("/", "GET"): [
        Case("/", EVERYONE),
        Case("/?q=dat+dai&status=open&category=land&locality=00004", EVERYONE),
    ],
    ("/healthz", "GET"): [Case("/healthz", EVERYONE)],
    ("/localities/search.json", "GET"): [Case("/localities/search.json?q=ba+dinh", EVERYONE)],
    ("/localities/<code>", "GET"): [Case("/localities/00004", EVERYONE)],
    ("/me/privacy", "GET"): [Case("/me/privacy", EVERYONE)],
    ("/track", "GET"): [
        Case("/track", EVERYONE),
        Case("/track?number={tracking}", EVERYONE),
        # A number that names no opinion the public may see: a 404 for everyone alike.
        Case("/track?number={draft_tracking}", expect(set(), anonymous="404", other="404")),
    ],
    # --- the API: drafts do not exist there, whoever asks ---------------------------------------
    ("/api/v1/consultations", "GET"): [Case("/api/v1/consultations", EVERYONE)],
    ("/api/v1/consultations/<int:consultation_id>", "GET"): [
        Case("/api/v1/consultations/{open}", EVERYONE),
        Case("/api/v1/consultations/{draft}", expect(set(), anonymous="404", other="404")),
    ],
    ("/api/v1/consultations/<int:consultation_id>/opinions", "GET"): [
        Case("/api/v1/consultations/{open}/opinions", EVERYONE),
        Case("/api/v1/consultations/{draft}/opinions", expect(set(), anonymous="404", other="404")),
    ],
    # --- accounts -------------------------------------------------------------------------------
    ("/auth/language", "GET"): [Case("/auth/language?lang=en", EVERYONE)],
    ("/auth/language", "POST"): [Case("/auth/language", EVERYONE, {"lang": "en"})],
    ("/auth/login", "GET"): [Case("/auth/login", EVERYONE)],
    ("/auth/login", "POST"): [Case("/auth/login", EVERYONE, {})],
    ("/auth/logout", "POST"): [Case("/auth/logout", EVERYONE, {})],
    ("/auth/register", "GET"): [Case("/auth/register", EVERYONE)],
    ("/auth/register", "POST"): [Case("/auth/register", EVERYONE, {})],
    ("/auth/registered", "GET"): [Case("/auth/registered", EVERYONE)],
    ("/auth/reset", "GET"): [Case("/auth/reset", EVERYONE)],
    ("/auth/reset", "POST"): [Case("/auth/reset", EVERYONE, {})],
    # The link is the key: whoever holds a valid one may choose the password (empty form: 400).
    ("/auth/reset/<token>", "GET"): [Case("/auth/reset/{reset_token}", EVERYONE)],
    ("/auth/reset/<token>", "POST"): [Case("/auth/reset/{reset_token}", EVERYONE, {})],
    # The unverified user's link. Anonymous goes first (all are "ok"): it confirms the address
    # and logs its owner in; the logged-in roles after it are sent to their account page.
    ("/auth/verify/<token>", "GET"): [Case("/auth/verify/{verify_token}", EVERYONE)],
    ("/auth/verify/resend", "POST"): [Case("/auth/verify/resend", LOGGED_IN, {})],
    # --- my space (empty forms: 400, nothing changes) ---------------------------------------------
    ("/me/account", "GET"): [Case("/me/account", LOGGED_IN)],
    ("/me/account", "POST"): [Case("/me/account", LOGGED_IN, {})],
    ("/me/account/password", "POST"): [Case("/me/account/password", LOGGED_IN, {})],
    ("/me/account/consent", "POST"): [Case("/me/account/consent", LOGGED_IN, {})],
    ("/me/delete", "POST"): [Case("/me/delete", LOGGED_IN, {})],
    ("/me/opinions", "GET"): [Case("/me/opinions", LOGGED_IN)],
    ("/me/data", "GET"): [Case("/me/data", LOGGED_IN)],
    # --- a consultation and its notice ----------------------------------------------------------
    # --- households (issue 15): the register, the representative's link -----------------------
    # (rows of households/ go here)
    ("/households", "GET"): [
        Case("/households", expect({"official", "official_other"})),
        Case("/households?village=00004-T1&q=nguyen", expect({"official"})),
    ],
    ("/households/new", "GET"): [Case("/households/new", expect({"official", "official_other"}))],
    ("/households/new", "POST"): [
        Case("/households/new", expect({"official", "official_other"}), {})
    ],
    ("/households/<int:household_id>", "GET"): [
        Case("/households/{household}", expect({"official"}))
    ],
    ("/households/<int:household_id>/edit", "GET"): [
        Case("/households/{household}/edit", expect({"official"}))
    ],
    ("/households/<int:household_id>/edit", "POST"): [
        Case("/households/{household}/edit", expect({"official"}), {})
    ],
    ("/households/<int:household_id>/representative", "POST"): [
        Case("/households/{household}/representative", expect({"official"}), {})
    ],
    ("/households/import", "GET"): [
        Case("/households/import", expect({"official", "official_other"}))
    ],
    ("/households/import", "POST"): [
        Case("/households/import", expect({"official", "official_other"}), {})
    ],
    ("/households/letters", "POST"): [
        Case("/households/letters", expect({"official", "official_other"}), {})
    ],
    # The letters of a job nobody started: officials are told it does not exist.
    ("/households/letters/<token>", "GET"): [
        Case(
            "/households/letters/" + "0" * 32,
            {**expect(set()), "official": "404", "official_other": "404"},
        )
    ],
    ("/households/letters/<token>.pdf", "GET"): [
        Case(
            "/households/letters/" + "0" * 32 + ".pdf",
            {**expect(set()), "official": "404", "official_other": "404"},
        )
    ],
    ("/me/household", "GET"): [Case("/me/household", LOGGED_IN)],
    # An unconfirmed e-mail address may not link (empty form: 400).
    ("/me/household", "POST"): [Case("/me/household", expect(VERIFIED), {})],
    # --- household votes (issue 15): casting, ballots, meetings ---------------------------------
    # (rows of decisions/views/voting.py go here)
    # The resident represents household H001 of the commune; no other account represents one
    # (403). A consultation that is not a household vote has no votes, ballots or ballots.pdf.
    ("/consultations/<int:consultation_id>/votes", "GET"): [
        Case("/consultations/{decide_open}/votes", EVERYONE),
        Case("/consultations/{decide_closed}/votes", EVERYONE),
        Case("/consultations/{decide_draft}/votes", DRAFT),
        Case("/consultations/{open}/votes", expect(set(), anonymous="404", other="404")),
    ],
    ("/consultations/<int:consultation_id>/votes", "POST"): [
        Case("/consultations/{decide_open}/votes", expect({"resident"}), {}),
        Case(
            "/consultations/{decide_open}/votes",
            expect({"resident"}),
            {"section_id": "{decide_open_section}", "choice": "agree"},
        ),
        Case("/consultations/{decide_closed}/votes", expect({"resident"}), {}),
        Case("/consultations/{decide_draft}/votes", DRAFT_NOT_THIS, {}),
    ],
    # The locality's staff see who voted; its officials enter ballots and a meeting's votes.
    ("/consultations/<int:consultation_id>/ballots", "GET"): [
        Case("/consultations/{decide_open}/ballots", expect(STAFF)),
        Case("/consultations/{decide_closed}/ballots", expect(STAFF)),
        Case("/consultations/{decide_draft}/ballots", DRAFT_LOGIN),
        Case("/consultations/{open}/ballots", expect(set(), other="404")),
    ],
    ("/consultations/<int:consultation_id>/ballots", "POST"): [
        Case("/consultations/{decide_open}/ballots", expect({"official"}), {}),
        Case(
            "/consultations/{decide_open}/ballots",
            expect({"official"}),
            {"household": "H001", "section_id": "{decide_open_section}", "choice": "agree"},
        ),
        Case("/consultations/{decide_closed}/ballots", expect({"official"}), {}),
        Case("/consultations/{decide_draft}/ballots", DRAFT_LOGIN, {}),
    ],
    ("/consultations/<int:consultation_id>/ballots.pdf", "GET"): [
        Case("/consultations/{decide_open}/ballots.pdf", expect({"official"})),
        Case("/consultations/{decide_draft}/ballots.pdf", DRAFT_LOGIN),
        Case("/consultations/{open}/ballots.pdf", expect(set(), other="404")),
    ],
    # The retry of a failed job making the ballots of a large community (nothing failed here).
    ("/consultations/<int:consultation_id>/ballots.pdf", "POST"): [
        Case("/consultations/{decide_open}/ballots.pdf", expect({"official"}), {}),
        Case("/consultations/{decide_draft}/ballots.pdf", DRAFT_LOGIN, {}),
    ],
    # --- household votes (issue 15): counting, sign-off, results --------------------------------
    # (rows of decisions/views/counting.py go here)
    # Results: public counts (a draft is not known); the minutes are the staff's until published.
    ("/consultations/<int:consultation_id>/results", "GET"): [
        Case("/consultations/{decide_open}/results", EVERYONE),
        Case("/consultations/{decide_draft}/results", DRAFT),
    ],
    ("/api/v1/consultations/<int:consultation_id>/results", "GET"): [
        Case("/api/v1/consultations/{decide_open}/results", EVERYONE),
        Case(
            "/api/v1/consultations/{decide_draft}/results",
            expect(set(), anonymous="404", other="404"),
        ),
    ],
    ("/consultations/<int:consultation_id>/results.<any(docx, pdf):fmt>", "GET"): [
        Case("/consultations/{decide_closed}/results.docx", expect(STAFF)),
    ],
    # Counting: officials and moderators act for the committee (empty forms: 400; the state: 409).
    ("/consultations/<int:consultation_id>/counting", "GET"): [
        Case("/consultations/{decide_closed}/counting", expect({"official", "moderator"})),
    ],
    ("/consultations/<int:consultation_id>/counting", "POST"): [
        Case("/consultations/{decide_closed}/counting", expect({"official", "moderator"}), {}),
    ],
    ("/consultations/<int:consultation_id>/counting/corrections", "POST"): [
        Case(
            "/consultations/{decide_closed}/counting/corrections",
            expect({"official", "moderator"}),
            {},
        ),
    ],
    ("/consultations/<int:consultation_id>/counting/confirm", "POST"): [
        Case(
            "/consultations/{decide_closed}/counting/confirm", expect({"official", "moderator"}), {}
        ),
    ],
    # Sign-off by the Fatherland Front; publishing by the counting staff (before the count: 409).
    ("/consultations/<int:consultation_id>/results/sign", "POST"): [
        Case("/consultations/{decide_closed}/results/sign", expect({"reviewer"}), {}),
    ],
    ("/consultations/<int:consultation_id>/results/publish", "POST"): [
        Case(
            "/consultations/{decide_closed}/results/publish", expect({"official", "moderator"}), {}
        ),
    ],
    ("/consultations/<int:consultation_id>", "GET"): [
        Case("/consultations/{open}", EVERYONE),
        Case("/consultations/{draft}", DRAFT),
    ],
    ("/consultations/<int:consultation_id>/notice", "GET"): [
        Case("/consultations/{open}/notice", EVERYONE),
        Case("/consultations/{draft}/notice", DRAFT),
    ],
    ("/consultations/<int:consultation_id>/notice.pdf", "GET"): [
        Case("/consultations/{open}/notice.pdf", EVERYONE),
        Case("/consultations/{concluded}/notice.pdf", EVERYONE),
        Case("/consultations/{draft}/notice.pdf", DRAFT),
    ],
    ("/attachments/<int:attachment_id>", "GET"): [
        Case("/attachments/{open_attachment}", EVERYONE),
        Case("/attachments/{draft_attachment}", DRAFT),
    ],
    # --- writing and running a consultation: its locality's officials ------------------------------
    ("/consultations/new", "GET"): [
        Case("/consultations/new", expect({"official", "official_other"}))
    ],
    ("/consultations/new", "POST"): [
        Case("/consultations/new", expect({"official", "official_other"}), {})
    ],
    ("/consultations/<int:consultation_id>/edit", "GET"): [
        Case("/consultations/{draft}/edit", DRAFT_LOGIN),
        Case("/consultations/{open}/edit", expect({"official"})),  # the officials' 409
    ],
    ("/consultations/<int:consultation_id>/edit", "POST"): [
        Case("/consultations/{draft}/edit", DRAFT_LOGIN, {}),
        Case("/consultations/{open}/edit", expect({"official"}), {}),
    ],
    ("/consultations/<int:consultation_id>/sections/<int:section_id>/edit", "GET"): [
        Case("/consultations/{draft}/sections/{draft_section}/edit", DRAFT_LOGIN)
    ],
    ("/consultations/<int:consultation_id>/sections/<int:section_id>/edit", "POST"): [
        Case("/consultations/{draft}/sections/{draft_section}/edit", DRAFT_LOGIN, {})
    ],
    ("/consultations/<int:consultation_id>/open", "POST"): [
        Case("/consultations/{draft}/open", DRAFT_LOGIN, {}),
        Case("/consultations/{open}/open", expect({"official"}), {}),
    ],
    ("/consultations/<int:consultation_id>/extend", "POST"): [
        Case("/consultations/{open}/extend", expect({"official"}), {"closes_at": "2099-01-01"}),
        Case("/consultations/{draft}/extend", DRAFT_LOGIN, {"closes_at": "2099-01-01"}),
    ],
    ("/consultations/<int:consultation_id>/close", "POST"): [
        Case("/consultations/{open}/close", expect({"official"}), {"reason": "Đã đủ ý kiến"}),
        Case("/consultations/{draft}/close", DRAFT_LOGIN, {"reason": "Đã đủ ý kiến"}),
    ],
    ("/consultations/<int:consultation_id>/attachments", "POST"): [
        Case("/consultations/{open}/attachments", expect({"official"}), {}),
        Case("/consultations/{draft}/attachments", DRAFT_LOGIN, {}),
    ],
    # --- opinions -------------------------------------------------------------------------------
    ("/consultations/<int:consultation_id>/opinions", "POST"): [
        Case(
            "/consultations/{open}/opinions",
            expect(VERIFIED),
            {"body": "Ý kiến", "stance": "agree", "section_id": ""},
        ),
        # Received at a meeting or on paper: typed in by the locality's officials only.
        Case(
            "/consultations/{open}/opinions",
            expect({"official"}),
            {"body": "Ý kiến", "stance": "agree", "channel": "paper"},
        ),
        Case("/consultations/{draft}/opinions", DRAFT_LOGIN, {"body": "Ý kiến", "stance": "agree"}),
    ],
    ("/opinions/<int:opinion_id>/edit", "GET"): [
        Case("/opinions/{opinion}/edit", expect({"resident"}))
    ],
    ("/opinions/<int:opinion_id>/edit", "POST"): [
        Case("/opinions/{opinion}/edit", expect({"resident"}), {"body": "Sửa", "stance": "agree"})
    ],
    ("/opinions/<int:opinion_id>/withdraw", "GET"): [
        Case("/opinions/{opinion}/withdraw", expect({"resident"}))
    ],
    ("/opinions/<int:opinion_id>/withdraw", "POST"): [
        Case("/opinions/{opinion}/withdraw", expect({"resident"}), {})
    ],
    ("/opinions/<int:opinion_id>/flag", "GET"): [
        Case("/opinions/{opinion}/flag", expect(VERIFIED - {"resident"})),
        # Refused by the state before the role: 409 for every logged-in user.
        Case("/opinions/{concluded_opinion}/flag", LOGGED_IN),
    ],
    ("/opinions/<int:opinion_id>/flag", "POST"): [
        Case("/opinions/{opinion}/flag", expect(VERIFIED - {"resident"}), {"reason": "Xúc phạm"}),
        # Refused by the state before the role (tests/test_state_rules.py).
        Case("/opinions/{concluded_opinion}/flag", LOGGED_IN, {"reason": "Xúc phạm"}),
    ],
    # --- moderation and answers -------------------------------------------------------------------
    ("/moderation/", "GET"): [Case("/moderation/", expect({"moderator"}))],
    ("/moderation/dashboard", "GET"): [
        Case("/moderation/dashboard", expect({"moderator", "reviewer"}))
    ],
    ("/moderation/consultations/<int:consultation_id>", "GET"): [
        Case("/moderation/consultations/{closed}", expect({"moderator", "official"})),
        Case("/moderation/consultations/{draft}", DRAFT_LOGIN),
    ],
    ("/moderation/opinions/<int:opinion_id>/hide", "POST"): [
        Case(
            "/moderation/opinions/{closed_opinion}/hide",
            expect({"moderator"}),
            {"reason": "Lời lẽ xúc phạm"},
        )
    ],
    ("/moderation/opinions/<int:opinion_id>/restore", "POST"): [
        Case("/moderation/opinions/{closed_opinion}/restore", expect({"moderator"}), {})
    ],
    ("/moderation/opinions/<int:opinion_id>/response", "POST"): [
        Case(
            "/moderation/opinions/{closed_opinion}/response",
            expect({"moderator", "official"}),
            {"outcome": "noted", "explanation": "Ghi nhận"},
        )
    ],
    ("/moderation/responses", "POST"): [
        Case(
            "/moderation/responses",
            expect({"moderator", "official"}),
            {"opinion_ids": "{closed_opinion}", "outcome": "noted", "explanation": "Ghi nhận"},
        )
    ],
    # --- alike opinions (issue 16) ---
    # A group of two opinions in the closed consultation (_seed_targets); the groups and their
    # answer as the consultation's moderation page, removing and merging its moderators' (empty
    # forms: 400; a second answer while the first is recorded: 409).
    ("/moderation/consultations/<int:consultation_id>/groups", "GET"): [
        Case("/moderation/consultations/{closed}/groups", expect({"moderator", "official"})),
        Case(
            "/moderation/consultations/{closed}/groups?campaign=1&whole=1&page=2",
            expect({"moderator", "official"}),
        ),
        Case("/moderation/consultations/{draft}/groups", DRAFT_LOGIN),
    ],
    ("/moderation/groups/<int:group_id>", "GET"): [
        Case("/moderation/groups/{closed_group}", expect({"moderator", "official"}))
    ],
    ("/moderation/groups/<int:group_id>/opinions/<int:opinion_id>/remove", "POST"): [
        Case(
            "/moderation/groups/{closed_group}/opinions/{closed_opinion}/remove",
            expect({"moderator"}),
            {},
        )
    ],
    ("/moderation/groups/<int:group_id>/merge", "POST"): [
        Case("/moderation/groups/{closed_group}/merge", expect({"moderator"}), {}),
        Case(
            "/moderation/groups/{closed_group}/merge",
            expect({"moderator"}),
            {"other_group": "{closed_group}"},
        ),
    ],
    ("/moderation/groups/<int:group_id>/response", "POST"): [
        Case("/moderation/groups/{closed_group}/response", expect({"moderator", "official"}), {}),
        Case(
            "/moderation/groups/{closed_group}/response",
            expect({"moderator", "official"}),
            {"outcome": "noted", "explanation": "Ghi nhận"},
        ),
    ],
    # --- the record, reviews, downloads of opinions -----------------------------------------------
    ("/consultations/<int:consultation_id>/record", "GET"): [
        Case("/consultations/{closed}/record", expect(STAFF)),
        Case("/consultations/{concluded}/record", EVERYONE),
        Case("/consultations/{draft}/record", DRAFT),  # the officials' 409
    ],
    ("/consultations/<int:consultation_id>/record.<any(docx, pdf):fmt>", "GET"): [
        Case("/consultations/{concluded}/record.pdf", EVERYONE),
        Case("/consultations/{concluded}/record.docx", EVERYONE),
        Case("/consultations/{closed}/record.pdf", expect(STAFF)),
        Case("/consultations/{closed}/record.docx", expect(STAFF)),
        Case("/consultations/{draft}/record.docx", DRAFT),  # the officials' 409
    ],
    ("/consultations/<int:consultation_id>/record/publish", "POST"): [
        Case("/consultations/{closed}/record/publish", expect({"moderator"}), {"conclusion": ""}),
        Case("/consultations/{draft}/record/publish", DRAFT_NOT_THIS, {"conclusion": ""}),
    ],
    ("/consultations/<int:consultation_id>/reviews", "GET"): [
        Case("/consultations/{closed}/reviews", expect(STAFF)),
        Case("/consultations/{draft}/reviews", DRAFT_LOGIN),
    ],
    ("/consultations/<int:consultation_id>/reviews", "POST"): [
        Case("/consultations/{closed}/reviews", expect({"reviewer"}), {"body": ""}),
        Case("/consultations/{draft}/reviews", DRAFT_NOT_THIS, {"body": ""}),
    ],
    # The signed review: the locality's staff until the record is published, then everyone.
    ("/reviews/<int:review_id>/attachment", "GET"): [
        Case("/reviews/{closed_review}/attachment", expect(STAFF)),
        Case("/reviews/{concluded_review}/attachment", EVERYONE),
    ],
    # Every opinion, hidden and withdrawn ones too: the locality's staff.
    (EXPORT, "GET"): [
        *(
            Case(f"/consultations/{{closed}}/export.{fmt}", expect(STAFF))
            for fmt in ("csv", "xlsx", "json", "docx", "pdf")
        ),
        Case("/consultations/{draft}/export.csv", DRAFT_LOGIN),
        Case("/consultations/{draft}/export.xlsx", DRAFT_LOGIN),
    ],
    # An export made by a job (exportjobs/): its progress and its retry, as the export itself.
    (EXPORT + "/retry", "POST"): [
        Case("/consultations/{closed}/export.pdf/retry", expect(STAFF), {}),
        Case("/consultations/{draft}/export.pdf/retry", DRAFT_LOGIN, {}),
    ],
    (EXPORT_PROGRESS, "GET"): [
        Case("/consultations/{closed}/exports/pdf/progress", expect(STAFF)),
        Case("/consultations/{draft}/exports/csv/progress", DRAFT_LOGIN),
    ],
    # --- the audit trail: reviewers and admins of the locality ----------------------------------
    ("/audit/", "GET"): [Case("/audit/?locality=00004", expect({"reviewer", "admin"}))],
    ("/audit/export.csv", "GET"): [
        Case("/audit/export.csv?locality=00004", expect({"reviewer", "admin"})),
        Case("/audit/export.csv", expect({"reviewer", "admin"})),
    ],
    # --- the outbox of mail: admins only ----------------------------------------------------------
    ("/admin/mail", "GET"): [Case("/admin/mail", expect({"admin"}))],
    ("/admin/mail/<int:message_id>/send", "POST"): [
        Case("/admin/mail/{outbox_message}/send", expect({"admin"}), {})
    ],
    # --- following and notifications: anyone logged in; a draft is not followed (409) ------------
    ("/consultations/<int:consultation_id>/follow", "POST"): [
        Case("/consultations/{open}/follow", LOGGED_IN, {}),
        Case("/consultations/{draft}/follow", DRAFT_LOGIN, {}),
    ],
    ("/consultations/<int:consultation_id>/unfollow", "POST"): [
        Case("/consultations/{open}/unfollow", LOGGED_IN, {}),
        Case("/consultations/{draft}/unfollow", DRAFT_LOGIN, {}),
    ],
    ("/localities/<code>/follow", "POST"): [Case("/localities/00004/follow", LOGGED_IN, {})],
    ("/localities/<code>/unfollow", "POST"): [Case("/localities/00004/unfollow", LOGGED_IN, {})],
    ("/me/following", "GET"): [Case("/me/following", LOGGED_IN)],
    ("/me/notifications", "GET"): [Case("/me/notifications", LOGGED_IN)],
    ("/me/notifications/read", "POST"): [Case("/me/notifications/read", LOGGED_IN, {})],
    ("/me/notifications/settings", "GET"): [Case("/me/notifications/settings", LOGGED_IN)],
    ("/me/notifications/settings", "POST"): [Case("/me/notifications/settings", LOGGED_IN, {})],
    # The signed link of a notification mail is the key: no login (RFC 8058 one-click).
    ("/unsubscribe/<token>", "GET"): [Case("/unsubscribe/{unsubscribe_token}", EVERYONE)],
    ("/unsubscribe/<token>", "POST"): [Case("/unsubscribe/{unsubscribe_token}", EVERYONE, {})],
}

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def _routes() -> list[tuple[str, str]]:
    """(rule, method) for every rule of the application but ``static``."""
    app = create_app(
        {
            "TESTING": True,
            "QUEUE_IMMEDIATE": True,
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
        }
    )
    return sorted(
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - IGNORED_METHODS
    )


def pytest_generate_tests(metafunc):
    if metafunc.function is not test_route_by_role:
        return
    params = []
    for rule, method in _routes():
        cases = MATRIX.get((rule, method))
        if cases is None:  # reported by the test, under the rule's own name
            params.append(pytest.param(rule, method, None, id=f"{method} {rule}"))
            continue
        params += [
            pytest.param(rule, method, case, id=f"{method} {case.url}" + (f" #{i}" if i else ""))
            for i, case in enumerate(cases)
        ]
    metafunc.parametrize(("rule", "method", "case"), params)


def test_every_entry_names_a_route():
    stale = sorted(set(MATRIX) - set(_routes()))
    assert not stale, "MATRIX has entries for routes the application no longer has: " + ", ".join(
        f"{m} {r}" for r, m in stale
    )


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


# --- the seeded database, once for the module ------------------------------------------------------


def _upload(app, world, consultation_id: int) -> int:
    """An attachment added through the officials' form."""
    client = app.test_client()
    _login(client, world, "official")
    response = client.post(
        f"/consultations/{consultation_id}/attachments",
        data={"file": (io.BytesIO(PDF), "ban-do.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.status_code
    with app.app_context():
        return db.session.scalar(
            sa.select(Attachment.id).where(Attachment.consultation_id == consultation_id)
        )


def _seed_targets(app, world) -> dict:

    make = Maker(app, world)
    ids = {
        "draft": make.consultation("draft"),
        "open": make.consultation("open"),
        "closed": make.consultation("closed"),
    }
    ids["opinion"] = make.opinion(ids["open"], who="resident")
    ids["closed_opinion"] = make.opinion(ids["closed"], who="resident")
    # Alike opinions (issue 16): a group of two in the closed consultation, made directly.
    alike_pair = [ids["closed_opinion"], make.opinion(ids["closed"], who="reviewer")]
    with app.app_context():
        from alike.models import OpinionAlike, OpinionGroup

        group = OpinionGroup(consultation_id=ids["closed"], representative_id=alike_pair[0], size=2)
        db.session.add(group)
        db.session.flush()
        for oid in alike_pair:
            row = db.session.get(OpinionAlike, oid) or OpinionAlike(
                opinion_id=oid, consultation_id=ids["closed"], text_key=f"k{oid}", signature=b""
            )
            row.group_id = group.id
            db.session.add(row)
        db.session.flush()
        db.session.execute(  # what the grouping may have made of them is replaced
            sa.delete(OpinionGroup).where(
                OpinionGroup.consultation_id == ids["closed"], OpinionGroup.id != group.id
            )
        )
        db.session.commit()
        ids["closed_group"] = group.id
    concluded = make.consultation("closed")
    ids["concluded_opinion"] = make.opinion(concluded, who="resident")
    ids["open_attachment"] = _upload(app, world, ids["open"])
    # Household votes (issue 15): decide consultations, open and closed, and a household of the
    # first village whose representative is the resident.
    ids["decide_draft"] = make.consultation("draft", kind="decide")
    ids["decide_open"] = make.consultation("open", kind="decide")
    ids["decide_closed"] = make.consultation("closed", kind="decide")
    with app.app_context():
        from households.models import Household

        household = Household(
            locality_id=world.village_ids[0],
            code="H001",
            representative_name="Nguyễn Văn Hộ",
            address="Số 1, tổ dân phố số 1",
            representative_id=world.ids["resident"],
        )
        db.session.add(household)
        db.session.commit()
        ids["household"] = household.id
        for key in ("decide_draft", "decide_open", "decide_closed"):
            ids[f"{key}_section"] = db.session.scalar(
                sa.select(sa.func.min(Section.id)).where(
                    Section.consultation_id == ids[key], Section.heading != ""
                )
            )
    ids["draft_attachment"] = _upload(app, world, ids["draft"])
    with app.test_request_context():
        from werkzeug.datastructures import FileStorage

        from auth import email as auth_email
        from auth.models import User
        from consultations.models import Consultation, Outcome
        from consultations.record import publish_record
        from moderation.services import respond
        from records.services import add_review

        reviewer = db.session.get(User, world.ids["reviewer"])
        for key, cid in (("closed_review", ids["closed"]), ("concluded_review", concluded)):
            review = add_review(
                db.session.get(Consultation, cid),
                by=reviewer,
                body="Ủy ban MTTQ phường đồng thuận với dự thảo.",
                attachment=FileStorage(
                    io.BytesIO(PDF), filename="phan-bien.pdf", content_type="application/pdf"
                ),
            )
            db.session.flush()
            ids[key] = review.id
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
        ids["verify_token"] = auth_email.make_verify_token(
            db.session.get(User, world.ids["unverified"])
        )
        from notifications.mailing import unsubscribe_token

        ids["unsubscribe_token"] = unsubscribe_token(world.ids["resident"], "closing_soon")
        ids["reset_token"] = auth_email.make_reset_token(
            db.session.get(User, world.ids["resident"])
        )
        assert all(
            db.session.get(Review, ids[k]).attachment_stored
            for k in ("closed_review", "concluded_review")
        )
    ids["concluded"] = concluded
    with app.app_context():
        ids["tracking"] = db.session.get(Opinion, ids["opinion"]).tracking_number
        # A number that names no opinion the public may see.
        ids["draft_tracking"] = "YK-1999-000001"
        # A receipt in the outbox (every opinion posted online writes one).
        ids["outbox_message"] = db.session.scalar(sa.select(sa.func.min(OutboxMessage.id)))
    return ids


def _sqlite(folder) -> tuple[str, dict]:
    return f"sqlite:///{folder / 'test.sqlite'}", {}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """A database with the world and the targets, its uploads, and the key that signed them."""
    folder = tmp_path_factory.mktemp("matrix")
    key = "test-" + secrets.token_hex(8)
    app = new_app(_sqlite(folder), folder, SECRET_KEY=key)
    world = seed_world(app)
    ids = _seed_targets(app, world)
    dispose(app)
    return folder, key, world, ids


@pytest.fixture
def site(seeded, tmp_path):
    """A copy of the seeded database and files for one case: (app, world, ids)."""
    folder, key, world, ids = seeded
    for name in ("test.sqlite", "test.sqlite-wal"):
        if (folder / name).exists():
            shutil.copy(folder / name, tmp_path / name)
    shutil.copytree(folder / "uploads", tmp_path / "uploads")
    app = new_app(_sqlite(tmp_path), tmp_path, SECRET_KEY=key)
    yield app, world, ids
    dispose(app)


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


def test_route_by_role(request, rule, method, case):
    if case is None:
        pytest.fail(
            f"{method} {rule} has no entry in MATRIX (tests/test_permissions_matrix.py): "
            f"add ({rule!r}, {method!r}) with the expected answer for each of {ALL}"
        )
    app, world, targets = request.getfixturevalue("site")
    path = case.url.format(**targets)
    matched, _ = app.url_map.bind("localhost").match(
        path.split("?")[0], method=method, return_rule=True
    )
    assert matched.rule == rule, f"{case.url} is answered by {matched.rule}, not {rule}"
    got = {}
    # Refused roles first: an allowed action may change the state for the next role (409 is
    # still "allowed", since the permission check comes before the state check).
    for role in sorted(ALL, key=lambda r: case.expected[r] == "ok"):
        client = app.test_client()
        _login(client, world, role)
        if method == "GET":
            response = client.get(path)
        else:
            form = {
                k: (v.format(**targets) if isinstance(v, str) else v)
                for k, v in (case.data or {}).items()
            }
            response = client.post(path, data=form)
        got[role] = classify(response)
        response.close()  # a file sent from disk keeps it open until then
    assert got == case.expected, got
