"""Mail through the real SendGrid client, against a fake SendGrid on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from support import outbox

from infra import mail

REGISTRATION = {
    "email": "ong.ba@example.vn",
    "password": "Cây-đa-đầu-làng-2026",
    "full_name": "Lê Văn Ba",
    "locality": "00004-T2",
    "consent": "y",
}


class FakeSendGrid:
    def __init__(self):
        self.requests: list[dict] = []
        self.status = 202
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                fake.requests.append(
                    {
                        "path": self.path,
                        "auth": self.headers.get("Authorization"),
                        "json": json.loads(body),
                    }
                )
                self.send_response(fake.status)
                payload = b"" if fake.status < 300 else b'{"errors":[{"message":"down"}]}'
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def sent(self) -> list[dict]:
        return [r for r in self.requests if r["path"] == "/v3/mail/send"]


@pytest.fixture
def fake_sendgrid(monkeypatch):
    fake = FakeSendGrid()
    fake.thread.start()
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.test-key")
    monkeypatch.setenv("SENDGRID_API_HOST", fake.url)
    yield fake
    fake.server.shutdown()
    fake.server.server_close()
    fake.thread.join(timeout=5)


@pytest.fixture
def sg_app(fake_sendgrid, app, world):
    """The app, created after the environment names the fake (fixtures run in this order)."""
    assert app.config["SENDGRID_API_HOST"] == fake_sendgrid.url
    return app


def _failed_dir(app) -> Path:
    return Path(app.config["OUTBOX_DIR"]) / "failed"


def test_registration_mail_goes_through_sendgrid(sg_app, fake_sendgrid, client):
    response = client.post("/auth/register", data=REGISTRATION)
    assert response.status_code == 302
    [request] = fake_sendgrid.sent()
    assert request["auth"] == "Bearer SG.test-key"
    message = request["json"]
    assert message["personalizations"][0]["to"] == [{"email": "ong.ba@example.vn"}]
    assert message["subject"] == "Confirm your e-mail address for Góp ý"
    contents = {c["type"]: c["value"] for c in message["content"]}
    assert "http://localhost/auth/verify/" in contents["text/plain"]
    assert "http://localhost/auth/verify/" in contents["text/html"]
    assert message["from"]["email"] == "no-reply@gopy.local"
    # Nothing went to the outbox folder: the provider took it.
    assert outbox(sg_app) == []


def test_provider_failure_keeps_the_message_for_retry(sg_app, fake_sendgrid, client, runner):
    fake_sendgrid.status = 500
    response = client.post("/auth/register", data=REGISTRATION)
    # The resident's request succeeds all the same.
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/auth/registered")
    assert client.get("/auth/registered").status_code == 200
    assert len(fake_sendgrid.sent()) == 1
    saved = list(_failed_dir(sg_app).glob("*.json"))
    assert len(saved) == 1
    kept = json.loads(saved[0].read_text(encoding="utf-8"))
    assert kept["to"] == "ong.ba@example.vn"
    assert "/auth/verify/" in kept["text"]

    # Still down: the retry keeps it and says so.
    result = runner.invoke(args=["mail", "retry"])
    assert result.exit_code == 1
    assert "0 sent, 1 still failing" in result.output
    assert len(list(_failed_dir(sg_app).glob("*.json"))) == 1

    fake_sendgrid.status = 202
    result = runner.invoke(args=["mail", "retry"])
    assert result.exit_code == 0, result.output
    assert "1 sent, 0 still failing" in result.output
    assert list(_failed_dir(sg_app).glob("*.json")) == []
    last = fake_sendgrid.sent()[-1]["json"]
    assert last["personalizations"][0]["to"] == [{"email": "ong.ba@example.vn"}]
    assert "/auth/verify/" in {c["type"]: c["value"] for c in last["content"]}["text/plain"]


def test_retry_failed_function(sg_app, fake_sendgrid, client):
    fake_sendgrid.status = 503
    client.post("/auth/reset", data={"email": "resident@example.vn"})
    fake_sendgrid.status = 202
    with sg_app.app_context():
        assert mail.retry_failed() == (1, 0)
    assert [r["json"]["subject"] for r in fake_sendgrid.sent()] == [
        "Choose a new password for Góp ý"
    ] * 2
