"""``localities import FILE.csv``: many units at once, all or nothing."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_babel import gettext as _

from audit.models import record as audit
from core.extensions import db
from core.textutil import clean_text
from localities.models import Locality, LocalityKind
from localities.official import import_official
from localities.validation import (
    KIND_LABELS,
    NAME_MAX,
    Refused,
    check_code,
    check_name,
    check_parent,
    existing_by_code,
    parse_kind,
)

REQUIRED_COLUMNS = ("code", "name", "kind", "parent_code")
OPTIONAL_COLUMNS = ("merged_into_code", "renamed_from")
#: Errors listed before "and N more".
MAX_ERRORS_SHOWN = 50


@dataclass
class Row:
    line: int
    code: str
    name: str
    kind: LocalityKind | None
    parent_code: str | None
    merged_into_code: str | None
    renamed_from: str | None


def read_rows(path: Path) -> tuple[list[Row], list[tuple[int, str]]]:
    """Every row of the file and the problems found in the rows on their own."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise Refused(
            _('The file is not UTF-8 text. Save it as "CSV UTF-8" and try again.')
        ) from None
    reader = csv.DictReader(text.splitlines(keepends=True))
    header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [h for h in header if h not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown:
        raise Refused(
            _(
                "Line 1: the columns must be %(columns)s (missing: %(missing)s; unknown: %(unknown)s).",
                columns=", ".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS),
                missing=", ".join(missing) or "-",
                unknown=", ".join(unknown) or "-",
            )
        )
    reader.fieldnames = header
    rows: list[Row] = []
    errors: list[tuple[int, str]] = []
    for raw in reader:
        line = reader.line_num
        if raw.get(None):
            errors.append((line, _("This line has more values than there are columns.")))
            continue
        values = {k: (v or "").strip() for k, v in raw.items() if k}
        row = Row(
            line=line,
            code=values.get("code", ""),
            name=clean_text(values.get("name")),
            kind=None,
            parent_code=values.get("parent_code") or None,
            merged_into_code=values.get("merged_into_code") or None,
            renamed_from=clean_text(values.get("renamed_from")) or None,
        )
        try:
            check_code(row.code)
            check_name(row.name)
            row.kind = parse_kind(values.get("kind"))
            if row.renamed_from and len(row.renamed_from) > NAME_MAX:
                raise ValueError(_("The former name can be at most %(n)d characters.", n=NAME_MAX))
        except ValueError as exc:
            errors.append((line, str(exc)))
        rows.append(row)
    return rows, errors


def check_rows(rows: list[Row], existing: dict[str, Locality]) -> list[tuple[int, str]]:
    """Problems that need the whole file and the database: duplicates, parents, merges."""
    errors: list[tuple[int, str]] = []
    in_file: dict[str, Row] = {}
    for row in rows:
        if row.code in in_file:
            errors.append(
                (
                    row.line,
                    _(
                        "The code %(code)s is already on line %(line)d.",
                        code=row.code,
                        line=in_file[row.code].line,
                    ),
                )
            )
        else:
            in_file[row.code] = row

    def kind_of(code: str) -> LocalityKind | None:
        if code in in_file:
            return in_file[code].kind
        return existing[code].kind if code in existing else None

    def reported(code: str | None) -> bool:
        # A row whose kind was already refused: do not blame the rows that point at it.
        return code in in_file and in_file[code].kind is None

    for row in rows:
        if row.kind is None or in_file.get(row.code) is not row:
            continue
        if reported(row.parent_code) or reported(row.merged_into_code):
            continue
        try:
            old = existing.get(row.code)
            if old is not None and old.kind != row.kind:
                raise ValueError(
                    _(
                        "%(code)s already exists as a %(kind)s; its kind cannot change.",
                        code=row.code,
                        kind=KIND_LABELS[old.kind],
                    )
                )
            if row.parent_code == row.code:
                raise ValueError(_("A unit cannot be its own parent."))
            check_parent(
                row.kind, row.parent_code, kind_of(row.parent_code) if row.parent_code else None
            )
            if row.merged_into_code:
                target = kind_of(row.merged_into_code)
                if row.merged_into_code == row.code:
                    raise ValueError(_("A unit cannot be merged into itself."))
                if target is None:
                    raise ValueError(
                        _("Unknown code %(code)r in merged_into_code.", code=row.merged_into_code)
                    )
                if target != row.kind:
                    raise ValueError(
                        _(
                            "A %(kind)s can only be merged into another %(kind)s.",
                            kind=KIND_LABELS[row.kind],
                        )
                    )
        except ValueError as exc:
            errors.append((row.line, str(exc)))

    # Merges must end at a unit that exists today, not go round in a circle.
    merges = {
        code: loc.merged_into.code for code, loc in existing.items() if loc.merged_into is not None
    }
    merges.update({r.code: r.merged_into_code for r in in_file.values() if r.merged_into_code})
    for row in in_file.values():
        seen, node = {row.code}, merges.get(row.code)
        while node is not None and node not in seen:
            seen.add(node)
            node = merges.get(node)
        if node is not None:
            errors.append(
                (row.line, _("The merges of %(code)s go round in a circle.", code=row.code))
            )
    return errors


def apply_rows(rows: list[Row], existing: dict[str, Locality]) -> tuple[int, int, int]:
    """Create or update every unit; returns (added, updated, unchanged)."""
    by_code = dict(existing)
    created: list[Locality] = []
    for row in rows:
        if row.code not in by_code:
            loc = Locality(code=row.code, name=row.name, kind=row.kind)
            db.session.add(loc)
            by_code[row.code] = loc
            created.append(loc)
    changes: dict[str, dict[str, str | None]] = {}
    for row in rows:
        loc = by_code[row.code]
        new = row.code not in existing
        before = _snapshot(loc)
        if not new and loc.name != row.name and not row.renamed_from:
            loc.renamed_from = loc.name  # keep the history even when the file does not say
        loc.name = row.name
        if row.renamed_from:
            loc.renamed_from = row.renamed_from
        loc.parent = by_code[row.parent_code] if row.parent_code else None
        if row.merged_into_code:
            loc.merged_into = by_code[row.merged_into_code]
        after = _snapshot(loc)
        if not new and after != before:
            changes[row.code] = {k: after[k] for k in after if after[k] != before[k]}
    db.session.flush()
    for loc in created:
        audit(
            "locality.create",
            loc,
            locality_id=loc.id,
            code=loc.code,
            name=loc.name,
            kind=loc.kind.value,
            via="import",
        )
    for code, changed in changes.items():
        loc = by_code[code]
        audit("locality.update", loc, locality_id=loc.id, code=code, via="import", **changed)
    return len(created), len(changes), len(rows) - len(created) - len(changes)


def _snapshot(loc: Locality) -> dict[str, str | None]:
    return {
        "name": loc.name,
        "parent": loc.parent.code if loc.parent is not None else None,
        "merged_into": loc.merged_into.code if loc.merged_into is not None else None,
        "renamed_from": loc.renamed_from,
    }


def _refuse_errors(errors: list[tuple[int, str]]) -> None:
    errors.sort()
    lines = [
        _("Line %(line)d: %(reason)s", line=line, reason=reason)
        for line, reason in errors[:MAX_ERRORS_SHOWN]
    ]
    if len(errors) > MAX_ERRORS_SHOWN:
        lines.append(_("… and %(n)d more.", n=len(errors) - MAX_ERRORS_SHOWN))
    lines.append(_("Nothing was imported."))
    raise Refused("\n".join(lines))


@click.command("import")
@with_appcontext
@click.argument(
    "file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--official",
    is_flag=True,
    help="Import the 34 provinces and 3,321 communes, wards and special zones of the "
    "vietnam-provinces package instead of a file (run it again after upgrading the package).",
)
def import_command(file: Path | None, official: bool) -> None:
    """Import units from a CSV file (code,name,kind,parent_code[,merged_into_code][,renamed_from]),
    or with --official the reformed geography of the vietnam-provinces package."""
    if official == (file is not None):
        raise Refused(_("Name a CSV file to import, or give --official (not both)."))
    if official:
        import_official()
        return
    rows, errors = read_rows(file)
    if not rows and not errors:
        raise Refused(_("The file has no rows to import."))
    codes = {r.code for r in rows} | {r.parent_code for r in rows if r.parent_code}
    codes |= {r.merged_into_code for r in rows if r.merged_into_code}
    existing = existing_by_code(codes)
    errors += check_rows(rows, existing)
    if errors:
        _refuse_errors(errors)
    try:
        added, updated, unchanged = apply_rows(rows, existing)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    click.echo(
        _(
            "%(added)d added, %(updated)d updated, %(unchanged)d unchanged.",
            added=added,
            updated=updated,
            unchanged=unchanged,
        )
    )
