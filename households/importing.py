"""``households import``: many households from a CSV file, all or nothing (the command line
and the register's page share it)."""

from __future__ import annotations

import csv
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from audit.models import record_now
from auth.models import User
from core.extensions import db
from core.textutil import clean_text
from households.models import Household
from households.services import PERSONAL_FIELDS, check_lengths, find, flush
from localities.models import Locality, LocalityKind

COLUMNS = ("code", "village_code", "representative_name", "address")
#: Errors of a refused import listed before "and N more".
MAX_ERRORS_SHOWN = 50
#: Rows of a file imported from the register's page (a commune has a few thousand households;
#: each row is stored and audited within the request). The command line takes any number.
WEB_MAX_ROWS = 10_000


class ImportRefused(Exception):
    """The file has bad rows: nothing was stored. ``errors`` are (line, message)."""

    def __init__(self, errors: list[tuple[int, str]]):
        super().__init__(f"{len(errors)} errors")
        self.errors = errors

    def lines(self) -> list[str]:
        shown = [_("Line %(line)d: %(message)s", line=n, message=m) for n, m in self.errors]
        extra = len(shown) - MAX_ERRORS_SHOWN
        shown = shown[:MAX_ERRORS_SHOWN]
        if extra > 0:
            shown.append(_("… and %(n)d more.", n=extra))
        return shown


@dataclass
class Row:
    line: int
    code: str
    village_code: str
    representative_name: str
    address: str
    village: Locality | None = None


def read_csv(data: bytes, max_rows: int | None = None) -> tuple[list[Row], list[tuple[int, str]]]:
    """The rows of the file and the problems found in them on their own."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(
            [(1, _('The file is not UTF-8 text. Save it as "CSV UTF-8" and try again.'))]
        ) from None
    reader = csv.DictReader(text.splitlines(keepends=True))
    header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    if sorted(header) != sorted(COLUMNS):
        raise ImportRefused(
            [(1, _("The columns must be %(columns)s.", columns=", ".join(COLUMNS)))]
        )
    reader.fieldnames = header
    rows, errors = [], []
    for count, raw in enumerate(reader, start=1):
        line = reader.line_num
        if max_rows is not None and count > max_rows:
            raise ImportRefused(
                [
                    (
                        line,
                        _(
                            "The file has more than %(n)d households: import it in several files.",
                            n=max_rows,
                        ),
                    )
                ]
            )
        if raw.get(None):
            errors.append((line, _("This line has more values than there are columns.")))
            continue
        values = {k: clean_text(v or "").strip() for k, v in raw.items() if k}
        if not any(values.values()):
            continue  # a blank line at the end of a spreadsheet's export
        row = Row(
            line,
            values["code"],
            values["village_code"],
            *(" ".join(values[k].split()) for k in ("representative_name", "address")),
        )
        problem = check_lengths(row.code, row.representative_name, row.address)
        if problem:
            errors.append((line, problem))
        rows.append(row)
    return rows, errors


def import_households(
    data: bytes,
    *,
    by: User | None,
    via: str,
    allowed: set[int] | None = None,
    max_rows: int | None = None,
) -> tuple[int, int]:
    """Create or update every household of the CSV file, all or nothing; (created, updated).
    ``allowed``: the ids of the villages the person may keep the register of (None: any);
    ``max_rows``: more rows than this are refused before anything is looked up."""
    rows, errors = read_csv(data, max_rows)
    codes = {r.village_code for r in rows if r.village_code}
    villages = (
        {
            loc.code: loc
            for loc in db.session.scalars(select(Locality).where(Locality.code.in_(codes)))
        }
        if codes
        else {}
    )
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        loc = villages.get(row.village_code)
        if loc is None:
            errors.append((row.line, _("Unknown village code %(code)r.", code=row.village_code)))
        elif loc.kind != LocalityKind.village:
            errors.append(
                (row.line, _("%(code)s is not a village or residential group.", code=loc.code))
            )
        elif allowed is not None and loc.id not in allowed:
            errors.append((row.line, _("You do not keep the register of %(name)s.", name=loc.name)))
        else:
            row.village = loc
        key = (row.village_code, row.code.casefold())
        if row.code and key in seen:
            errors.append(
                (
                    row.line,
                    _(
                        "The code %(code)s is already on line %(line)d.",
                        code=row.code,
                        line=seen[key],
                    ),
                )
            )
        seen.setdefault(key, row.line)
    if errors:
        raise ImportRefused(sorted(errors))
    created = updated = 0
    for row in rows:
        h = find(row.village.id, row.code)
        if h is None:
            h = Household(
                locality_id=row.village.id,
                code=row.code,
                representative_name=row.representative_name,
                address=row.address,
                active=True,
            )
            db.session.add(h)
            db.session.flush()
            record_now(
                "household.create",
                h,
                by=by,
                locality_id=h.locality_id,
                code=h.code,
                village=row.village.code,
                via=via,
            )
            created += 1
            continue
        changed = [f for f in PERSONAL_FIELDS if getattr(h, f) != getattr(row, f)]
        if changed:
            for f in changed:
                setattr(h, f, getattr(row, f))
            record_now(
                "household.edit",
                h,
                by=by,
                locality_id=h.locality_id,
                code=h.code,
                fields=changed,
                via=via,
            )
            updated += 1
    flush()
    return created, updated
