"""Offline check of the locked dependencies against a vendored advisory snapshot.

Usage: python security/dependency_audit.py [--lock requirements.lock] [--advisories security/advisories.json]

Each `name==version` pin of the lock file is compared with the advisories recorded for that
package in security/advisories.json (built by security/refresh_advisories.py from the PyPA
advisory database and PyPI). A version is affected when it lies in one of an advisory's OSV
ECOSYSTEM ranges (introduced <= version < fixed, or <= last_affected, or open-ended) or is
listed explicitly in its `versions`. Exit status: 0 when no pin is affected, 1 when one is
(each finding names the advisory and the fixed versions), 2 when the lock or the snapshot
cannot be read or a locked package is missing from the snapshot (refresh it).

Needs only the standard library and `packaging`, and no network.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LOCK = ROOT / "requirements.lock"
DEFAULT_ADVISORIES = Path(__file__).resolve().parent / "advisories.json"


class AuditError(Exception):
    """The lock or the snapshot is unusable: the audit cannot give an answer."""


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    advisory_id: str
    aliases: tuple[str, ...]
    fixed: tuple[str, ...]
    summary: str

    def describe(self) -> str:
        ids = self.advisory_id + (f" ({', '.join(self.aliases)})" if self.aliases else "")
        fix = f"fixed in {', '.join(self.fixed)}" if self.fixed else "no fixed version known"
        text = f"{self.package}=={self.version}: {ids}; {fix}"
        return f"{text}\n    {self.summary}" if self.summary else text


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)
    checked: int = 0


def parse_lock(text: str) -> dict[str, str]:
    """{canonical name: version} from `name==version` lines; comments and blanks skipped."""
    pins: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        line = line.split(";", 1)[0].strip()  # environment markers do not change the pin
        name, sep, version = line.partition("==")
        if not sep or not name.strip() or not version.strip() or "[" in name:
            raise AuditError(f"lock line {number} is not an exact `name==version` pin: {raw!r}")
        pins[canonicalize_name(name.strip())] = version.strip()
    return pins


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def in_range(version: Version, rng: dict) -> bool:
    """One interval of an OSV ECOSYSTEM range: introduced <= v < fixed (or <= last_affected)."""
    introduced = rng.get("introduced", "0")
    if introduced not in ("0", "", None):
        low = _version(introduced)
        if low is None or version < low:
            return False
    if rng.get("fixed"):
        high = _version(rng["fixed"])
        return high is not None and version < high
    if rng.get("last_affected"):
        last = _version(rng["last_affected"])
        return last is not None and version <= last
    return True


def is_affected(version_text: str, advisory: dict) -> bool:
    version = _version(version_text)
    for listed in advisory.get("versions", []):
        if listed == version_text:
            return True
        other = _version(listed)
        if version is not None and other is not None and other == version:
            return True
    if version is None:
        return False
    return any(in_range(version, rng) for rng in advisory.get("ranges", []))


def audit(pins: dict[str, str], snapshot: dict) -> Report:
    packages = {canonicalize_name(k): v for k, v in snapshot.get("packages", {}).items()}
    report = Report()
    for name, version in sorted(pins.items()):
        entry = packages.get(name)
        if entry is None:
            report.uncovered.append(name)
            continue
        report.checked += 1
        for advisory in entry.get("advisories", []):
            if advisory.get("withdrawn"):
                continue
            if is_affected(version, advisory):
                report.findings.append(
                    Finding(
                        package=name,
                        version=version,
                        advisory_id=advisory["id"],
                        aliases=tuple(advisory.get("aliases", [])),
                        fixed=tuple(advisory.get("fixed", [])),
                        summary=advisory.get("summary", ""),
                    )
                )
    return report


def load_snapshot(path: Path) -> dict:
    try:
        snapshot = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AuditError(f"cannot read the advisory snapshot {path}: {exc}") from exc
    if not isinstance(snapshot.get("packages"), dict):
        raise AuditError(f"{path} has no `packages` mapping")
    return snapshot


def snapshot_age(snapshot: dict, today: date | None = None) -> str:
    taken = snapshot.get("snapshot_date", "unknown")
    try:
        days = ((today or datetime.now(UTC).date()) - date.fromisoformat(taken)).days
    except (TypeError, ValueError):
        return f"snapshot {taken}"
    return f"snapshot {taken}, {days} days old"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", type=Path, default=DEFAULT_LOCK)
    parser.add_argument("--advisories", type=Path, default=DEFAULT_ADVISORIES)
    args = parser.parse_args(argv)
    try:
        pins = parse_lock(args.lock.read_text(encoding="utf-8"))
        snapshot = load_snapshot(args.advisories)
    except (OSError, AuditError) as exc:
        print(f"audit: {exc}", file=sys.stderr)
        return 2
    report = audit(pins, snapshot)
    age = snapshot_age(snapshot)
    if report.uncovered:
        print(
            f"audit: {len(report.uncovered)} locked package(s) missing from {args.advisories} "
            f"({age}): {', '.join(report.uncovered)}.\n"
            "Refresh it: make advisories ADVISORY_DB=/path/to/advisory-database",
            file=sys.stderr,
        )
        return 2
    if report.findings:
        print(
            f"audit: {len(report.findings)} known vulnerabilit"
            f"{'y' if len(report.findings) == 1 else 'ies'} in {args.lock} ({age}):"
        )
        for finding in report.findings:
            print(f"  {finding.describe()}")
        return 1
    print(f"audit: {report.checked} locked packages, no known vulnerabilities ({age}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
