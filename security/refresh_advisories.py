"""Rebuild security/advisories.json from a checkout of the PyPA advisory database.

Usage:
  python security/refresh_advisories.py /path/to/advisory-database [--pypi] [--note TEXT]
      [--lock requirements.lock] [--output security/advisories.json]

For each package of the lock, every vulns/<package>/*.yaml of the checkout (the OSV files of
https://github.com/pypa/advisory-database) is read and its PyPI ECOSYSTEM ranges, explicit
versions and fixed versions are kept. Files named PYSEC-0000-* (placeholders the database
renames once an id is given) are skipped. With --pypi, the PyPI JSON API
(https://pypi.org/pypi/<package>/json) is asked once per locked package for the
`vulnerabilities` it reports on the latest release (OSV data, GHSA included); they are merged in
and the latest version is recorded. Needs PyYAML (a dev dependency).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import yaml
from packaging.utils import canonicalize_name

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dependency_audit import DEFAULT_ADVISORIES, DEFAULT_LOCK, parse_lock

REPO_URL = "https://github.com/pypa/advisory-database"
PYPI_JSON = "https://pypi.org/pypi/{name}/json"


def first_sentence(text: str, limit: int = 240) -> str:
    text = " ".join((text or "").split())
    end = text.find(". ")
    sentence = text if end == -1 else text[: end + 1]
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


def ranges_of(events: list[dict]) -> list[dict]:
    """OSV events (introduced/fixed/last_affected, in order) to a list of intervals."""
    intervals: list[dict] = []
    current: dict | None = None
    for event in events:
        if "introduced" in event:
            current = {"introduced": str(event["introduced"])}
            intervals.append(current)
        elif current is not None and ("fixed" in event or "last_affected" in event):
            key = "fixed" if "fixed" in event else "last_affected"
            current[key] = str(event[key])
            current = None
    return intervals


def from_osv(doc: dict, package: str) -> dict | None:
    """The snapshot record of one OSV document for `package`, or None if it does not name it."""
    ranges: list[dict] = []
    versions: list[str] = []
    concerned = False
    for affected in doc.get("affected", []):
        pkg = affected.get("package", {})
        if pkg.get("ecosystem") != "PyPI" or canonicalize_name(pkg.get("name", "")) != package:
            continue
        concerned = True
        versions += [str(v) for v in affected.get("versions", [])]
        for rng in affected.get("ranges", []):
            if rng.get("type") == "ECOSYSTEM":
                ranges += ranges_of(rng.get("events", []))
    if not concerned:
        return None
    fixed = sorted({r["fixed"] for r in ranges if "fixed" in r})
    record = {
        "id": doc["id"],
        "aliases": list(doc.get("aliases", [])),
        "summary": doc.get("summary") or first_sentence(doc.get("details", "")),
        "ranges": ranges,
        "versions": versions,
        "fixed": fixed,
        "modified": str(doc.get("modified", "")),
        "source": "pypa/advisory-database",
    }
    if doc.get("withdrawn"):
        record["withdrawn"] = str(doc["withdrawn"])
    return record


def read_checkout(checkout: Path, names: list[str]) -> dict[str, list[dict]]:
    vulns = checkout / "vulns"
    if not vulns.is_dir():
        raise SystemExit(
            f"{checkout} has no vulns/ directory: not a pypa/advisory-database checkout"
        )
    dirs = {canonicalize_name(d.name): d for d in vulns.iterdir() if d.is_dir()}
    found: dict[str, list[dict]] = {}
    for name in names:
        records = []
        folder = dirs.get(name)
        for path in sorted(folder.glob("*.yaml")) if folder else []:
            if path.name.startswith("PYSEC-0000-"):
                continue
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            record = from_osv(doc, name) if isinstance(doc, dict) else None
            if record:
                records.append(record)
        found[name] = records
    return found


def checkout_revision(checkout: Path) -> str:
    try:
        out = subprocess.run(  # noqa: S603 - fixed argv, no shell
            ["git", "-C", str(checkout), "rev-parse", "HEAD"],  # noqa: S607 - git from PATH
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return out.stdout.strip()


def from_pypi(name: str, timeout: float = 30) -> tuple[str, list[dict]]:
    """(latest version, its vulnerabilities) from PyPI's project JSON."""
    with urllib.request.urlopen(PYPI_JSON.format(name=name), timeout=timeout) as resp:  # noqa: S310 - fixed https URL
        data = json.load(resp)
    latest = data["info"]["version"]
    records = []
    for vuln in data.get("vulnerabilities") or []:
        record = {
            "id": vuln["id"],
            "aliases": list(vuln.get("aliases") or []),
            "summary": vuln.get("summary") or first_sentence(vuln.get("details", "")),
            "ranges": [],
            "versions": [latest],
            "fixed": list(vuln.get("fixed_in") or []),
            "source": "pypi.org JSON API",
        }
        if vuln.get("withdrawn"):
            record["withdrawn"] = str(vuln["withdrawn"])
        records.append(record)
    return latest, records


def merge(records: list[dict], extra: list[dict]) -> list[dict]:
    by_key = {r["id"]: r for r in records}
    for rec in extra:
        known = by_key.get(rec["id"]) or next(
            (r for r in records if set(r["aliases"]) & ({rec["id"], *rec["aliases"]})), None
        )
        if known is None:
            records.append(rec)
            by_key[rec["id"]] = rec
            continue
        known["versions"] = sorted(set(known["versions"]) | set(rec["versions"]))
        known["fixed"] = sorted(set(known["fixed"]) | set(rec["fixed"]))
    return records


def build(checkout: Path, lock: Path, use_pypi: bool, note: str) -> dict:
    names = sorted(parse_lock(lock.read_text(encoding="utf-8")))
    advisories = read_checkout(checkout, names)
    newest = max((r["modified"] for recs in advisories.values() for r in recs), default="")
    sources = [
        {
            "name": "PyPA advisory database",
            "url": REPO_URL,
            "checkout_revision": checkout_revision(checkout),
            "newest_advisory_modified": newest,
        }
    ]
    packages: dict[str, dict] = {}
    for name in names:
        entry: dict = {"advisories": advisories[name]}
        if use_pypi:
            latest, records = from_pypi(name)
            entry["pypi_latest_checked"] = latest
            entry["advisories"] = merge(entry["advisories"], records)
        entry["advisories"].sort(key=lambda r: r["id"])
        packages[name] = entry
    if use_pypi:
        sources.append(
            {
                "name": "PyPI JSON API, `vulnerabilities` of each package's latest release",
                "url": "https://pypi.org/pypi/<package>/json",
            }
        )
    snapshot = {
        "format": 1,
        "snapshot_date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "generated_by": "security/refresh_advisories.py (make advisories)",
        "sources": sources,
        "packages": packages,
    }
    if note:
        snapshot["note"] = note
    return snapshot


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout", type=Path, help="checkout of pypa/advisory-database")
    parser.add_argument("--lock", type=Path, default=DEFAULT_LOCK)
    parser.add_argument("--output", type=Path, default=DEFAULT_ADVISORIES)
    parser.add_argument(
        "--pypi",
        action="store_true",
        help="also record what PyPI's JSON API reports for the latest releases",
    )
    parser.add_argument("--note", default="", help="free text stored with the snapshot")
    args = parser.parse_args(argv)
    snapshot = build(args.checkout, args.lock, args.pypi, args.note)
    args.output.write_text(
        json.dumps(snapshot, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    count = sum(len(p["advisories"]) for p in snapshot["packages"].values())
    print(f"{args.output}: {len(snapshot['packages'])} packages, {count} advisories")
    return 0


if __name__ == "__main__":
    sys.exit(main())
