"""The place picker for the whole country (3,321 communes): search by name without diacritics,
the JSON of matches for static/app.js, and the forms without JavaScript (registration, account)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from support import dispose, new_app

from auth.models import User
from core.extensions import db
from localities import search
from localities.models import Locality

SAMPLE = Path(__file__).parent.parent / "data" / "localities-sample.csv"

pytestmark = pytest.mark.postgres

FORM = {
    "email": "ba.hoa@example.vn",
    "password": "Trâu-cày-ruộng-sớm-2026",
    "full_name": "Lê Thị Hoa",
    "consent": "y",
}


@pytest.fixture(autouse=True)
def fresh_index():
    search.clear()
    yield
    search.clear()


@pytest.fixture
def country(app):
    """The sample's units (villages of Cam Lộ, merged communes), then the whole country."""
    runner = app.test_cli_runner()
    result = runner.invoke(args=["localities", "import", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["localities", "import", "--official"])
    assert result.exit_code == 0, result.output
    search.clear()


def _user(app, email: str) -> User | None:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is not None:
            user.locality_code = user.locality.code if user.locality else None
            db.session.expunge(user)
        return user


def _radios(html: str) -> list[str]:
    return re.findall(
        r'<input type="radio" id="locality-\d+" name="locality" value="([^"]+)"', html
    )


# --- search ------------------------------------------------------------------------------------


def test_cam_lo_finds_xa_cam_lo_first(app, country):
    with app.app_context():
        for typed in ("cam lo", "Cam Lộ", "CAM LO", "xa cam lo", "Xã Cam Lộ", "cam lo quang tri"):
            found, _more = search.search(typed)
            assert found, typed
            assert found[0].code == "19597", (typed, found[0])
            assert found[0].label == "Xã Cam Lộ, Tỉnh Quảng Trị"
        assert "19597" in {e.code for e in search.search("cam l")[0]}  # a name half typed
        found, _more = search.search("cam lo")
        # Its villages follow it (found through the commune's name).
        assert {"19597-01", "19597-02"} <= {e.code for e in found}
        # A merged commune is not offered any more; a province is never a place of residence.
        assert all(e.code != "19612" for e in search.search("cam thanh")[0])
        assert all(e.kind.value != "province" for e in search.search("quang tri")[0])
        assert search.search("c") == ([], False)
        assert search.search("") == ([], False)
        # A name shared by many communes: the province tells them apart.
        found, more = search.search("tan phu")
        assert len(found) == search.LIMIT
        assert more
        assert all(e.bare == "tan phu" for e in found[:5])  # the very name first
        assert len({e.label for e in search.exact("tan phu")}) == len(search.exact("tan phu")) > 1


def test_a_renamed_unit_is_found_by_its_new_name(app, country):
    with app.app_context():
        assert search.search("cam lo")[0][0].code == "19597"
        loc = db.session.scalar(sa.select(Locality).where(Locality.code == "19597"))
        loc.renamed_from, loc.name = loc.name, "Xã Cam Lộ Mới Đổi"
        db.session.commit()
        search._indexes[
            id(db.engine)
        ].checked = 0  # as 5 seconds later: the fingerprint is read again
        assert search.search("cam lo moi doi")[0][0].code == "19597"


def test_json_of_matches_is_public_cached_and_short(app, client, country):
    response = client.get("/localities/search.json?q=cam+lo")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=300"
    data = response.get_json()
    assert data["query"] == "cam lo"
    assert data["results"][0] == {
        "code": "19597",
        "name": "Xã Cam Lộ",
        "kind": "commune",
        "label": "Xã Cam Lộ, Tỉnh Quảng Trị",
    }
    assert all(set(r) == {"code", "name", "kind", "label"} for r in data["results"])
    assert client.get("/localities/search.json?q=" + "a" * 5000).status_code == 200
    assert client.get("/localities/search.json").get_json() == {
        "query": "",
        "results": [],
        "more": False,
    }


def test_the_json_of_matches_is_rate_limited(database_url, tmp_path):
    app = new_app(
        database_url,
        tmp_path,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMITS={
            "locality_search_ip": "3 per minute",
            "register_ip": "2 per hour",
            "register_account": "1 per hour",
        },
        # As before the shared factory: the product's defaults for these.
        UPLOAD_DIR=None,
        BASE_URL=None,
        BABEL_DEFAULT_LOCALE=None,
    )
    try:
        client = app.test_client()
        codes = [client.get(f"/localities/search.json?q=ha{i}").status_code for i in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        # Looking for a place from the registration form spends no registration attempt.
        finds = [
            client.post(
                "/auth/register", data={**FORM, "locality_q": f"cam lo {i}", "locality_search": "1"}
            ).status_code
            for i in range(4)
        ]
        assert finds == [200, 200, 200, 200]
        assert client.post("/auth/register", data={**FORM, "locality": "x"}).status_code == 400
        assert client.post("/auth/register", data={**FORM, "locality": "x"}).status_code == 429
    finally:
        dispose(app)


# --- registration without JavaScript -------------------------------------------------------------


def test_register_page_searches_instead_of_a_code_box(client, country):
    html = client.get("/auth/register").get_data(as_text=True)
    assert "data-locality-picker" in html
    assert 'name="locality_q"' in html
    assert 'name="locality_search"' in html
    assert "<select" not in html.split('name="locality_q"')[0].rsplit("<fieldset", 1)[-1]
    assert 'data-url="/localities/search.json"' in html


def test_a_small_list_stays_a_select(client, world):
    html = client.get("/auth/register").get_data(as_text=True)
    assert '<select id="locality" name="locality"' in html
    assert 'name="locality_q"' not in html


def test_find_keeps_what_was_typed_and_lists_the_matches(app, client, country):
    response = client.post(
        "/auth/register",
        data={**FORM, "display_name": "Bà Hoa", "locality_q": "cam lo", "locality_search": "1"},
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert _radios(html)[0] == "19597"
    assert "Xã Cam Lộ, Tỉnh Quảng Trị" in html
    assert "Thôn Hoàn Cát, Xã Cam Lộ, Tỉnh Quảng Trị" in html
    for value in ("ba.hoa@example.vn", "Lê Thị Hoa", "Bà Hoa", "cam lo", FORM["password"]):
        assert f'value="{value}"' in html, value
    assert re.search(r'name="consent"[^>]*checked|checked[^>]*name="consent"', html)
    assert "There is a problem" not in html  # looking is not an error
    assert _user(app, FORM["email"]) is None  # nothing stored

    # Then the resident chooses a village and registers.
    response = client.post(
        "/auth/register", data={**FORM, "locality_q": "cam lo", "locality": "19597-02"}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert _user(app, FORM["email"]).locality_code == "19597-02"


def test_choosing_the_commune_itself_is_possible(app, client, country):
    response = client.post(
        "/auth/register", data={**FORM, "locality_q": "cam lo", "locality": "19597"}
    )
    assert response.status_code == 302
    assert _user(app, FORM["email"]).locality_code == "19597"


def test_enter_in_another_field_after_choosing_registers(app, client, country):
    # Enter sends the form's first button ("Find"): with the place already chosen among the
    # matches, that is the resident sending the form.
    data = {**FORM, "locality_q": "cam lo", "locality": "19597", "locality_search": "1"}
    assert client.post("/auth/register", data=data).status_code == 302
    assert _user(app, FORM["email"]).locality_code == "19597"


def test_a_typed_name_of_one_commune_is_enough(app, client, country):
    response = client.post("/auth/register", data={**FORM, "locality_q": "cam lo"})
    assert response.status_code == 302
    assert _user(app, FORM["email"]).locality_code == "19597"


def test_a_name_many_communes_share_asks_which(app, client, country):
    response = client.post("/auth/register", data={**FORM, "locality_q": "tan phu"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Choose the commune or village where you live." in html
    assert len(_radios(html)) == search.LIMIT
    assert "Xã Tân Phú, " in html
    assert 'value="tan phu"' in html
    assert _user(app, FORM["email"]) is None


def test_a_name_that_matches_nothing_says_so(client, country):
    response = client.post(
        "/auth/register", data={**FORM, "locality_q": "khong co xa nay", "locality_search": "1"}
    )
    assert response.status_code == 200
    assert "No commune, ward, special zone or village has this name." in response.get_data(
        as_text=True
    )


def test_the_locality_code_still_works(app, client, country):
    assert client.post("/auth/register", data={**FORM, "locality": "19597-01"}).status_code == 302
    assert _user(app, FORM["email"]).locality_code == "19597-01"


def test_a_preselected_place_is_shown_with_its_villages(client, country):
    html = client.get("/auth/register?locality=19597-03").get_data(as_text=True)
    radios = _radios(html)
    assert radios[0] == "19597"
    assert "19597-03" in radios
    assert re.search(r'value="19597-03" checked', html)


# --- my account ----------------------------------------------------------------------------------


def test_account_page_finds_and_saves_a_new_place(app, client, auth, world, country):
    auth.login(world.email("resident"))
    html = client.get("/me/account").get_data(as_text=True)
    assert 'name="locality_q"' in html
    assert re.search(r'value="00004-T1" checked', html)  # the place held now, with its commune

    data = {"full_name": "Nguyễn Văn Resident", "display_name": "Ông Ba", "locale": "vi"}
    response = client.post(
        "/me/account", data={**data, "locality_q": "hoan cat", "locality_search": "1"}
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert _radios(page)[0] == "19597-02"
    assert 'value="Ông Ba"' in page
    assert _user(app, world.email("resident")).locality_code == "00004-T1"  # nothing saved yet

    response = client.post(
        "/me/account", data={**data, "locality_q": "hoan cat", "locality": "19597-02"}
    )
    assert response.status_code == 302
    assert _user(app, world.email("resident")).locality_code == "19597-02"
    assert _user(app, world.email("resident")).display_name == "Ông Ba"


def test_password_is_never_echoed_on_a_refused_form(client, country):
    html = client.post("/auth/register", data={**FORM, "locality": "", "locality_q": ""}).get_data(
        as_text=True
    )
    assert FORM["password"] not in html


def test_register_with_world_and_country_together(app, client, world, country):
    # The test world's units use the same codes as the package (01 Hà Nội, 00004 Phường Ba Đình).
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Locality.id))) > 3000
    assert client.post("/auth/register", data={**FORM, "locality": "00004-T2"}).status_code == 302


def test_a_place_merged_since_it_was_chosen_offers_the_unit_that_absorbed_it(client, country):
    html = client.get("/auth/register?locality=19612").get_data(
        as_text=True
    )  # Xã Cam Thành, merged
    radios = _radios(html)
    assert radios[0] == "19597"
    assert "19612" not in radios
