"""``flask localities import --official``: the reformed geography of the vietnam-provinces package."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from vietnam_provinces import Province, Ward

from audit.models import AuditEvent
from core.extensions import db
from localities.models import Locality, LocalityKind

SAMPLE = Path(__file__).parent.parent / "data" / "localities-sample.csv"
#: What the package itself holds (34 and 3,321 for the 2025 reform): the tests follow the package.
PROVINCES = sum(1 for _ in Province.iter_all())
COMMUNES = sum(1 for _ in Ward.iter_all())

pytestmark = pytest.mark.postgres


@pytest.fixture
def english(app):
    app.config["BABEL_DEFAULT_LOCALE"] = "en"


def _counts(app) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(Locality.kind, sa.func.count(Locality.id)).group_by(Locality.kind)
        ).all()
    return {LocalityKind(kind).value: n for kind, n in rows}


def _get(app, code: str) -> dict:
    with app.app_context():
        loc = db.session.scalar(sa.select(Locality).where(Locality.code == code))
        return {
            "id": loc.id,
            "name": loc.name,
            "renamed_from": loc.renamed_from,
            "parent": loc.parent.code if loc.parent else None,
            "merged_into": loc.merged_into.code if loc.merged_into else None,
            "address": loc.address,
            "phone": loc.phone,
            "office_hours": loc.office_hours,
        }


def _events(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))


def _import(runner):
    return runner.invoke(args=["localities", "import", "--official"])


def test_the_package_holds_the_reformed_country():
    # 34 provinces and 3,321 communes since 1 July 2025; a newer package may differ slightly.
    assert PROVINCES == 34
    assert 3200 <= COMMUNES <= 3400


def test_imports_every_province_and_commune_fast_in_bulk(app, runner, english):
    statements = []

    def count(*_args):
        statements.append(1)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        started = time.perf_counter()
        result = _import(runner)
        seconds = time.perf_counter() - started
    finally:
        with app.app_context():
            sa.event.remove(db.engine, "before_cursor_execute", count)
    assert result.exit_code == 0, result.output
    assert _counts(app) == {"province": PROVINCES, "commune": COMMUNES}
    assert f"{PROVINCES + COMMUNES} created, 0 updated" in result.output
    assert "Provinces: 34 added." in result.output  # progress
    # Bulk statements, not a query per unit (3,355 units).
    assert len(statements) < 60, len(statements)
    assert seconds < 30, seconds

    cam_lo = _get(app, "19597")
    assert cam_lo["name"] == "Xã Cam Lộ"
    assert cam_lo["parent"] == "44"
    assert _get(app, "44")["name"] == "Tỉnh Quảng Trị"
    assert _get(app, "01")["name"] == "Thành phố Hà Nội"
    with app.app_context():
        # Codes of the statistics office: two digits for a province, five for a commune.
        codes = db.session.scalars(sa.select(Locality.code)).all()
        assert all(len(c) == (2 if len(c) <= 2 else 5) and c.isdigit() for c in codes)
        kinds = db.session.scalars(
            sa.select(Locality.name).where(Locality.kind == LocalityKind.commune)
        ).all()
        assert any(n.startswith("Đặc khu ") for n in kinds)
        assert any(n.startswith("Phường ") for n in kinds)
        actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert actions.count("locality.create") == PROVINCES + COMMUNES
    assert actions.count("locality.import") == 1


def test_a_second_run_changes_nothing_and_says_so(app, runner, english):
    assert _import(runner).exit_code == 0
    events = _events(app)
    with app.app_context():
        before = db.session.execute(sa.select(Locality.id, Locality.code, Locality.name)).all()
    result = _import(runner)
    assert result.exit_code == 0, result.output
    assert "Nothing changed" in result.output
    assert (
        f"0 created, 0 updated (0 renamed, 0 moved to another province), {PROVINCES + COMMUNES} unchanged"
        in result.output
    )
    assert _events(app) == events
    with app.app_context():
        assert (
            db.session.execute(sa.select(Locality.id, Locality.code, Locality.name)).all() == before
        )


def test_units_already_held_keep_their_id_history_villages_and_contacts(
    app, runner, english, tmp_path
):
    assert runner.invoke(args=["localities", "import", str(SAMPLE)]).exit_code == 0
    # The office's contacts, and a unit the package names differently (renamed since).
    result = runner.invoke(
        args=[
            "localities",
            "update",
            "--code",
            "19597",
            "--address",
            "Khu phố 3, xã Cam Lộ",
            "--phone",
            "0233 3871 234",
            "--office-hours",
            "Sáng 7:30–11:30",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        dong_ha = db.session.scalar(sa.select(Locality).where(Locality.code == "19333"))
        dong_ha.name = "Phường 1 Đông Hà"
        db.session.commit()
    held = {code: _get(app, code) for code in ("44", "19597", "19612", "19333", "19597-01")}
    with app.app_context():
        held_codes = set(db.session.scalars(sa.select(Locality.code)))

    result = _import(runner)
    assert result.exit_code == 0, result.output

    cam_lo = _get(app, "19597")
    assert cam_lo == held["19597"]  # same id, name, former name, contacts
    assert cam_lo["renamed_from"] == "Thị trấn Cam Lộ"
    assert cam_lo["address"] == "Khu phố 3, xã Cam Lộ"
    assert cam_lo["phone"] == "0233 3871 234"
    # Merged communes the package no longer lists stay merged; villages stay under their commune.
    assert _get(app, "19612") == held["19612"]
    assert held["19612"]["merged_into"] == "19597"
    assert _get(app, "19597-01") == held["19597-01"]
    assert _get(app, "44")["id"] == held["44"]["id"]
    # The package's name wins, the former one is kept.
    dong_ha = _get(app, "19333")
    assert dong_ha["id"] == held["19333"]["id"]
    assert dong_ha["name"] == "Phường Đông Hà"
    assert dong_ha["renamed_from"] == "Phường 1 Đông Hà"
    assert "1 renamed" in result.output
    assert "19333: Phường 1 Đông Hà → Phường Đông Hà" in result.output
    # Nothing is deleted.
    with app.app_context():
        assert held_codes <= set(db.session.scalars(sa.select(Locality.code)))
        update = db.session.scalar(
            sa.select(AuditEvent).where(
                AuditEvent.action == "locality.update", AuditEvent.object_id == dong_ha["id"]
            )
        )
    assert update.data["renamed_from"] == "Phường 1 Đông Hà"
    assert update.data["via"] == "official"
    counts = _counts(app)
    assert counts["province"] == PROVINCES
    assert counts["commune"] == COMMUNES + 6  # the six merged communes of the sample


def test_a_commune_moved_to_another_province_follows_the_package(app, runner, english):
    assert _import(runner).exit_code == 0
    with app.app_context():
        hanoi = db.session.scalar(sa.select(Locality).where(Locality.code == "01"))
        cam_lo = db.session.scalar(sa.select(Locality).where(Locality.code == "19597"))
        cam_lo.parent = hanoi
        db.session.commit()
    result = _import(runner)
    assert "1 moved to another province" in result.output
    assert _get(app, "19597")["parent"] == "44"


def test_a_code_held_as_another_kind_refuses_everything(app, runner, english):
    assert (
        runner.invoke(
            args=["localities", "add", "--code", "99", "--name", "Tỉnh Thử", "--kind", "province"]
        ).exit_code
        == 0
    )
    result = runner.invoke(
        args=[
            "localities",
            "add",
            "--code",
            "01",
            "--name",
            "Xã Sai Mã",
            "--kind",
            "commune",
            "--parent",
            "99",
        ]
    )
    assert result.exit_code == 0, result.output
    result = _import(runner)
    assert result.exit_code == 1
    assert "01 is held here as a commune" in result.output
    assert "Nothing was imported." in result.output
    assert sum(_counts(app).values()) == 2


def test_import_needs_a_file_or_official_not_both(app, runner, english):
    result = runner.invoke(args=["localities", "import"])
    assert result.exit_code == 1
    assert "--official" in result.output
    result = runner.invoke(args=["localities", "import", str(SAMPLE), "--official"])
    assert result.exit_code == 1
    assert _counts(app) == {}
