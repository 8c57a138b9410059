"""E-mail templates: a subject line, text and HTML, the recipient's language, sent after commit.

Every kind of message is produced here through the code that really sends it, and each must
open "Kính gửi ông/bà <name>,", close "Trân trọng," with the issuing body's name, address and
telephone, link to the notification choices, and use the one HTML layout.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select
from support import outbox

from auth import email as auth_email
from auth import services as accounts
from auth.models import User
from consultations.models import Opinion
from core.extensions import db
from infra import mail
from localities.models import Locality
from localities.names import commune_of
from moderation import services as moderation

ADDRESS = "Khu phố 2, xã Cam Lộ, tỉnh Quảng Trị"
PHONE = "0233 3871 234"
COMMITTEE = "Ủy ban nhân dân xã Cam Lộ"
PREFERENCES = "http://localhost/me/account#consents"
#: The marker every HTML message carries when it is built on templates/email/_layout.html.
LAYOUT = 'data-layout="email/_layout"'
KINDS = (
    "verify",
    "account_exists",
    "reset",
    "password_changed",
    "account_deleted",
    "opinion_receipt",
    "opinion_hidden",
    "opinion_restored",
    "opinion_answered",
    "generic",
)
#: Messages about a consultation or an opinion: signed by the consultation's commune.
ABOUT_OPINIONS = ("opinion_receipt", "opinion_hidden", "opinion_restored", "opinion_answered")


@pytest.fixture
def cam_lo(app, world):
    """The world's commune as "Xã Cam Lộ", with the People's Committee's address and phone."""
    with app.app_context():
        commune = db.session.get(Locality, world.commune_id)
        commune.name, commune.address, commune.phone = "Xã Cam Lộ", ADDRESS, PHONE
        db.session.commit()
    return world


def _send_every_kind(app, world, make, locale: str) -> dict[str, dict]:
    """One message of each kind to the resident (who lives in a village of Xã Cam Lộ), each
    through the function that sends it in the application, keyed by template."""
    sent: dict[str, dict] = {}

    def take(kind: str) -> None:
        messages = outbox(app)
        assert len(messages) == len(sent) + 1, kind
        sent[kind] = messages[-1]

    with app.app_context():
        resident = db.session.get(User, world.ids["resident"])
        resident.locale = locale
        resident.full_name = "Nguyễn Thị Lan"
        db.session.commit()
    for kind, send in (
        ("verify", auth_email.send_verification),
        ("account_exists", auth_email.send_account_exists),
        ("reset", auth_email.send_reset),
        ("password_changed", auth_email.send_password_changed),
    ):
        with app.test_request_context():
            send(db.session.get(User, world.ids["resident"]))
            db.session.commit()
        take(kind)
    cid = make.consultation("open")
    op_id = make.opinion(cid, who="resident", body="Đề nghị mở rộng ngõ.")
    take("opinion_receipt")
    with app.test_request_context():
        moderator = db.session.get(User, world.ids["moderator"])
        moderation.hide_opinion(db.session.get(Opinion, op_id), by=moderator, reason="Xúc phạm")
        db.session.commit()
    take("opinion_hidden")
    with app.test_request_context():
        moderator = db.session.get(User, world.ids["moderator"])
        moderation.restore_opinion(db.session.get(Opinion, op_id), by=moderator)
        db.session.commit()
    take("opinion_restored")
    with app.test_request_context():
        moderator = db.session.get(User, world.ids["moderator"])
        moderation.respond(
            [db.session.get(Opinion, op_id)],
            by=moderator,
            outcome="accepted",
            explanation="Tiếp thu, sẽ mở rộng ngõ.",
        )
        db.session.commit()
    take("opinion_answered")
    with app.test_request_context():
        resident = db.session.get(User, world.ids["resident"])
        mail.queue(
            "generic",
            to=resident.email,
            locale=resident.locale,
            user=resident,
            subject="Thông báo",
            paragraphs=["Dòng một"],
        )
        db.session.commit()
    take("generic")
    with app.test_request_context():
        accounts.delete_account(db.session.get(User, world.ids["resident"]))
        db.session.commit()
    take("account_deleted")
    assert set(sent) == set(KINDS)
    return sent


def test_every_message_in_vietnamese_greets_by_name_and_is_signed_by_the_commune(app, cam_lo, make):
    sent = _send_every_kind(app, cam_lo, make, "vi")
    for kind, message in sent.items():
        text, html = message["text"], message["html"]
        assert text.splitlines()[0] == "Kính gửi ông/bà Nguyễn Thị Lan,", kind
        assert "<p>Kính gửi ông/bà Nguyễn Thị Lan,</p>" in html, kind
        # "Trân trọng," then the committee, its address and telephone, one per line.
        signature = f"Trân trọng,\n{COMMITTEE}\nĐịa chỉ: {ADDRESS}\nĐiện thoại: {PHONE}\n"
        assert signature in text, kind
        assert re.search(
            rf"Trân trọng,</p>\s*<p[^>]*><strong>{COMMITTEE}</strong><br>Địa chỉ: {ADDRESS}"
            rf"<br>Điện thoại: {PHONE}</p>",
            html,
        ), kind
        assert "không trả lời" not in text + html, kind  # never a bare "do not reply"
        assert "Hello" not in text, kind
        assert "Dear" not in text, kind
        # One layout, with the language, a real heading (the subject) and the issuing body.
        assert LAYOUT in html, kind
        assert '<html lang="vi">' in html, kind
        assert re.search(r"<h1[^>]*>" + re.escape(message["subject"]) + "</h1>", html), kind
        if kind == "account_deleted":
            continue  # the account is gone: nothing is left to choose (below)
        assert PREFERENCES in text, kind
        assert f'<a href="{PREFERENCES}"' in html, kind
        assert f">{PREFERENCES}</a>" in html, kind  # the address written out too
        assert "thay đổi việc nhận thư điện tử" in text, kind


def test_the_last_message_says_no_more_mail_comes_instead_of_linking_to_an_erased_account(
    app, cam_lo, make
):
    message = _send_every_kind(app, cam_lo, make, "vi")["account_deleted"]
    assert "/me/account" not in message["text"] + message["html"]
    assert "sẽ không nhận thêm thư điện tử nào" in message["text"]
    assert "sẽ không nhận thêm thư điện tử nào" in message["html"]


def test_every_message_in_english_stays_english_with_the_same_signature(app, cam_lo, make):
    sent = _send_every_kind(app, cam_lo, make, "en")
    for kind, message in sent.items():
        text, html = message["text"], message["html"]
        assert text.splitlines()[0] == "Dear Nguyễn Thị Lan,", kind
        assert (
            f"Yours faithfully,\n{COMMITTEE}\nAddress: {ADDRESS}\nTelephone: {PHONE}\n" in text
        ), kind
        assert '<html lang="en">' in html, kind
        assert LAYOUT in html, kind
        assert "Kính gửi" not in text + html, kind
        assert "Trân trọng" not in text + html, kind
        if kind != "account_deleted":
            assert f"notification choices:\n{PREFERENCES}" in text, kind


def test_mail_about_a_consultation_is_signed_by_its_commune_not_the_residents(app, cam_lo, make):
    with app.app_context():
        other = db.session.get(Locality, cam_lo.other_commune_id)
        other.address = "Số 1 phố Ngọc Hà"  # no telephone: only what is set is printed
        resident = db.session.get(User, cam_lo.ids["resident"])
        resident.locale = "vi"
        db.session.commit()
    cid = make.consultation("open", locality_id=cam_lo.other_commune_id)
    make.opinion(cid, who="resident")
    [message] = outbox(app)
    assert (
        "Trân trọng,\nỦy ban nhân dân phường Ngọc Hà\nĐịa chỉ: Số 1 phố Ngọc Hà\n\n"
        in message["text"]
    )
    assert "Điện thoại" not in message["text"]
    assert "Điện thoại" not in message["html"]
    assert COMMITTEE not in message["text"]


def test_account_mail_without_a_commune_is_signed_by_the_operator(app, cam_lo):
    app.config.update(
        OPERATOR_NAME="Trung tâm Chuyển đổi số tỉnh Quảng Trị", OPERATOR_PHONE="0233 3500 500"
    )
    with app.test_request_context():
        resident = db.session.get(User, cam_lo.ids["resident"])
        resident.locality, resident.locale = None, "vi"
        auth_email.send_reset(resident)
        db.session.commit()
    [message] = outbox(app)
    assert (
        "Trân trọng,\nTrung tâm Chuyển đổi số tỉnh Quảng Trị\nĐiện thoại: 0233 3500 500\n"
        in message["text"]
    )
    assert "Địa chỉ" not in message["text"]
    assert "thay mặt" not in message["text"]  # "on behalf of" names a committee only


def test_the_commune_is_found_from_a_village_and_after_a_merge(app, cam_lo):
    with app.app_context():
        village = db.session.get(Locality, cam_lo.village_ids[0])
        assert commune_of(village).id == cam_lo.commune_id
        old = db.session.get(Locality, cam_lo.other_commune_id)
        old.merged_into_id = cam_lo.commune_id
        db.session.commit()
        assert commune_of(old).id == cam_lo.commune_id
        province = db.session.scalar(select(Locality).where(Locality.code == "01"))
        assert commune_of(province) is None
        assert commune_of(None) is None


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(fg: str, bg: str) -> float:
    high, low = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_every_text_colour_of_every_message_reaches_aa_contrast(app, cam_lo, make):
    sent = _send_every_kind(app, cam_lo, make, "vi")
    for kind, message in sent.items():
        for style in re.findall(r'style="([^"]*)"', message["html"]):
            colour = re.search(r"(?:^|;)\s*color:\s*#([0-9a-f]{6})", style, re.I)
            if not colour:
                continue
            background = re.search(r"background(?:-color)?:\s*#([0-9a-f]{6})", style, re.I)
            bg = background.group(1) if background else "ffffff"  # the message's own background
            assert _contrast(colour.group(1), bg) >= 4.5, (kind, style)


def test_every_template_is_on_the_one_layout_and_the_one_signature():
    folder = Path(__file__).parent.parent / "templates" / "email"
    messages = sorted(p for p in folder.glob("*.html") if not p.name.startswith("_"))
    assert len(messages) >= len(KINDS)
    for html in messages:
        assert html.read_text(encoding="utf-8").startswith('{% extends "email/_layout.html" %}'), (
            html.name
        )
        text = html.with_suffix(".txt").read_text(encoding="utf-8")
        assert '{% include "email/_greeting.txt" %}' in text, html.name
        assert text.rstrip().endswith('{% include "email/_signature.txt" %}'), html.name


def test_generic_template_renders_text_and_html(app):
    with app.test_request_context():
        message = mail.render(
            "generic",
            to="a@example.vn",
            locale="vi",
            subject="Thông báo",
            name="Lan",
            paragraphs=["Dòng một <b>", "Dòng hai"],
            link="http://localhost/x",
            link_text="Mở",
        )
    assert message.subject == "Thông báo"
    assert message.text.splitlines()[0] == "Kính gửi ông/bà Lan,"  # the recipient's language
    assert "Dòng một <b>" in message.text
    assert "http://localhost/x" in message.text
    assert "Dòng một &lt;b&gt;" in message.html
    assert 'href="http://localhost/x"' in message.html
    assert '<html lang="vi">' in message.html


def test_a_name_is_escaped_in_the_html(app):
    with app.test_request_context():
        message = mail.render(
            "generic", to="a@example.vn", locale="vi", subject="x", name="<b>Lan</b>"
        )
    assert "&lt;b&gt;Lan&lt;/b&gt;" in message.html
    assert "<b>Lan</b>" not in message.html


def test_mail_uses_the_recipients_language(app, client, world):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "resident@example.vn"))
        user.locale = "en"
        db.session.commit()
    client.post("/auth/reset", data={"email": "resident@example.vn"})
    [message] = outbox(app)
    assert '<html lang="en">' in message["html"]


def test_nothing_is_sent_when_the_transaction_rolls_back(app, world):
    with app.test_request_context():
        user = db.session.scalar(select(User).where(User.email == "resident@example.vn"))
        user.display_name = "Changed"
        mail.queue("generic", to="a@example.vn", subject="x", paragraphs=["y"])
        db.session.rollback()
        db.session.commit()
    assert outbox(app) == []
