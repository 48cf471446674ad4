"""Settings (schools, early years settings: often 100 or more) added or updated in bulk from a CSV.

Columns: ``name``, ``reference_number`` (a school's URN, an Ofsted number), ``sector`` (its name or key) and
an optional ``contact_email``; header names are matched ignoring case, spaces and underscores ("Reference
number" is ``reference_number``). Each row is matched to an agency of the partnership on its reference
number, then on its name (whatever the case or spaces): no match adds an agency; a match whose name, sector,
reference number or contact email differ updates it; otherwise the row is unchanged. So uploading the same
file twice changes nothing.

``plan_import()`` reads and checks the whole file and names every bad row and field at once, changing
nothing: the preview. ``apply_import()`` plans again and applies the plan through the account services, in
the caller's transaction; a refusal raises and the view rolls back, so nothing is half-saved.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import sqlalchemy as sa

from ..core.errors import DomainError, FieldErrors
from ..core.files import csv_cell
from ..extensions import db
from . import services
from .models import PartnershipAgency, Sector, name_key

COLUMNS = ("name", "reference_number", "sector", "contact_email")
REQUIRED = ("name", "reference_number", "sector")
COLUMN_LABELS = {
    "name": "Name",
    "reference_number": "Reference number",
    "sector": "Sector",
    "contact_email": "Contact email",
}
#: the largest file read (a few thousand settings is far less)
MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000


class ImportAction:
    ADD = "add"
    UPDATE = "update"
    UNCHANGED = "unchanged"


@dataclass
class PlannedRow:
    """One row of the file and what applying it does."""

    row: int
    name: str
    reference_number: str
    sector: Sector
    contact_email: str
    action: str
    #: the agency it matched (update, unchanged)
    link: PartnershipAgency | None = None
    #: what changes, in words (update)
    changes: list[str] = field(default_factory=list)


@dataclass
class RowProblem:
    row: int
    column: str
    message: str

    @property
    def text(self) -> str:
        where = f"Row {self.row}" if self.row else "The file"
        return (
            f"{where}: {COLUMN_LABELS.get(self.column, self.column)}: {self.message}"
            if self.column
            else f"{where}: {self.message}"
        )


@dataclass
class ImportPlan:
    rows: list[PlannedRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    def of(self, action: str) -> list[PlannedRow]:
        return [r for r in self.rows if r.action == action]

    @property
    def counts(self) -> dict[str, int]:
        return {a: len(self.of(a)) for a in (ImportAction.ADD, ImportAction.UPDATE, ImportAction.UNCHANGED)}


def _column(header: str) -> str:
    return "_".join(header.replace("\ufeff", "").strip().lower().replace("_", " ").split())


def decode(data: bytes) -> str:
    """The file's text (UTF-8, with or without a byte order mark; Windows-1252 as spreadsheets often save it)."""
    if len(data) > MAX_BYTES:
        raise FieldErrors({"file": [f"The file must be smaller than {MAX_BYTES // (1024 * 1024)}MB"]})
    if not data.strip():
        raise FieldErrors({"file": ["The selected file is empty"]})
    if b"\x00" in data:
        raise FieldErrors({"file": ["The selected file must be a CSV file (text, with commas between columns)"]})
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _sectors(partnership_id: int) -> tuple[dict[str, Sector], dict[str, Sector]]:
    sectors = list(db.session.scalars(sa.select(Sector).where(Sector.partnership_id == partnership_id)))
    return {s.key.casefold(): s for s in sectors}, {s.name_key: s for s in sectors}


def _links(partnership_id: int) -> list[PartnershipAgency]:
    return list(
        db.session.scalars(sa.select(PartnershipAgency).where(PartnershipAgency.partnership_id == partnership_id))
    )


def plan_import(partnership_id: int, text: str) -> ImportPlan:
    """Read and check the whole CSV; what applying it would do, and every problem (row and column) at once."""
    plan = ImportPlan()
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as error:
        plan.problems.append(RowProblem(1, "", f"the file cannot be read as CSV ({error})"))
        return plan
    if header is None:
        plan.problems.append(RowProblem(0, "", "it has no header row: the first row names the columns"))
        return plan
    columns = [_column(h) for h in header]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        plan.problems.append(
            RowProblem(
                1,
                "",
                "the header row must name the columns "
                + ", ".join(COLUMN_LABELS[c] for c in COLUMNS[:3])
                + " (and optionally Contact email); missing: "
                + ", ".join(COLUMN_LABELS[c] for c in missing),
            )
        )
        return plan
    by_key, by_name = _sectors(partnership_id)
    links = _links(partnership_id)
    by_reference = {link.reference_number: link for link in links if link.reference_number}
    by_agency_name = {link.agency_name_key: link for link in links}
    seen_references: dict[str, int] = {}
    seen_names: dict[str, int] = {}
    matched: dict[int, int] = {}
    number = 1
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if number - 1 > MAX_ROWS:
                plan.problems.append(RowProblem(number, "", f"a file can hold at most {MAX_ROWS:,} settings"))
                break
            values = {c: (cells[i].strip() if i < len(cells) else "") for i, c in enumerate(columns) if c in COLUMNS}
            _plan_row(
                plan,
                number,
                values,
                by_key,
                by_name,
                by_reference,
                by_agency_name,
                seen_references,
                seen_names,
                matched,
            )
    except csv.Error as error:
        plan.problems.append(RowProblem(number, "", f"the row cannot be read as CSV ({error})"))
    if not plan.rows and not plan.problems:
        plan.problems.append(RowProblem(0, "", "it has no settings: add one row per setting below the header"))
    return plan


def _plan_row(
    plan: ImportPlan,
    number: int,
    values: dict[str, str],
    by_key: dict[str, Sector],
    by_name: dict[str, Sector],
    by_reference: dict[str, PartnershipAgency],
    by_agency_name: dict[str, PartnershipAgency],
    seen_references: dict[str, int],
    seen_names: dict[str, int],
    matched: dict[int, int],
) -> None:
    problems: list[RowProblem] = []
    name = " ".join(values.get("name", "").split())
    if not name:
        problems.append(RowProblem(number, "name", "enter the setting's name"))
    elif len(name) > 200:
        problems.append(RowProblem(number, "name", "must be 200 characters or fewer"))
    reference, problem = services.clean_reference_number(values.get("reference_number"))
    if problem:
        problems.append(RowProblem(number, "reference_number", problem.removeprefix("Reference number: ")))
    elif reference is None:
        problems.append(
            RowProblem(number, "reference_number", "enter the setting's reference number (its URN or Ofsted number)")
        )
    raw_sector = values.get("sector", "")
    sector = by_key.get(raw_sector.strip().casefold()) or by_name.get(name_key(raw_sector) or "")
    if not raw_sector.strip():
        problems.append(RowProblem(number, "sector", "enter the sector's name or key"))
    elif sector is None:
        problems.append(RowProblem(number, "sector", f"“{raw_sector}” is not a sector of this partnership"))
    email, problem = services.clean_contact_email(values.get("contact_email"))
    if problem:
        problems.append(RowProblem(number, "contact_email", problem.removeprefix("Contact email: ")))
    if reference and reference in seen_references:
        problems.append(RowProblem(number, "reference_number", f"the same number as row {seen_references[reference]}"))
    key = name_key(name) if name else None
    if key and key in seen_names:
        problems.append(RowProblem(number, "name", f"the same name as row {seen_names[key]}"))
    if reference:
        seen_references.setdefault(reference, number)
    if key:
        seen_names.setdefault(key, number)
    if problems:
        plan.problems.extend(problems)
        return
    assert sector is not None and reference is not None and key is not None
    link = by_reference.get(reference) or by_agency_name.get(key)
    if link is None:
        plan.rows.append(PlannedRow(number, name, reference, sector, email, ImportAction.ADD))
        return
    if link.id in matched:
        plan.problems.append(
            RowProblem(number, "name", f"matches the same agency as row {matched[link.id]} ({link.agency.name})")
        )
        return
    matched[link.id] = number
    named = by_agency_name.get(key)
    if named is not None and named.id != link.id:
        plan.problems.append(
            RowProblem(number, "name", f"another agency of the partnership is already called {named.agency.name}")
        )
        return
    holder = by_reference.get(reference)
    if holder is not None and holder.id != link.id:
        plan.problems.append(
            RowProblem(number, "reference_number", f"already the reference number of {holder.agency.name}")
        )
        return
    changes = []
    if link.agency.name != name:
        changes.append(f"name from {link.agency.name}")
    if link.sector_id != sector.id:
        changes.append(f"sector from {link.sector.name}")
    if link.reference_number != reference:
        changes.append(
            f"reference number from {link.reference_number}" if link.reference_number else "reference number set"
        )
    if email and link.contact_email != email:
        changes.append("contact email")
    action = ImportAction.UPDATE if changes else ImportAction.UNCHANGED
    plan.rows.append(PlannedRow(number, name, reference, sector, email, action, link=link, changes=changes))


def apply_import(partnership_id: int, text: str) -> tuple[ImportPlan, list[PartnershipAgency]]:
    """Plan the file again and apply it (adds and updates; flushes, never commits); every agency the file names.

    Raises FieldErrors (every problem, by row) when the file has any, before changing anything; a service's
    refusal on a row is raised naming its row, and the caller rolls back."""
    plan = plan_import(partnership_id, text)
    if plan.problems:
        raise FieldErrors({"file": [p.text for p in plan.problems]}, what="rows")
    named: list[PartnershipAgency] = []
    for row in plan.rows:
        try:
            if row.action == ImportAction.ADD:
                link = services.create_agency(
                    partnership_id,
                    row.name,
                    row.sector,
                    reference_number=row.reference_number,
                    contact_email=row.contact_email,
                )
            else:
                link = row.link
                assert link is not None
                if row.action == ImportAction.UPDATE:
                    services.update_agency(
                        link,
                        row.name,
                        row.sector,
                        reference_number=row.reference_number,
                        contact_email=row.contact_email or None,
                    )
        except DomainError as error:
            raise FieldErrors({"file": [f"Row {row.row}: {error.message}"]}) from None
        named.append(link)
    return plan, named


def template_csv() -> str:
    """The template to fill in: the header and two example rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([COLUMN_LABELS[c] for c in COLUMNS])
    writer.writerow(["Example Primary School", "100001", "Education", "dsl@example-primary.sch.uk"])
    writer.writerow(["Little Acorns Nursery", "EY123456", "Education", ""])
    return out.getvalue()


def settings_csv(partnership_id: int) -> str:
    """The partnership's agencies in the import's columns (to edit and upload again); any cell a spreadsheet would
    run as a formula is made text (core.files.csv_cell)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([COLUMN_LABELS[c] for c in COLUMNS])
    for link in sorted(_links(partnership_id), key=lambda link: link.agency.name.casefold()):
        writer.writerow(
            [csv_cell(v) for v in (link.agency.name, link.reference_number or "", link.sector.name, link.contact_email)]
        )
    return out.getvalue()
