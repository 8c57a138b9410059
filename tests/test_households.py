"""The register of households from the command line: import, keys, letters (issue 15)."""

from __future__ import annotations

import csv
import hashlib
import subprocess

import pytest
import sqlalchemy as sa

from audit.models import AuditEvent
from core.extensions import db
from households.models import Household
from households.services import key_hash, normalise_key

GOOD = (
    "\ufeffcode,village_code,representative_name,address\n"
    "H001,00004-T1,Nguyễn Văn An,Số 1 ngõ 5\n"
    "H002,00004-T1,Trần Thị Bình,Số 2 ngõ 5\n"
    "H001,00004-T2,Lê Văn Cường,Số 9\n"
)


def _households(app) -> list[tuple[str, str, str]]:
    with app.app_context():
        return [
            (h.code, h.locality.code, h.representative_name)
            for h in db.session.scalars(sa.select(Household).order_by(Household.id))
        ]


@pytest.mark.postgres
def test_import_creates_then_updates_and_audits(app, runner, world, tmp_path):
    path = tmp_path / "ho.csv"
    path.write_text(GOOD, encoding="utf-8")
    result = runner.invoke(args=["households", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 households added, 0 updated" in result.output
    assert len(_households(app)) == 3
    path.write_text(GOOD.replace("Số 2 ngõ 5", "Số 4 ngõ 7"), encoding="utf-8")
    result = runner.invoke(args=["households", "import", str(path)])
    assert "0 households added, 1 updated" in result.output
    with app.app_context():
        actions = db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.object_type == "household")
        ).all()
        assert sorted(actions) == ["household.create"] * 3 + ["household.edit"]
        edit = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "household.edit"))
        # The trail says what changed, not the personal data itself.
        assert edit.data["fields"] == ["address"]
        assert "Số 4" not in str(edit.data)


def test_a_bad_row_stores_nothing(app, runner, world, tmp_path):
    path = tmp_path / "ho.csv"
    path.write_text(
        GOOD
        + "H003,99999,Phạm Văn D,\n"  # unknown village
        + "H004,00004,Phạm Văn E,\n"  # a commune, not a village
        + ",00004-T1,Không mã,\n"  # no code
        + "H002,00004-T1,Trùng mã,\n",  # the same code twice in the village
        encoding="utf-8",
    )
    result = runner.invoke(args=["households", "import", str(path)])
    assert result.exit_code != 0
    for line in ("Line 5", "Line 6", "Line 7", "Line 8"):
        assert line in result.output, result.output
    assert "already on line 3" in result.output
    assert _households(app) == []


@pytest.mark.postgres
def test_keys_one_per_household_only_the_hash_kept_a_new_key_replaces(app, runner, world, tmp_path):
    (tmp_path / "ho.csv").write_text(GOOD, encoding="utf-8")
    runner.invoke(args=["households", "import", str(tmp_path / "ho.csv")])
    out = tmp_path / "keys.csv"
    result = runner.invoke(
        args=["households", "keys", "--village", "00004-T1", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert [r["code"] for r in rows] == ["H001", "H002"]
    first = {r["code"]: r["key"] for r in rows}
    assert all(len(normalise_key(k)) == 10 and k[4] == "-" for k in first.values())
    with app.app_context():
        stored = {
            h.code: h.key_hash
            for h in db.session.scalars(
                sa.select(Household).where(Household.locality_id == world.village_ids[0])
            )
        }
        assert stored["H001"] == hashlib.sha256(normalise_key(first["H001"]).encode()).hexdigest()
        trail = str(db.session.scalars(sa.select(AuditEvent.data)).all())
        assert first["H001"] not in trail
        assert normalise_key(first["H001"]) not in trail
    runner.invoke(args=["households", "keys", "--village", "00004-T1", "--output", str(out)])
    with app.app_context():
        h = db.session.scalar(sa.select(Household).where(Household.code == "H001"))
        assert h.key_hash != key_hash(first["H001"])
    assert key_hash("abcd efgh-jk") == key_hash("ABCD-EFGH-JK")


def test_letters_pdf_shows_code_and_key(app, runner, world, tmp_path):
    (tmp_path / "ho.csv").write_text(GOOD, encoding="utf-8")
    runner.invoke(args=["households", "import", str(tmp_path / "ho.csv")])
    out = tmp_path / "thu.pdf"
    result = runner.invoke(
        args=["households", "letters", "--village", "00004-T1", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    text = subprocess.run(
        ["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True)
    assert "Pages:           2" in info.stdout
    assert "H001" in text
    assert "H002" in text
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "/me/household" in text
    assert "Nguyễn Văn An" not in text  # addressed to the household, not a person
    with app.app_context():
        h = db.session.scalar(
            sa.select(Household).where(
                Household.code == "H001", Household.locality_id == world.village_ids[0]
            )
        )
        key_line = next(line for line in text.splitlines() if "Mã khóa dùng một lần" in line)
        typed = key_line.split("Mã khóa dùng một lần")[1].strip()
        assert key_hash(typed) == h.key_hash
    result = runner.invoke(
        args=["households", "letters", "--village", "00004", "--output", str(out)]
    )
    assert result.exit_code != 0
    assert "not a village" in result.output
