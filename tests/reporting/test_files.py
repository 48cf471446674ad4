"""Files the reporting writes: user text stays text (no formula in an XLSX, a leading quote in a CSV)."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from audit_app.core.files import FORMULA_TRIGGERS, csv_cell
from audit_app.reporting.exports import answers_xlsx, findings_file
from audit_app.reporting.tables import Column, Table
from audit_app.reporting.xlsx import XlsxWriter
from audit_app.rounds import services
from tests.rounds.test_workbook_files import ret  # noqa: F401 (a fixture: an open return asking every type)

TEXTS = [f'{start}HYPERLINK("http://evil.example","x")' for start in FORMULA_TRIGGERS] + ["=1+1", "@SUM(A1)"]


def _cells(data: bytes):
    workbook = load_workbook(io.BytesIO(data))  # formulas would stay formulas here
    return [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]


def test_the_streaming_writer_writes_text_as_string_cells():
    out = io.BytesIO()
    writer = XlsxWriter(out)
    writer.add_sheet("=Sheet", ["=Heading", "Number"], [(text, 1.5) for text in TEXTS])
    writer.close()
    cells = _cells(out.getvalue())
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    texts = [c.value for c in cells if c.column == 1][1:]
    # As written (a carriage return inside XML text reads back as a line feed).
    assert texts == [text.replace("\r", "\n") for text in TEXTS]
    assert {c.data_type for c in cells if c.column == 1} == {"s"}


def test_a_findings_csv_prefixes_formula_like_text_with_a_quote():
    table = Table("agencies", "Agencies", [Column("name", "=Agency"), Column("n", "Returns", "count")], [])
    table.rows = [{"name": text, "n": 7} for text in [*TEXTS, "Police", "-"]]
    data, mimetype, _ = findings_file({"agencies": table}, "csv", "agencies", [], "findings")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert mimetype == "text/csv"
    assert rows[0][0] == "'=Agency"
    assert [row[0] for row in rows[1:]] == ["'" + text for text in TEXTS] + ["Police", "'-"]
    assert [row[1] for row in rows[1:]] == ["7"] * (len(TEXTS) + 2)  # numbers are left alone


def test_csv_cell_leaves_numbers_and_plain_text_alone():
    assert [csv_cell(v) for v in (-3, 2.5, None, "Police", "a=b")] == [-3, 2.5, None, "Police", "a=b"]


def test_the_answers_export_writes_text_answers_as_text(world, ret):  # noqa: F811 (the imported fixture)
    services.save_answers(
        ret,
        {"notes": "=== see the case notes ===", "one": "=1+1", "level": "=High", "several": ["@risk", "-1"]}
        | {"signs_recognised": "Yes", "recognition_grade": "Good"},
        by=world.user("auditor"),
        expected_version=ret.lock_version,
    )
    services.submit_return(ret, by=world.user("agency_lead"), as_lead=True)
    out = io.BytesIO()
    assert answers_xlsx(out, world.partnership.id, round_id=ret.round_id) > 0
    cells = _cells(out.getvalue())
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    values = {c.value for c in cells}
    assert {"=== see the case notes ===", "=1+1", "=High"} <= values
