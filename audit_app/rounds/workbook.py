"""A return as an Excel workbook, to fill in offline and upload again.

The workbook lists every question the agency is asked, with its guidance and a
drop-down of the allowed answers. An upload is checked cell by cell; problems
are listed by sheet and cell, and nothing is saved unless every cell is right.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ..core import clock
from ..core.files import text_cell
from ..questionnaires.answers import AnswerProblem, answer_type
from . import services
from .models import Return

SHEET = "Return"
LISTS = "Lists"
ABOUT = "About"
FIRST_ROW = 4
#: column F holds the answers; the template has no column after it
ANSWER_COLUMN = 6
MAX_BYTES = 5 * 1024 * 1024
#: a sheet declaring more cells than this is refused unread (the template has six columns, a row per question)
MAX_SCANNED_CELLS = 20_000
#: cell problems listed at most for cells outside the template
MAX_REPORTED = 20


@dataclass
class CellProblem:
    sheet: str
    cell: str
    message: str

    def __str__(self) -> str:
        return f"{self.sheet}!{self.cell}: {self.message}"


class WorkbookError(Exception):
    def __init__(self, problems: list[CellProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def build_workbook(ret: Return) -> bytes:
    """The return's questions and current answers as an .xlsx file."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    lists = workbook.create_sheet(LISTS)
    about = workbook.create_sheet(ABOUT)
    case = ret.round_case.case.reference if ret.round_case else "agency return"
    text_cell(sheet["A1"], f"{ret.round.title}: {ret.agency.name}, {case}")
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A2"] = (
        "Fill in the Answer column only. Choose from the drop-down where there is one; separate several options with ; (or a comma). Dates as YYYY-MM-DD."
    )
    headers = ["Key", "Section", "Question", "Guidance", "Required", "Answer"]
    for column, title in enumerate(headers, start=1):
        cell = sheet.cell(row=FIRST_ROW - 1, column=column, value=title)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDDDDD")
    stored = services.stored_answers(ret)
    list_column = 1
    for offset, question in enumerate(services.applicable_questions(ret)):
        row = FIRST_ROW + offset
        kind = answer_type(question)
        value = kind.cell(question, stored.get(question.key))
        texts = (question.key, question.section.title, question.text, _guidance(question))
        for column, text in enumerate((*texts, "Yes" if question.is_required else "", value), start=1):
            text_cell(sheet.cell(row=row, column=column), text)
        for column in (3, 4, 6):
            sheet.cell(row=row, column=column).alignment = Alignment(wrap_text=True, vertical="top")
        choices = kind.choices(question)
        if choices:
            letter = lists.cell(row=1, column=list_column).column_letter
            for i, choice in enumerate(choices, start=1):
                text_cell(lists.cell(row=i, column=list_column), choice)
            validation = DataValidation(
                type="list",
                formula1=f"{LISTS}!${letter}$1:${letter}${len(choices)}",
                allow_blank=True,
                showErrorMessage=True,
            )
            validation.error = "Choose one of the listed answers"
            sheet.add_data_validation(validation)
            validation.add(f"F{row}")
            list_column += 1
        elif kind.cell_validation:
            validation = DataValidation(**kind.cell_validation, allow_blank=True)
            sheet.add_data_validation(validation)
            validation.add(f"F{row}")
    for column, width in zip("ABCDEF", (18, 24, 60, 50, 10, 50), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = f"A{FIRST_ROW}"
    lists.sheet_state = "hidden"
    about["A1"], about["B1"] = "return_id", ret.id
    about["A2"], about["B2"] = "lock_version", ret.lock_version
    about["A3"], about["B3"] = "downloaded", clock.local_now().isoformat(timespec="minutes")
    about.sheet_state = "hidden"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _guidance(question: Any) -> str:
    """The question's guidance, and when a follow-up is asked, naming the question it follows (never its key)."""
    if not question.condition_question_key:
        return question.guidance
    when = (
        f"Asked only if the answer to “{question.condition_question_text}” is {' or '.join(question.condition_values)}."
    )
    return f"{question.guidance} ({when})" if question.guidance else when


def _cell_text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _outside_problems(sheet: Any, last_row: int, last_column: int) -> list[CellProblem]:
    """Values outside the template's cells (A1 to F of the last question), by cell.

    The sheet's declared size is checked first: within the template, nothing to do; a little
    beyond it (Excel extends it for a formatted cell), the few extra cells are looked at so the
    message names the ones holding a value; far beyond it, the file is refused unread.
    """
    declared_row, declared_column = sheet.max_row, sheet.max_column
    if declared_row is None or declared_column is None:
        return []  # no declared size: only the template's cells are read anyway
    if declared_row <= last_row and declared_column <= last_column:
        return []
    where = f"(A1 to {get_column_letter(last_column)}{last_row})"
    advice = (
        f"answer only in column {get_column_letter(ANSWER_COLUMN)}, clear anything below or to the right, "
        "or download the workbook again"
    )
    if declared_row * declared_column > MAX_SCANNED_CELLS:
        corner = f"{get_column_letter(declared_column)}{declared_row}"
        return [CellProblem(sheet.title, corner, f"this cell is outside the workbook's questions {where}: {advice}")]
    problems = []
    rows = sheet.iter_rows(min_row=1, max_row=declared_row, max_col=declared_column, values_only=True)
    for row, values in enumerate(rows, start=1):
        for column, value in enumerate(values, start=1):
            if (row > last_row or column > last_column) and _cell_text(value) != "":
                problems.append(
                    CellProblem(
                        sheet.title,
                        f"{get_column_letter(column)}{row}",
                        f"this cell is outside the workbook's questions {where}: {advice}",
                    )
                )
    return problems[:MAX_REPORTED]


def read_workbook(ret: Return, data: bytes) -> tuple[dict[str, Any], int]:
    """The answers in an uploaded workbook and the lock version it was downloaded at, or WorkbookError.

    Only the cells of the workbook the app generated are read: its question rows and
    columns A to F, and B1:B2 of the About sheet. A sheet declaring cells beyond them is
    refused before any row is read, so a small file cannot make the reader walk a
    million empty rows.
    """
    if len(data) > MAX_BYTES:
        raise WorkbookError([CellProblem("(file)", "-", "the file must be 5 MB or smaller")])
    try:
        # read-only: rows stream from the zipped XML and stop at the bounds given to iter_rows
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of error for a damaged or foreign file
        raise WorkbookError([CellProblem("(file)", "-", "the file is not a readable Excel workbook (.xlsx)")]) from None
    try:
        return _read(ret, workbook)
    except WorkbookError:
        raise
    except Exception:  # a damaged sheet is only found while its rows are read
        raise WorkbookError([CellProblem("(file)", "-", "the file is not a readable Excel workbook (.xlsx)")]) from None
    finally:
        workbook.close()


def _read(ret: Return, workbook: Any) -> tuple[dict[str, Any], int]:
    problems: list[CellProblem] = []
    for name in (SHEET, ABOUT):
        if name not in workbook.sheetnames:
            problems.append(CellProblem(name, "-", "this sheet is missing: download the workbook again"))
    if problems:
        raise WorkbookError(problems)
    about_rows = list(workbook[ABOUT].iter_rows(min_row=1, max_row=2, min_col=2, max_col=2, values_only=True))
    return_id, lock = ([*(row[0] if row else None for row in about_rows), None, None])[:2]
    if return_id != ret.id:
        raise WorkbookError([CellProblem(ABOUT, "B1", "this workbook is for another return")])
    if not isinstance(lock, int):
        raise WorkbookError([CellProblem(ABOUT, "B2", "the version number is missing: download the workbook again")])
    applicable = services.applicable_questions(ret)
    questions = {q.key: q for q in applicable}
    sheet = workbook[SHEET]
    last_row = FIRST_ROW + len(applicable) - 1
    outside = _outside_problems(sheet, max(last_row, FIRST_ROW - 1), ANSWER_COLUMN)
    if outside:
        raise WorkbookError(outside)
    answers: dict[str, Any] = {}
    rows = sheet.iter_rows(min_row=FIRST_ROW, max_row=last_row, max_col=ANSWER_COLUMN, values_only=True)
    for row, cells in enumerate(rows if last_row >= FIRST_ROW else (), start=FIRST_ROW):
        cells = (*cells, *((None,) * ANSWER_COLUMN))
        key = _cell_text(cells[0])
        raw = _cell_text(cells[ANSWER_COLUMN - 1])
        if not key:
            if raw:
                problems.append(CellProblem(SHEET, f"A{row}", "an answer without a question key"))
            continue
        question = questions.get(key)
        if question is None:
            problems.append(CellProblem(SHEET, f"A{row}", f"'{key}' is not a question of this return"))
            continue
        if key in answers:
            problems.append(CellProblem(SHEET, f"A{row}", f"'{key}' appears twice"))
            continue
        kind = answer_type(question)
        value = kind.from_cell(question, raw)
        try:
            kind.clean(question, value)
        except AnswerProblem as problem:
            problems.append(CellProblem(SHEET, f"F{row}", problem.message))
            continue
        answers[key] = value
    if problems:
        raise WorkbookError(problems)
    return answers, lock
