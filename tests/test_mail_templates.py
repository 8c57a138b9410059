"""E-mail templates: a subject line, text and HTML, the recipient's language, sent after commit."""

from __future__ import annotations

from conftest import outbox
from sqlalchemy import select

import mail
from auth.models import User
from extensions import db


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
    assert message.text.splitlines()[0] == "Kính gửi Lan,"  # rendered in the recipient's language
    assert "Dòng một <b>" in message.text
    assert "http://localhost/x" in message.text
    assert "Dòng một &lt;b&gt;" in message.html
    assert 'href="http://localhost/x"' in message.html
    assert '<html lang="vi">' in message.html


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
