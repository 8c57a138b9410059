"""The register's pages, the letters from the browser and the representative's link (issue 15)."""

from __future__ import annotations

import io
import subprocess
import threading

import pytest
import sqlalchemy as sa
from support import PASSWORD, new_app

from audit.models import AuditEvent
from core.extensions import db
from households.models import Household
from households.services import issue_keys
from localities.models import Locality

CSV = "code,village_code,representative_name,address\nH001,00004-T1,Nguyễn Văn Ấn,Số 1\n"


def _household(app, world, code="H001", name="Nguyễn Văn Ấn", village=0) -> int:
    with app.app_context():
        h = Household(locality_id=world.village_ids[village], code=code, representative_name=name)
        db.session.add(h)
        db.session.commit()
        return h.id


def _key(app, world, village=0) -> str:
    with app.app_context():
        issued = issue_keys(db.session.get(Locality, world.village_ids[village]), by=None)
        db.session.commit()
        return issued[0][1]


def _get(app, hid) -> Household:
    with app.app_context():
        h = db.session.get(Household, hid)
        db.session.expunge(h)
        return h


def test_register_lists_searches_without_diacritics_and_is_private(app, client, auth, world, en):
    _household(app, world)
    auth.login(world.email("official"))
    page = client.get("/households?q=nguyen+van+an")
    assert page.status_code == 200
    assert "Nguyễn Văn Ấn" in page.text
    assert "H001" in page.text
    assert page.headers["Cache-Control"] == "private, no-store"
    assert 'name="robots" content="noindex' in page.text
    assert "Nguyễn Văn Ấn" not in client.get("/households?q=tran").text


def test_official_of_another_commune_is_refused(app, client, auth, world, en):
    hid = _household(app, world)
    auth.login(world.email("official_other"))
    assert client.get(f"/households/{hid}").status_code == 403
    assert "Nguyễn Văn Ấn" not in client.get("/households").text
    assert client.get("/households?village=00004-T1").status_code == 403


@pytest.mark.postgres
def test_new_and_edit_with_a_duplicate_code_is_a_400_with_the_form_kept(
    app, client, auth, world, en
):
    hid = _household(app, world)
    auth.login(world.email("official"))
    form = {"code": "H001", "village": "00004-T1", "representative_name": "Lê Thị Hoa"}
    response = client.post("/households/new", data=form)
    assert response.status_code == 400
    assert "already exists in this village" in response.text
    assert "Lê Thị Hoa" in response.text
    response = client.post("/households/new", data={**form, "code": "H002", "active": "y"})
    assert response.status_code == 303
    response = client.post(
        f"/households/{hid}/edit", data={"code": "H009", "village": "00004-T1", "active": "y"}
    )
    assert response.status_code == 303
    assert _get(app, hid).code == "H009"
    page = client.get(f"/households/{hid}")
    assert "Changed the household" in page.text
    assert "Former code" in page.text


@pytest.mark.postgres
def test_import_from_the_browser_all_or_nothing(app, client, auth, world, en):
    auth.login(world.email("official"))
    bad = CSV + "H002,00008,Ngoài phường,\n"
    response = client.post(
        "/households/import",
        data={"file": (io.BytesIO(bad.encode()), "ho.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "Line 3" in response.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Household.id))) == 0
    response = client.post(
        "/households/import",
        data={"file": (io.BytesIO(CSV.encode("utf-8-sig")), "ho.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303


def test_letters_from_the_browser(app, client, auth, world, en):
    hid = _household(app, world)
    auth.login(world.email("official"))
    response = client.post("/households/letters", data={"village": "00004-T1"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"])
    assert "Download the letters" in page.text
    pdf_url = response.headers["Location"] + ".pdf"
    auth.logout()
    auth.login(world.email("official_other"))
    assert client.get(pdf_url).status_code == 403  # only the official who asked
    auth.logout()
    auth.login(world.email("official"))
    pdf = client.get(pdf_url)
    assert pdf.status_code == 200
    assert pdf.data.startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf.data, capture_output=True, check=True
    ).stdout.decode()
    assert "H001" in text
    assert _get(app, hid).key_hash is not None
    assert client.get(pdf_url).status_code == 404  # downloaded once, then deleted


@pytest.mark.postgres
def test_link_with_the_key_once(app, client, auth, world, en):
    hid = _household(app, world)
    _household(app, world, code="H001", name="Cùng mã, thôn khác", village=1)
    key = _key(app, world)
    auth.login(world.email("resident"))
    wrong = client.post("/me/household", data={"code": "H001", "key": "AAAA-BBBB-CC"})
    assert wrong.status_code == 400
    assert "do not match" in wrong.text
    assert 'value="H001"' in wrong.text
    assert "AAAA" not in wrong.text
    ok = client.post("/me/household", data={"code": "h001", "key": key.lower().replace("-", " ")})
    assert ok.status_code == 303
    h = _get(app, hid)
    assert h.representative_id == world.ids["resident"]
    assert h.key_hash is None
    page = client.get("/me/household")
    assert "H001" in page.text
    assert "Tổ dân phố số 1" in page.text
    assert "Nguyễn Văn Ấn" not in page.text
    auth.logout()
    auth.login(world.email("admin"))
    again = client.post("/me/household", data={"code": "H001", "key": key})
    assert again.status_code == 400
    with app.app_context():
        assert db.session.scalar(
            sa.select(AuditEvent.id).where(AuditEvent.action == "household.link")
        )


@pytest.mark.postgres
def test_two_people_with_the_same_key_at_once_one_wins(database_url, tmp_path, world, app):
    hid = _household(app, world)
    key = _key(app, world)
    # A second app on the same database: its own engine and sessions, as another worker.
    other = new_app(database_url, tmp_path / "b", SECRET_KEY=app.secret_key)
    clients = []
    for who, a in (("resident", app), ("admin", other)):
        c = a.test_client()
        c.post("/auth/login", data={"email": world.email(who), "password": PASSWORD})
        clients.append(c)
    barrier, codes = threading.Barrier(2), []

    def link(c):
        barrier.wait()
        codes.append(c.post("/me/household", data={"code": "H001", "key": key}).status_code)

    threads = [threading.Thread(target=link, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [303, 400]
    with app.app_context():
        rep = db.session.get(Household, hid).representative_id
        assert rep in (world.ids["resident"], world.ids["admin"])
        assert (
            db.session.scalar(
                sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "household.link")
            )
            == 1
        )
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.postgres
def test_official_links_and_unlinks_with_a_reason(app, client, auth, world, en):
    hid = _household(app, world)
    auth.login(world.email("official"))
    url = f"/households/{hid}/representative"
    assert client.post(url, data={"email": world.email("resident")}).status_code == 400
    response = client.post(url, data={"email": world.email("resident"), "reason": "Chủ hộ mới"})
    assert response.status_code == 303
    assert _get(app, hid).representative_id == world.ids["resident"]
    response = client.post(url, data={"email": "", "reason": "Chuyển đi nơi khác"})
    assert response.status_code == 303
    assert _get(app, hid).representative_id is None
    with app.app_context():
        reasons = db.session.scalars(
            sa.select(AuditEvent.data)
            .where(AuditEvent.object_type == "household")
            .order_by(AuditEvent.id)
        ).all()
        assert [d.get("reason") for d in reasons] == ["Chủ hộ mới", "Chuyển đi nơi khác"]
    page = client.get(f"/households/{hid}")
    assert "Chuyển đi nơi khác" in page.text
    assert world.email("resident") not in page.text


def test_the_public_never_sees_a_representative(app, client, make, world):
    hid = _household(app, world)
    with app.app_context():
        db.session.get(Household, hid).representative_id = world.ids["resident"]
        db.session.commit()
    cid = make.consultation("open", kind="decide")
    for url in (f"/consultations/{cid}", f"/api/v1/consultations/{cid}", "/"):
        assert "Nguyễn Văn Ấn" not in client.get(url).text
    assert client.get("/households").status_code == 302


def test_the_link_is_rate_limited(database_url, tmp_path, world):
    app = new_app(database_url, tmp_path / "rl", RATELIMIT_ENABLED=True)
    try:
        client = app.test_client()
        client.post("/auth/login", data={"email": world.email("resident"), "password": PASSWORD})
        codes = [
            client.post("/me/household", data={"code": "H001", "key": "AAAA-BBBB-CC"}).status_code
            for _ in range(11)
        ]
        assert codes[:10] == [400] * 10
        assert codes[10] == 429
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
