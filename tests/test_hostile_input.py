"""Random and hostile text in every form field and query parameter.

Whatever arrives (RTL overrides, zero-width characters, NUL, SQL and HTML fragments, huge
values): never a server error, nothing half stored when the request is refused, and never our
markup markers unescaped in an HTML page.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import PASSWORD, Client

from core.extensions import db

XSS = '<script>alert("gopy-xss")</script>'
XSS_ATTR = '"><img src=x onerror=alert("gopy-xss")>'
#: Raw markup that must never reach an HTML page unescaped.
MARKERS = ('<script>alert("gopy-xss")', "<img src=x onerror=")

FRAGMENTS = [
    XSS,
    XSS_ATTR,
    "'; DROP TABLE opinion; --",
    "' OR '1'='1",
    "1 UNION SELECT email FROM user --",
    "\u202egnp.exe",
    "\u200f\u200e\u202a\u202b\u202c\u2066\u2069",
    "\u200b\u200c\u200d\ufeff",
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "\r\n\r\nSet-Cookie: pwned=1",
    "{{ 7*7 }}",
    "{% include 'base.html' %}",
    "%s%s%n%x",
    "../../../../etc/passwd",
    "javascript:alert(1)",
    "//evil.example",
    "https://evil.example/",
    "😀" * 20,
    "Điều 1. Đất đai\nĐiều 2. Xây dựng",
    "e\u0301\u0301\u0301\u0301",
    "ﷺ" * 30,
    "",
    " ",
    "\t\n",
    "0",
    "-1",
    "9" * 40,
    "1e309",
    "NaN",
    "2026-02-30",
    "2026-12-31",
    "9999-99-99",
    "agree",
    "disagree",
    "suggest",
    "meeting",
    "paper",
    "online",
    "accepted",
    "comment",
    "land",
    "open",
    "00004",
    "00004-T1",
    "resident@example.vn",
    "a@b",
    "A" * 6000,
]
PAYLOAD = st.one_of(
    st.sampled_from(FRAGMENTS),
    st.text(max_size=120),
    st.builds(
        lambda a, b, c: a + b + c,
        st.text(max_size=40),
        st.sampled_from(FRAGMENTS),
        st.text(max_size=40),
    ),
)
SETTINGS = settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def table_counts() -> dict[str, int]:
    return {
        t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t))
        for t in db.metadata.sorted_tables
    }


def check_page(response) -> None:
    assert response.status_code < 500, response.status_code
    if response.mimetype == "text/html":
        text = response.get_data(as_text=True)
        for marker in MARKERS:
            assert marker not in text, f"unescaped {marker!r} in {response.request.path}"


class Scene:
    """The world, a consultation and opinions, and a logged-in client per role, made once per test."""

    def __init__(self, app, world, make):
        self.app, self.world = app, world
        self.cid = make.consultation("open")
        self.draft_id = make.consultation("draft", title="Dự thảo chưa mở")
        self.own_opinion = make.opinion(self.cid, who="resident", body="Ý kiến của tôi")
        self.other_opinion = make.opinion(self.cid, who="reviewer", body="Ý kiến người khác")
        with app.app_context():
            from consultations.models import Section

            self.section_id = db.session.scalar(
                sa.select(Section.id).where(Section.consultation_id == self.cid).limit(1)
            )
        self.clients: dict[str, Client] = {}

    def client(self, who: str) -> Client:
        if who not in self.clients:
            client = self.app.test_client()
            if who != "anonymous":
                response = client.post(
                    "/auth/login", data={"email": self.world.email(who), "password": PASSWORD}
                )
                assert response.status_code == 302
            self.clients[who] = client
        return self.clients[who]

    def path(self, template: str) -> str:
        return template.format(
            cid=self.cid,
            draft=self.draft_id,
            own=self.own_opinion,
            other=self.other_opinion,
            section=self.section_id,
        )

    def post(self, who: str, template: str, data: dict) -> None:
        client = self.client(who)  # logging in stores a login session: before the snapshot
        with self.app.app_context():
            before = table_counts()
        response = client.post(self.path(template), data=data)
        check_page(response)
        if response.status_code >= 400:
            with self.app.app_context():
                assert table_counts() == before, (
                    f"refused {template} ({response.status_code}) changed the data"
                )

    def get(self, who: str, path: str) -> None:
        check_page(self.client(who).get(path))


@pytest.fixture
def scene(app, world, make) -> Scene:
    return Scene(app, world, make)


#: (who, path, fields): every form of the application.
FORMS = [
    (
        "anonymous",
        "/auth/register",
        ["email", "password", "full_name", "display_name", "locality", "consent", "notifications"],
    ),
    ("anonymous", "/auth/login", ["email", "password"]),
    ("anonymous", "/auth/reset", ["email"]),
    ("anonymous", "/auth/language", ["lang", "next"]),
    (
        "official",
        "/consultations/new",
        [
            "title",
            "summary",
            "kind",
            "category",
            "locality",
            "opens_at",
            "closes_at",
            "text",
            "legal_basis",
            "meetings",
        ],
    ),
    (
        "official",
        "/consultations/{draft}/edit",
        [
            "title",
            "summary",
            "kind",
            "category",
            "locality",
            "opens_at",
            "closes_at",
            "text",
            "legal_basis",
            "meetings",
        ],
    ),
    ("official", "/consultations/{draft}/sections/{section}/edit", ["heading", "text"]),
    ("official", "/consultations/{cid}/extend", ["closes_at"]),
    (
        "official",
        "/consultations/{cid}/opinions",
        ["body", "stance", "section_id", "channel", "contributor_name", "received_at"],
    ),
    ("resident", "/consultations/{cid}/opinions", ["body", "stance", "section_id"]),
    ("resident", "/opinions/{own}/edit", ["body", "stance"]),
    ("resident", "/opinions/{other}/flag", ["reason"]),
    ("moderator", "/moderation/opinions/{own}/hide", ["reason", "next"]),
    (
        "moderator",
        "/moderation/opinions/{other}/response",
        ["outcome", "explanation", "summary", "next"],
    ),
    (
        "moderator",
        "/moderation/responses",
        ["opinion_ids", "outcome", "explanation", "summary", "next"],
    ),
    (
        "moderator",
        "/consultations/{cid}/record/publish",
        ["conclusion", "signer_name", "signer_title"],
    ),
    ("reviewer", "/consultations/{cid}/reviews", ["body"]),
    ("resident", "/me/account", ["full_name", "display_name", "locality", "locale"]),
    ("resident", "/me/account/password", ["pw-current_password", "pw-password", "pw-confirm"]),
    ("resident", "/me/account/consent", ["purpose", "action"]),
]


def _form_example(forms):
    return st.sampled_from(forms).flatmap(
        lambda form: st.tuples(
            st.just(form), st.fixed_dictionaries(dict.fromkeys(form[2], PAYLOAD))
        )
    )


@settings(SETTINGS, max_examples=8 * len(FORMS))
@given(example=_form_example(FORMS))
def test_hostile_form_posts(scene, example):
    (who, template, _fields), values = example
    scene.post(who, template, values)


#: (who, path, query parameters)
QUERIES = [
    ("anonymous", "/", ["q", "status", "locality", "category", "page"]),
    ("anonymous", "/api/v1/consultations", ["q", "status", "locality", "category", "page"]),
    ("anonymous", "/api/v1/consultations/{cid}/opinions", ["page", "section_id", "stance"]),
    ("anonymous", "/consultations/{cid}", ["page", "section"]),
    ("anonymous", "/auth/login", ["next"]),
    ("anonymous", "/auth/register", ["locality"]),
    ("moderator", "/moderation/", ["consultation", "status", "stance", "flagged", "page", "q"]),
    ("moderator", "/moderation/consultations/{cid}", ["status", "stance", "section", "page"]),
    ("reviewer", "/audit/", ["locality", "action", "page"]),
    ("resident", "/me/opinions", ["page"]),
    ("resident", "/me/data", ["format"]),
]


@settings(SETTINGS, max_examples=8 * len(QUERIES))
@given(example=_form_example(QUERIES))
def test_hostile_query_parameters(scene, example):
    (who, template, _params), values = example
    scene.get(who, scene.path(template) + "?" + urlencode(values))


@SETTINGS
@given(token=PAYLOAD)
def test_hostile_path_segments(scene, token):
    segment = quote(token, safe="") or "x"
    for path in (f"/auth/verify/{segment}", f"/auth/reset/{segment}", f"/localities/{segment}"):
        scene.get("anonymous", path)
    scene.post("anonymous", f"/auth/reset/{segment}", {"password": token, "confirm": token})


def test_invalid_utf8_and_odd_encodings(scene):
    client = scene.client("resident")
    token = client.csrf_token()
    for raw in (
        b"body=%FF%FE%00&stance=agree",
        b"body=\xff\xfe\xfd&stance=agree",
        b"body=%C0%AF&stance=%E2%80%AE",
    ):
        response = client.post(
            scene.path("/consultations/{cid}/opinions"),
            data=raw + b"&csrf_token=" + token.encode(),
            content_type="application/x-www-form-urlencoded",
        )
        check_page(response)
    response = client.post(
        scene.path("/consultations/{cid}/opinions"),
        data=b"\x00\x01garbage",
        content_type="multipart/form-data; boundary=zzz",
    )
    check_page(response)
    assert response.status_code == 400


@pytest.mark.parametrize("size", [10 * 1024 * 1024, 13 * 1024 * 1024])
def test_ten_megabyte_bodies_are_refused_cleanly(scene, size):
    for who in ("resident", "anonymous", "official"):
        scene.client(who)  # logged in (a login session each) before the snapshot
    with scene.app.app_context():
        before = table_counts()
    for who, template, field in (
        ("resident", "/consultations/{cid}/opinions", "body"),
        ("anonymous", "/auth/login", "email"),
        ("official", "/consultations/new", "text"),
    ):
        response = scene.client(who).post(
            scene.path(template), data={field: "x" * size, "stance": "agree"}
        )
        check_page(response)
        assert response.status_code in (400, 413), response.status_code
        assert len(response.get_data()) < 1024 * 1024, "the huge value is not echoed back"
    with scene.app.app_context():
        assert table_counts() == before


def test_stored_hostile_text_is_shown_escaped_everywhere(scene, make):
    """Text that passed validation is stored as typed and shown escaped on every page."""
    oid = make.opinion(scene.cid, who="resident", body=f"{XSS}\n\n{XSS_ATTR} \u202e\u200b")
    make.opinion(scene.cid, who="moderator", body="x" + XSS)
    scene.client("resident").post(scene.path("/opinions/{other}/flag"), data={"reason": XSS})
    for who, path in (
        ("anonymous", "/"),
        ("anonymous", f"/consultations/{scene.cid}"),
        ("anonymous", f"/?q={quote(XSS)}"),
        ("moderator", "/moderation/"),
        ("moderator", f"/moderation/consultations/{scene.cid}"),
        ("resident", "/me/opinions"),
        ("reviewer", "/audit/"),
        ("resident", f"/opinions/{oid}/edit"),
    ):
        response = scene.client(who).get(path)
        assert response.status_code == 200, (path, response.status_code)
        check_page(response)
    page = scene.client("anonymous").get(f"/consultations/{scene.cid}").get_data(as_text=True)
    assert "&lt;script&gt;alert(" in page
    api = scene.client("anonymous").get(f"/api/v1/consultations/{scene.cid}/opinions")
    assert api.mimetype == "application/json"
    assert any(XSS in (o.get("body") or "") for o in api.get_json()["items"])


@pytest.mark.postgres
@pytest.mark.parametrize("value", ["a\x00b", "\x00", "x\ud7ff\x1f\x7f"])
def test_nul_and_control_characters_on_every_form(scene, value):
    """PostgreSQL refuses NUL in text: every field must be cleaned or refused before the query."""
    for who, template, fields in FORMS:
        scene.post(who, template, dict.fromkeys(fields, value))
    for who, template, params in QUERIES:
        scene.get(who, scene.path(template) + "?" + urlencode(dict.fromkeys(params, value)))
    segment = quote(value, safe="")
    for path in (f"/localities/{segment}", f"/auth/verify/{segment}", f"/auth/reset/{segment}"):
        scene.get("anonymous", path)


@pytest.mark.postgres
def test_ids_beyond_any_row_are_not_found(app, scene):
    """A number past what an INTEGER column holds, in any route's <int:…>, is a 404 for every
    visitor, not a 500 from PostgreSQL ("integer out of range")."""
    huge = str(2**31)
    paths = []
    for rule in app.url_map.iter_rules():
        ints = [
            name
            for name, conv in rule._converters.items()
            if conv.__class__.__name__ == "IdConverter"
        ]
        if ints and "GET" in rule.methods:
            paths.append(re.sub(r"<int:[^>]+>", huge, rule.rule))
    assert len(paths) > 10
    for who in ("anonymous", "moderator"):
        for path in paths:
            response = scene.client(who).get(path)
            assert response.status_code in (302, 404), (who, path, response.status_code)
    after = scene.client("anonymous").get(
        f"/api/v1/consultations/{scene.cid}/opinions?after={2**63}"
    )
    assert after.status_code == 200


INVISIBLE = "\u200b\u2060\ufeff\u200e"


@pytest.mark.postgres
def test_invisible_text_counts_as_empty(app, scene):
    """An opinion, a close reason or a name of only zero-width characters is refused like an
    empty one, and nothing is stored."""
    resident, official = scene.client("resident"), scene.client("official")  # logged in first
    with app.app_context():
        before = table_counts()
    refused = resident.post(
        f"/consultations/{scene.cid}/opinions", data={"body": INVISIBLE, "stance": "agree"}
    )
    assert refused.status_code == 400
    closing = official.post(f"/consultations/{scene.cid}/close", data={"reason": "\u200b"})
    assert closing.status_code == 400
    with app.app_context():
        assert table_counts() == before
    # Visible text keeps its joiners (emoji) and loses only what nobody sees.
    posted = resident.post(
        f"/consultations/{scene.cid}/opinions",
        data={"body": "Đồng\u200b ý 👨\u200d👩\u200d👧", "stance": "agree"},
    )
    assert posted.status_code == 302
    with app.app_context():
        from consultations.models import Opinion

        body = db.session.scalar(sa.select(Opinion.body).order_by(Opinion.id.desc()).limit(1))
    assert body == "Đồng ý 👨\u200d👩\u200d👧"
