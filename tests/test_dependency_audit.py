"""The offline dependency audit (security/dependency_audit.py) against the vendored advisory snapshot."""

import importlib.metadata
import json
import sys
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "security"))

import dependency_audit as audit  # noqa: E402 - not the app's audit package

LOCK = ROOT / "requirements.lock"
SNAPSHOT = ROOT / "security" / "advisories.json"


@pytest.fixture(scope="module")
def snapshot():
    return audit.load_snapshot(SNAPSHOT)


def write_lock(tmp_path, *pins):
    path = tmp_path / "requirements.lock"
    path.write_text("# fake lock\n" + "\n".join(pins) + "\n", encoding="utf-8")
    return path


def finding_ids(report):
    return {(f.package, f.advisory_id) for f in report.findings}


def test_real_lock_passes_and_every_locked_package_is_in_the_snapshot(snapshot, capsys):
    pins = audit.parse_lock(LOCK.read_text(encoding="utf-8"))
    assert {"flask", "werkzeug", "jinja2", "pip", "setuptools"} <= set(pins)
    report = audit.audit(pins, snapshot)
    assert report.uncovered == []
    assert report.findings == []
    assert report.checked == len(pins)
    assert audit.main(["--lock", str(LOCK), "--advisories", str(SNAPSHOT)]) == 0
    assert "no known vulnerabilities" in capsys.readouterr().out


def test_old_werkzeug_and_jinja2_pins_fail_naming_advisory_and_fix(tmp_path, capsys):
    lock = write_lock(tmp_path, "Werkzeug==2.2.2", "Jinja2==2.11.2", "Flask==3.1.3")
    assert audit.main(["--lock", str(lock), "--advisories", str(SNAPSHOT)]) == 1
    out = capsys.readouterr().out
    assert "werkzeug==2.2.2: PYSEC-2023-57 (CVE-2023-23934" in out
    assert "fixed in 2.2.3" in out
    assert "jinja2==2.11.2: PYSEC-2021-66 (CVE-2020-28493" in out
    assert "fixed in 2.11.3" in out
    assert "flask==" not in out


def test_fixed_version_is_the_first_unaffected_one(snapshot):
    before = audit.audit({"werkzeug": "3.0.0"}, snapshot)
    assert ("werkzeug", "PYSEC-2023-221") in finding_ids(before)
    assert audit.audit({"werkzeug": "3.0.1"}, snapshot).findings == []


def test_ranges_with_several_intervals(snapshot):
    # PYSEC-2023-192: introduced 2.0.0 fixed 2.0.6, and introduced 0 fixed 1.26.17.
    assert ("urllib3", "PYSEC-2023-192") in finding_ids(audit.audit({"urllib3": "2.0.5"}, snapshot))
    assert ("urllib3", "PYSEC-2023-192") in finding_ids(
        audit.audit({"urllib3": "1.26.16"}, snapshot)
    )
    between = finding_ids(audit.audit({"urllib3": "1.26.17"}, snapshot))
    assert ("urllib3", "PYSEC-2023-192") not in between
    assert ("urllib3", "PYSEC-2023-212") in between  # fixed only in 1.26.18
    # PYSEC-2023-74 starts at requests 2.3.0: older releases are outside that range.
    assert ("requests", "PYSEC-2023-74") not in finding_ids(
        audit.audit({"requests": "2.2.1"}, snapshot)
    )
    assert ("requests", "PYSEC-2023-74") in finding_ids(
        audit.audit({"requests": "2.30.0"}, snapshot)
    )


def test_explicit_versions_last_affected_and_withdrawn():
    snapshot = {
        "packages": {
            "demo-pkg": {
                "advisories": [
                    {"id": "LISTED", "versions": ["1.4"], "ranges": [], "fixed": ["1.5"]},
                    {
                        "id": "LAST",
                        "ranges": [{"introduced": "2.0", "last_affected": "2.1"}],
                        "fixed": [],
                    },
                    {
                        "id": "GONE",
                        "ranges": [{"introduced": "0"}],
                        "withdrawn": "2024-01-01T00:00:00Z",
                    },
                ]
            }
        }
    }

    def ids(version):
        return {f.advisory_id for f in audit.audit({"demo-pkg": version}, snapshot).findings}

    assert ids("1.4") == {"LISTED"}
    assert ids("1.4.0") == {"LISTED"}  # same version, PEP 440 normalised
    assert ids("1.3") == set()
    assert ids("2.1") == {"LAST"}
    assert ids("2.1.1") == set()


def test_package_missing_from_snapshot_is_an_error(tmp_path, capsys):
    lock = write_lock(tmp_path, "Flask==3.1.3", "not-in-snapshot==1.0")
    assert audit.main(["--lock", str(lock), "--advisories", str(SNAPSHOT)]) == 2
    assert "not-in-snapshot" in capsys.readouterr().err


@pytest.mark.parametrize("line", ["Flask>=3.1", "Flask", "-e .", "Flask[async]==3.1.3"])
def test_lock_lines_must_be_exact_pins(tmp_path, capsys, line):
    lock = write_lock(tmp_path, line)
    assert audit.main(["--lock", str(lock), "--advisories", str(SNAPSHOT)]) == 2
    assert "not an exact" in capsys.readouterr().err


def test_snapshot_records_its_date_and_sources():
    data = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert data["snapshot_date"]
    assert any("advisory-database" in s["url"] for s in data["sources"])


def test_installed_environment_matches_the_lock():
    """`make install` installs with the lock as constraints: CI runs what the audit checked."""
    pins = audit.parse_lock(LOCK.read_text(encoding="utf-8"))
    installed = {
        canonicalize_name(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()
    }
    drift = {
        name: (version, installed[name])
        for name, version in pins.items()
        if name in installed and installed[name] != version
    }
    assert drift == {}, (
        f"installed versions differ from requirements.lock (run make install): {drift}"
    )
