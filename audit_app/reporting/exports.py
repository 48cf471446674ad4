"""Files people take away: every answer as XLSX, and each findings table as CSV or XLSX.

Rows are built by reporting/queries.py and reporting/findings.py; this module only
writes them, so the files carry exactly the figures shown on the pages.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import IO, Any

from ..core import clock
from ..core.access_log import AccessKind, AccessVia, record_access_of
from . import queries as q
from .tables import Table
from .xlsx import XlsxWriter

ANSWER_WIDTHS = [36, 16, 36, 24, 36, 24, 60, 8, 22, 80]


def answers_xlsx(
    target: str | IO[bytes],
    partnership_id: int,
    *,
    round_id: int | None = None,
    theme_id: int | None = None,
    agency_ids: frozenset[int] | None = None,
) -> int:
    """Every returned answer of a round or theme, one row per answer; returns how many rows."""
    rows = q.answer_rows(partnership_id, round_id=round_id, theme_id=theme_id, agency_ids=agency_ids)
    writer = XlsxWriter(target)
    count = writer.add_sheet("Answers", q.ANSWER_COLUMNS, rows, widths=ANSWER_WIDTHS)
    writer.close()
    return count


def record_answers_export(
    partnership_id: int,
    *,
    round_id: int | None = None,
    theme_id: int | None = None,
    agency_ids: frozenset[int] | None = None,
    via: AccessVia = AccessVia.EXPORT,
) -> None:
    """Record in the access log every return (and case) whose answers the export holds.

    Also for what quotes or draws on a round's returns one by one: the collated texts (page and downloads),
    the round's PDFs and the self-assessment report (``via`` says which). Those record every returned return
    of the round the reader may see, whatever filter narrowed the page: the log says more, never less.
    """
    return_ids, case_ids = q.answer_objects(partnership_id, round_id=round_id, theme_id=theme_id, agency_ids=agency_ids)
    record_access_of(AccessKind.RETURN, return_ids, via=via)
    record_access_of(AccessKind.CASE, case_ids, via=via)


def tables_xlsx(tables: Iterable[Table], about: list[tuple[str, Any]]) -> bytes:
    """One sheet per table, after an "About" sheet saying what the figures are."""
    out = io.BytesIO()
    writer = XlsxWriter(out)
    tables = list(tables)
    notes = sorted({note for table in tables for note in table.notes})
    writer.add_sheet(
        "About",
        ["Item", "Detail"],
        [*about, ("Downloaded", clock.local_now().strftime("%d %B %Y %H:%M")), *(("Note", note) for note in notes)],
        widths=[24, 100],
    )
    for table in tables:
        headings, *rows = table.matrix()
        writer.add_sheet(table.sheet_name, headings, rows)
    writer.close()
    return out.getvalue()


CSV_MIMETYPE = "text/csv"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def file_stem(text: str) -> str:
    """A file name's stem from a title: lower case, letters and digits, dashes between."""
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")[:60] or "findings"


def findings_file(
    tables: dict[str, Table], fmt: str, key: str, about: list[tuple[str, Any]], stem: str
) -> tuple[bytes, str, str]:
    """One table as CSV, or one or every table as XLSX: ``(data, mimetype, filename)``.

    The same bytes as the findings pages' downloads (``?download=csv&table=...``).
    """
    if fmt == "csv":
        return tables[key].to_csv().encode("utf-8-sig"), CSV_MIMETYPE, f"{stem}-{key}.csv"
    chosen = [tables[key]] if key else list(tables.values())
    return tables_xlsx(chosen, about), XLSX_MIMETYPE, f"{stem}-{key or 'tables'}.xlsx"
