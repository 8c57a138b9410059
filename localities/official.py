"""``localities import --official``: the reformed geography from the ``vietnam-provinces`` package.

34 provinces and centrally-run cities, 3,321 communes, wards and special zones, with the codes of
the statistics office (Tổng cục Thống kê): two digits for a province, five for a commune, as the
codes already used here ("44" Quảng Trị, "19597" Xã Cam Lộ).

What the import keeps of the units already held:
- a unit keeps its row (id), its history (``merged_into``, ``renamed_from``), its villages and its
  office's contacts (address, phone, e-mail, office hours): the package knows none of these;
- a unit the package names differently is renamed, the former name kept in ``renamed_from``;
- a unit the package puts under another province is moved there;
- nothing is deleted: units the package does not list (merged communes, villages) stay as they are.

Run twice, the second run changes nothing and says so. It works in bulk (a handful of statements
per thousand units), so the whole country takes a few seconds on SQLite or PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import click
from flask_babel import gettext as _
from sqlalchemy import bindparam, insert, select, update

from audit.models import AuditEvent
from core.extensions import db
from core.textutil import clean_text
from core.timeutil import utcnow
from localities.models import Locality, LocalityKind
from localities.validation import KIND_LABELS, Refused, check_code, check_name

#: Rows per INSERT/UPDATE statement (well under every database's parameter limit).
BATCH = 500


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    kind: LocalityKind
    parent_code: str | None


@dataclass
class Summary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    renamed: int = 0
    moved: int = 0
    #: Units held here that the package does not list (kept as they are).
    not_listed: int = 0
    #: Units the package lists that are held here as merged into another: the merge is kept.
    merges_kept: int = 0
    provinces: int = 0
    communes: int = 0
    version: str = ""
    data_version: str = ""
    examples: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


def province_code(code: int) -> str:
    return f"{int(code):02d}"


def commune_code(code: int) -> str:
    return f"{int(code):05d}"


def province_name(name: str, division_type: str) -> str:
    """ "Tỉnh Quảng Trị" as notices write it; the package says "Quảng Trị", type "tỉnh"."""
    if division_type == "tỉnh" and not name.lower().startswith("tỉnh "):
        return f"Tỉnh {name}"
    return name  # "Thành phố Hà Nội" already carries its type


def package_units() -> tuple[list[Unit], str, str]:
    """Every province then every commune of the package, with its version and data date."""
    try:
        import vietnam_provinces as vp
        from vietnam_provinces import Province, Ward
    except ImportError:  # pragma: no cover - a dependency in pyproject.toml
        raise Refused(
            _(
                "The vietnam-provinces package is not installed: run `pip install vietnam-provinces`."
            )
        ) from None
    units = [
        Unit(
            province_code(p.code),
            clean_text(province_name(p.name, getattr(p.division_type, "value", p.division_type))),
            LocalityKind.province,
            None,
        )
        for p in Province.iter_all()
    ]
    units += [
        Unit(
            commune_code(w.code),
            clean_text(w.name),
            LocalityKind.commune,
            province_code(w.province_code),
        )
        for w in Ward.iter_all()
    ]
    units.sort(key=lambda u: (u.kind != LocalityKind.province, u.code))
    return units, getattr(vp, "__version__", "?"), getattr(vp, "__data_version__", "?")


def _held() -> dict[str, dict]:
    """Every unit held, by code: one query of plain rows (no ORM objects for 3,000 units)."""
    t = Locality.__table__
    rows = db.session.execute(
        select(
            t.c.id,
            t.c.code,
            t.c.name,
            t.c.kind,
            t.c.parent_id,
            t.c.merged_into_id,
            t.c.renamed_from,
        )
    ).mappings()
    return {r["code"]: dict(r) for r in rows}


def _check(units: list[Unit], held: dict[str, dict]) -> None:
    """Refuse the whole import when a package code is held here as another kind of unit."""
    problems = []
    for u in units:
        try:
            check_code(u.code)
            check_name(u.name)
        except ValueError as exc:
            problems.append(f"{u.code}: {exc}")
        old = held.get(u.code)
        if old is not None and LocalityKind(old["kind"]) != u.kind:
            problems.append(
                _(
                    "%(code)s is held here as a %(held)s, but the package lists %(name)s as a %(kind)s.",
                    code=u.code,
                    held=KIND_LABELS[LocalityKind(old["kind"])],
                    name=u.name,
                    kind=KIND_LABELS[u.kind],
                )
            )
    if problems:
        shown = problems[:20]
        if len(problems) > 20:
            shown.append(_("… and %(n)d more.", n=len(problems) - 20))
        shown.append(_("Nothing was imported."))
        raise Refused("\n".join(shown))


def _batches(rows: list, size: int = BATCH):
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def run(progress: Callable[[str], None] = lambda _m: None) -> Summary:
    """Import the package's units; the caller commits. Returns what was done."""
    units, version, data_version = package_units()
    summary = Summary(version=version, data_version=data_version)
    summary.provinces = sum(1 for u in units if u.kind == LocalityKind.province)
    summary.communes = len(units) - summary.provinces
    progress(
        _(
            "vietnam-provinces %(version)s (data of %(date)s): %(provinces)d provinces, "
            "%(communes)d communes, wards and special zones.",
            version=version,
            date=data_version,
            provinces=summary.provinces,
            communes=summary.communes,
        )
    )
    held = _held()
    _check(units, held)
    listed = {u.code for u in units}
    summary.not_listed = sum(
        1
        for code, row in held.items()
        if code not in listed and row["kind"] in (LocalityKind.province, LocalityKind.commune)
    )
    table = Locality.__table__
    now = utcnow()
    events: list[dict] = []

    # Provinces first, then communes: a commune's parent must have its id before it is written.
    for level in (LocalityKind.province, LocalityKind.commune):
        ids = {code: row["id"] for code, row in held.items()}
        new_rows, changes = [], []
        level_units = [u for u in units if u.kind == level]
        for u in level_units:
            parent_id = ids.get(u.parent_code) if u.parent_code else None
            old = held.get(u.code)
            if old is None:
                new_rows.append(
                    {
                        "code": u.code,
                        "name": u.name,
                        "kind": level,
                        "parent_id": parent_id,
                        "created_at": now,
                    }
                )
                continue
            if old["merged_into_id"] is not None:
                summary.merges_kept += 1
            change: dict[str, object] = {}
            if old["name"] != u.name:
                change["name"] = u.name
                change["renamed_from"] = old["name"]
            if level == LocalityKind.commune and old["parent_id"] != parent_id:
                change["parent_id"] = parent_id
            if change:
                changes.append((old, change, u))
            else:
                summary.unchanged += 1

        for chunk in _batches(new_rows):
            db.session.execute(insert(table), chunk)
        created = []
        for chunk in _batches([r["code"] for r in new_rows]):
            query = select(table.c.id, table.c.code, table.c.name, table.c.parent_id)
            created += db.session.execute(query.where(table.c.code.in_(chunk))).mappings().all()
        if new_rows:
            for row in created:
                held[row["code"]] = {
                    **row,
                    "kind": level,
                    "merged_into_id": None,
                    "renamed_from": None,
                }
                events.append(
                    _event(
                        "locality.create",
                        row["id"],
                        {
                            "code": row["code"],
                            "name": row["name"],
                            "kind": level.value,
                            "via": "official",
                            "package": version,
                        },
                    )
                )
            summary.created += len(new_rows)
            progress(_("%(kind)s: %(n)d added.", kind=_level_label(level), n=len(new_rows)))

        # One UPDATE statement per batch: each row sets the same columns (unchanged ones to themselves).
        stmt = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                name=bindparam("b_name"),
                renamed_from=bindparam("b_renamed_from"),
                parent_id=bindparam("b_parent_id"),
            )
        )
        params = []
        for old, change, u in changes:
            params.append(
                {
                    "b_id": old["id"],
                    "b_name": change.get("name", old["name"]),
                    "b_renamed_from": change.get("renamed_from", old["renamed_from"]),
                    "b_parent_id": change.get("parent_id", old["parent_id"]),
                }
            )
            data: dict[str, object] = {"code": u.code, "via": "official", "package": version}
            if "name" in change:
                summary.renamed += 1
                data.update(name=u.name, renamed_from=old["name"])
                if len(summary.examples) < 10:
                    summary.examples.append(
                        _("%(code)s: %(old)s → %(new)s", code=u.code, old=old["name"], new=u.name)
                    )
            if "parent_id" in change:
                summary.moved += 1
                data["parent"] = u.parent_code
            events.append(_event("locality.update", old["id"], data))
            old.update(change)
        for chunk in _batches(params):
            db.session.execute(stmt.execution_options(synchronize_session=False), chunk)
        summary.updated += len(changes)
        if changes:
            progress(_("%(kind)s: %(n)d updated.", kind=_level_label(level), n=len(changes)))

    if events:
        events.append(
            _event(
                "locality.import",
                None,
                {
                    "via": "official",
                    "package": version,
                    "data_version": data_version,
                    "created": summary.created,
                    "updated": summary.updated,
                    "unchanged": summary.unchanged,
                },
                object_type="locality",
            )
        )
        for chunk in _batches(events):
            db.session.execute(insert(AuditEvent.__table__), chunk)
    return summary


def _event(action: str, object_id: int | None, data: dict, object_type: str = "locality") -> dict:
    """An audit event as a row (bulk-inserted); the locality is the unit itself."""
    return {
        "at": utcnow(),
        "actor_id": None,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "locality_id": object_id,
        "data": data,
    }


def _level_label(level: LocalityKind) -> str:
    return (
        _("Provinces") if level == LocalityKind.province else _("Communes, wards and special zones")
    )


def import_official() -> Summary:
    """The command: progress on standard output, one transaction, a summary at the end."""
    started = time.perf_counter()
    try:
        summary = run(progress=click.echo)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    seconds = time.perf_counter() - started
    for line in summary.examples:
        click.echo("  " + line)
    if not summary.changed:
        click.echo(
            _(
                "Nothing changed: the %(n)d units already match vietnam-provinces %(version)s.",
                n=summary.unchanged,
                version=summary.version,
            )
        )
    click.echo(
        _(
            "%(created)d created, %(updated)d updated (%(renamed)d renamed, %(moved)d moved to another "
            "province), %(unchanged)d unchanged, in %(seconds).1f s.",
            created=summary.created,
            updated=summary.updated,
            renamed=summary.renamed,
            moved=summary.moved,
            unchanged=summary.unchanged,
            seconds=seconds,
        )
    )
    if summary.merges_kept or summary.not_listed:
        click.echo(
            _(
                "Kept as they were: %(merged)d units held here as merged into another, %(unlisted)d "
                "provinces and communes held here that the package does not list (nothing is deleted).",
                merged=summary.merges_kept,
                unlisted=summary.not_listed,
            )
        )
    return summary
