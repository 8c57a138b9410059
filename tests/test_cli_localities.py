"""``flask localities add`` and ``flask localities import``: what an operator sees and what is stored."""

from pathlib import Path

import pytest
import sqlalchemy as sa

from audit.models import AuditEvent
from core.extensions import db
from localities.models import Locality, LocalityKind

SAMPLE = Path(__file__).parent.parent / "data" / "localities-sample.csv"


@pytest.fixture
def english(app):
    # Messages are asserted in English; the operator's default is Vietnamese.
    app.config["BABEL_DEFAULT_LOCALE"] = "en"


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(Locality.id)))


def _get(app, code: str) -> Locality | None:
    with app.app_context():
        loc = db.session.scalar(
            sa.select(Locality)
            .where(Locality.code == code)
            .options(sa.orm.joinedload(Locality.parent), sa.orm.joinedload(Locality.merged_into))
        )
        if loc is not None:
            db.session.expunge(loc)
        return loc


def _add(runner, code, name, kind, parent=None):
    args = ["localities", "add", "--code", code, "--name", name, "--kind", kind]
    if parent:
        args += ["--parent", parent]
    return runner.invoke(args=args)


# --- add -------------------------------------------------------------------------------------


def test_add_builds_province_commune_village(app, runner, english):
    assert _add(runner, "44", "Tỉnh Quảng Trị", "province").exit_code == 0
    assert _add(runner, "19597", "Xã Cam Lộ", "commune", "44").exit_code == 0
    result = _add(runner, "19597-01", "Thôn An Trung", "village", "19597")
    assert result.exit_code == 0, result.output
    assert "19597-01" in result.output

    village = _get(app, "19597-01")
    assert village.kind == LocalityKind.village
    assert village.parent.code == "19597"
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert actions.count("locality.create") == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("44", "Trùng mã", "province"), "already exists"),
        (("19600", "Xã Mới", "commune", "99"), "Unknown parent code"),
        (("19597-09", "Thôn Lạc", "village", "44"), "belongs under a commune"),
        (("19600", "Xã Lạc", "commune", "19597"), "belongs under a province"),
        (("19600", "Xã Mồ Côi", "commune"), "needs the code of its parent province"),
        (("45", "Tỉnh Con", "province", "44"), "cannot have a parent"),
        (("19600", "Xã Mới", "district", "44"), "Unknown kind"),
        (("19 600", "Xã Mới", "commune", "44"), "is not valid"),
        (("19600", "   ", "commune", "44"), "name is missing"),
    ],
)
def test_add_refuses_bad_input_and_stores_nothing(app, runner, english, args, message):
    _add(runner, "44", "Tỉnh Quảng Trị", "province")
    _add(runner, "19597", "Xã Cam Lộ", "commune", "44")
    before = _count(app)

    result = _add(runner, *args)

    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert _count(app) == before


# --- import ----------------------------------------------------------------------------------


def test_import_sample_resolves_parents_in_any_order(app, runner, english):
    result = runner.invoke(args=["localities", "import", str(SAMPLE)])

    assert result.exit_code == 0, result.output
    rows = len(SAMPLE.read_text(encoding="utf-8").strip().splitlines()) - 1
    assert f"{rows} added, 0 updated, 0 unchanged" in result.output
    assert _count(app) == rows
    # The village lines come before their commune's line in the file.
    assert _get(app, "19597-01").parent.code == "19597"
    cam_lo = _get(app, "19597")
    assert cam_lo.parent.code == "44"
    assert cam_lo.renamed_from == "Thị trấn Cam Lộ"
    assert _get(app, "19612").merged_into.code == "19597"
    with app.app_context():
        old = db.session.scalar(sa.select(Locality).where(Locality.code == "19612"))
        assert old.current().code == "19597"


def test_import_twice_changes_nothing_and_a_new_name_is_an_update(app, runner, english, tmp_path):
    assert runner.invoke(args=["localities", "import", str(SAMPLE)]).exit_code == 0
    count = _count(app)

    again = runner.invoke(args=["localities", "import", str(SAMPLE)])
    assert again.exit_code == 0
    assert f"0 added, 0 updated, {count} unchanged" in again.output
    assert _count(app) == count

    renamed = tmp_path / "renamed.csv"
    renamed.write_text(
        "code,name,kind,parent_code\n19333,Phường Đông Hà mới,commune,44\n19333-04,Khu phố 4,village,19333\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["localities", "import", str(renamed)])
    assert result.exit_code == 0, result.output
    assert "1 added, 1 updated, 0 unchanged" in result.output
    dong_ha = _get(app, "19333")
    assert dong_ha.name == "Phường Đông Hà mới"
    assert dong_ha.renamed_from == "Phường Đông Hà"  # the history is kept


def test_import_accepts_a_byte_order_mark_and_stray_spaces(app, runner, english, tmp_path):
    path = tmp_path / "excel.csv"
    text = "code,name,kind,parent_code\r\n 44 , Tỉnh Quảng Trị ,province,\r\n19597,Xã Cam Lộ,commune, 44\r\n"
    path.write_bytes("\ufeff".encode() + text.encode("utf-8"))

    result = runner.invoke(args=["localities", "import", str(path)])

    assert result.exit_code == 0, result.output
    assert _get(app, "44").name == "Tỉnh Quảng Trị"
    assert _get(app, "19597").parent.code == "44"


def test_one_bad_row_rolls_back_the_whole_file(app, runner, english, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "code,name,kind,parent_code\n"
        "44,Tỉnh Quảng Trị,province,\n"
        "19597,Xã Cam Lộ,commune,44\n"
        "19597-01,Thôn An Trung,village,19598\n"
        "19603,Xã Hiếu Giang,commune,44\n",
        encoding="utf-8",
    )

    result = runner.invoke(args=["localities", "import", str(path)])

    assert result.exit_code == 1
    assert "Line 4" in result.output
    assert "Unknown parent code '19598'" in result.output
    assert "Nothing was imported" in result.output
    assert _count(app) == 0


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("44,Tỉnh A,province,\n44,Tỉnh B,province,\n", "Line 3", "already on line 2"),
        ("44,Tỉnh A,province,\n19597,Xã B,village,44\n", "Line 3", "belongs under a commune"),
        ("44,Tỉnh A,province,\n19597,Xã B,commune,44,19597\n", "Line 3", "merged into itself"),
        ("44,Tỉnh A,province,\n1,Xã B,commune,44,2\n2,Xã C,commune,44,1\n", "Line 3", "circle"),
        (
            "44,Tỉnh A,province,\n19597,Xã B,commune,44,44\n",
            "Line 3",
            "only be merged into another commune",
        ),
        ("44,Tỉnh A,hamlet,\n", "Line 2", "Unknown kind"),
        ("44,,province,\n", "Line 2", "name is missing"),
        ("44,Tỉnh A,province,,,,extra\n", "Line 2", "more values"),
    ],
)
def test_import_names_the_line_and_the_reason(app, runner, english, tmp_path, body, line, message):
    path = tmp_path / "rows.csv"
    path.write_text(
        "code,name,kind,parent_code,merged_into_code,renamed_from\n" + body, encoding="utf-8"
    )

    result = runner.invoke(args=["localities", "import", str(path)])

    assert result.exit_code == 1
    assert f"{line}:" in result.output
    assert message in result.output
    assert _count(app) == 0


def test_import_refuses_a_wrong_header_or_encoding(app, runner, english, tmp_path):
    header = tmp_path / "header.csv"
    header.write_text("ma,ten,cap\n44,Tỉnh A,province\n", encoding="utf-8")
    result = runner.invoke(args=["localities", "import", str(header)])
    assert result.exit_code == 1
    assert "Line 1" in result.output
    assert "code, name, kind, parent_code" in result.output

    latin = tmp_path / "latin.csv"
    latin.write_bytes("code,name,kind,parent_code\n44,Tỉnh A,province,\n".encode("utf-16"))
    result = runner.invoke(args=["localities", "import", str(latin)])
    assert result.exit_code == 1
    assert "UTF-8" in result.output
    assert _count(app) == 0


def test_import_can_hang_rows_under_units_already_stored(app, runner, english, tmp_path):
    _add(runner, "44", "Tỉnh Quảng Trị", "province")
    path = tmp_path / "communes.csv"
    path.write_text(
        "code,name,kind,parent_code\n19603,Xã Hiếu Giang,commune,44\n", encoding="utf-8"
    )

    result = runner.invoke(args=["localities", "import", str(path)])

    assert result.exit_code == 0, result.output
    assert "1 added, 0 updated, 0 unchanged" in result.output
    assert _get(app, "19603").parent.code == "44"


# --- contacts: add and update ------------------------------------------------------------------

ADDRESS = "Số 2 đường Lê Duẩn, khu phố 3, xã Cam Lộ, tỉnh Quảng Trị"
HOURS = "Sáng 7:30–11:30, chiều 13:30–17:00, từ thứ Hai đến thứ Sáu"


def _contacts(app, code: str) -> tuple:
    loc = _get(app, code)
    return loc.address, loc.phone, loc.email, loc.office_hours


def test_add_stores_the_contacts_printed_on_notices(app, runner, english):
    _add(runner, "44", "Tỉnh Quảng Trị", "province")
    result = runner.invoke(
        args=[
            "localities",
            "add",
            "--code",
            "19597",
            "--name",
            "Xã Cam Lộ",
            "--kind",
            "commune",
            "--parent",
            "44",
            "--address",
            f"  {ADDRESS} ",
            "--phone",
            "0233 3871 234",
            "--email",
            "ubnd.camlo@example.com",
            "--office-hours",
            HOURS,
        ]
    )
    assert result.exit_code == 0, result.output
    assert _contacts(app, "19597") == (ADDRESS, "0233 3871 234", "ubnd.camlo@example.com", HOURS)


def test_update_sets_and_clears_contacts_and_keeps_the_rest(app, runner, english):
    _add(runner, "44", "Tỉnh Quảng Trị", "province")
    _add(runner, "19597", "Xã Cam Lộ", "commune", "44")

    result = runner.invoke(
        args=[
            "localities",
            "update",
            "--code",
            "19597",
            "--address",
            ADDRESS,
            "--phone",
            "0233 3871 234",
            "--office-hours",
            HOURS,
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Updated 19597 Xã Cam Lộ: Address, Telephone, Office hours." in result.output
    assert _contacts(app, "19597") == (ADDRESS, "0233 3871 234", None, HOURS)

    result = runner.invoke(
        args=[
            "localities",
            "update",
            "--code",
            "19597",
            "--phone",
            "",
            "--email",
            "vanphong@example.com",
        ]
    )
    assert result.exit_code == 0, result.output
    assert _contacts(app, "19597") == (ADDRESS, None, "vanphong@example.com", HOURS), (
        "an empty value clears"
    )
    assert _get(app, "19597").name == "Xã Cam Lộ"

    again = runner.invoke(args=["localities", "update", "--code", "19597", "--address", ADDRESS])
    assert again.exit_code == 0
    assert "unchanged" in again.output
    with app.app_context():
        updates = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "locality.update")
        ).all()
    assert len(updates) == 2, "each change is in the audit trail, a no-op is not"


def test_update_renames_and_keeps_the_former_name(app, runner, english):
    _add(runner, "44", "Tỉnh Quảng Trị", "province")
    _add(runner, "19597", "Thị trấn Cam Lộ", "commune", "44")
    result = runner.invoke(args=["localities", "update", "--code", "19597", "--name", "Xã Cam Lộ"])
    assert result.exit_code == 0, result.output
    loc = _get(app, "19597")
    assert (loc.name, loc.renamed_from) == ("Xã Cam Lộ", "Thị trấn Cam Lộ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--code", "99999", "--phone", "0233 3871 234"], "Unknown code '99999'"),
        (["--code", "19597"], "Nothing to change"),
        # The valid office hours given with it are not stored either.
        (
            ["--code", "19597", "--office-hours", HOURS, "--email", "not-an-address"],
            "is not a valid e-mail address",
        ),
        (["--code", "19597", "--phone", "gọi văn phòng"], "has no number to call"),
        (["--code", "19597", "--address", "x" * 301], "at most 300 characters"),
        (["--code", "19597", "--name", "  "], "name is missing"),
    ],
)
def test_update_refuses_bad_input_and_changes_nothing(app, runner, english, args, message):
    _add(runner, "44", "Tỉnh Quảng Trị", "province")
    _add(runner, "19597", "Xã Cam Lộ", "commune", "44")
    runner.invoke(args=["localities", "update", "--code", "19597", "--address", ADDRESS])

    result = runner.invoke(args=["localities", "update", *args])

    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert _contacts(app, "19597") == (ADDRESS, None, None, None), "nothing half stored"
