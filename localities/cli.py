"""Commands: ``localities add`` and ``localities import``."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from audit.models import record as audit
from extensions import db
from localities.models import Locality, LocalityKind
from textutil import clean_text

#: The kind a unit's parent must have (None: it has no parent). No district level since 2025.
PARENT_KIND = {
    LocalityKind.province: None,
    LocalityKind.commune: LocalityKind.province,
    LocalityKind.village: LocalityKind.commune,
}
KIND_LABELS = {
    LocalityKind.province: _l("province"),
    LocalityKind.commune: _l("commune"),
    LocalityKind.village: _l("village"),
}
#: Codes appear in URLs and forms: letters, digits, dot, dash, underscore.
CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")
NAME_MAX = 200
REQUIRED_COLUMNS = ("code", "name", "kind", "parent_code")
OPTIONAL_COLUMNS = ("merged_into_code", "renamed_from")
#: Errors listed before "and N more".
MAX_ERRORS_SHOWN = 50
#: Codes looked up per query (well under every database's parameter limit).
LOOKUP_CHUNK = 500


class Refused(click.ClickException):
    """A translated message on standard error and exit code 1, without click's "Error:"."""

    def show(self, file=None) -> None:
        click.echo(self.format_message(), err=True)


def parse_kind(value: str | None) -> LocalityKind:
    try:
        return LocalityKind((value or "").strip().lower())
    except ValueError:
        raise ValueError(
            _("Unknown kind %(kind)r: use province, commune or village.", kind=value or "")
        ) from None


def check_code(code: str) -> None:
    if not CODE_RE.match(code):
        raise ValueError(
            _(
                "The code %(code)r is not valid: use up to 32 letters, digits, dots or dashes.",
                code=code,
            )
        )


def check_name(name: str) -> None:
    if not name:
        raise ValueError(_("The name is missing."))
    if len(name) > NAME_MAX:
        raise ValueError(_("The name can be at most %(n)d characters.", n=NAME_MAX))


def check_parent(
    kind: LocalityKind, parent_code: str | None, parent_kind: LocalityKind | None
) -> None:
    """Refuse a unit whose parent is missing, unknown or of the wrong level."""
    wanted = PARENT_KIND[kind]
    if wanted is None:
        if parent_code:
            raise ValueError(_("A province cannot have a parent unit."))
        return
    if not parent_code:
        raise ValueError(
            _(
                "A %(kind)s needs the code of its parent %(parent)s.",
                kind=KIND_LABELS[kind],
                parent=KIND_LABELS[wanted],
            )
        )
    if parent_kind is None:
        raise ValueError(_("Unknown parent code %(code)r.", code=parent_code))
    if parent_kind != wanted:
        raise ValueError(
            _(
                "A %(kind)s belongs under a %(wanted)s, but %(code)s is a %(actual)s.",
                kind=KIND_LABELS[kind],
                wanted=KIND_LABELS[wanted],
                code=parent_code,
                actual=KIND_LABELS[parent_kind],
            )
        )


def _existing(codes: set[str]) -> dict[str, Locality]:
    found: dict[str, Locality] = {}
    ordered = sorted(codes)
    for i in range(0, len(ordered), LOOKUP_CHUNK):
        chunk = ordered[i : i + LOOKUP_CHUNK]
        query = select(Locality).where(Locality.code.in_(chunk))
        query = query.options(selectinload(Locality.parent), selectinload(Locality.merged_into))
        for loc in db.session.scalars(query):
            found[loc.code] = loc
    return found


localities_cli = AppGroup(
    "localities", help="Manage administrative units (province, commune, village)."
)


@localities_cli.command("add")
@click.option("--code", required=True, help="Official administrative code, e.g. 19597.")
@click.option("--name", required=True, help='Full name, e.g. "Xã Cam Lộ".')
@click.option("--kind", required=True, help="province, commune or village.")
@click.option("--parent", "parent_code", default=None, help="Code of the unit above it.")
def add_command(code: str, name: str, kind: str, parent_code: str | None) -> None:
    """Add one administrative unit."""
    code, name = code.strip(), clean_text(name)
    parent_code = (parent_code or "").strip() or None
    try:
        check_code(code)
        check_name(name)
        parsed = parse_kind(kind)
        if db.session.scalar(select(Locality.id).where(Locality.code == code)) is not None:
            raise ValueError(_("A unit with the code %(code)s already exists.", code=code))
        parent = _existing({parent_code}).get(parent_code) if parent_code else None
        check_parent(parsed, parent_code, parent.kind if parent else None)
    except ValueError as exc:
        raise Refused(str(exc)) from None
    loc = Locality(code=code, name=name, kind=parsed, parent=parent)
    db.session.add(loc)
    db.session.flush()
    audit(
        "locality.create",
        loc,
        locality_id=loc.id,
        code=code,
        name=name,
        kind=parsed.value,
        via="cli",
    )
    db.session.commit()
    click.echo(
        _("Added %(kind)s %(code)s %(name)s.", kind=KIND_LABELS[parsed], code=code, name=name)
    )


# --- import ------------------------------------------------------------------------------------


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


@localities_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(file: Path) -> None:
    """Import units from a CSV file (code,name,kind,parent_code[,merged_into_code][,renamed_from])."""
    rows, errors = read_rows(file)
    if not rows and not errors:
        raise Refused(_("The file has no rows to import."))
    codes = {r.code for r in rows} | {r.parent_code for r in rows if r.parent_code}
    codes |= {r.merged_into_code for r in rows if r.merged_into_code}
    existing = _existing(codes)
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


#: Registered by cli.register().
COMMANDS = [localities_cli]
