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
from openpyxl.worksheet.datavalidation import DataValidation

from ..core import clock
from ..questionnaires.answers import AnswerProblem, answer_type
from . import services
from .models import Return

SHEET = "Return"
LISTS = "Lists"
ABOUT = "About"
FIRST_ROW = 4
MAX_BYTES = 5 * 1024 * 1024


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
    sheet["A1"] = f"{ret.round.title}: {ret.agency.name}, {case}"
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
        sheet.cell(row=row, column=1, value=question.key)
        sheet.cell(row=row, column=2, value=question.section.title)
        sheet.cell(row=row, column=3, value=question.text)
        sheet.cell(row=row, column=4, value=question.guidance)
        sheet.cell(row=row, column=5, value="Yes" if question.is_required else "")
        sheet.cell(row=row, column=6, value=value)
        for column in (3, 4, 6):
            sheet.cell(row=row, column=column).alignment = Alignment(wrap_text=True, vertical="top")
        choices = kind.choices(question)
        if choices:
            letter = lists.cell(row=1, column=list_column).column_letter
            for i, choice in enumerate(choices, start=1):
                lists.cell(row=i, column=list_column, value=choice)
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


def read_workbook(ret: Return, data: bytes) -> tuple[dict[str, Any], int]:
    """The answers in an uploaded workbook and the lock version it was downloaded at, or WorkbookError."""
    if len(data) > MAX_BYTES:
        raise WorkbookError([CellProblem("(file)", "-", "the file must be 5 MB or smaller")])
    try:
        workbook = load_workbook(io.BytesIO(data), data_only=True)
    except Exception:  # openpyxl raises many kinds of error for a damaged or foreign file
        raise WorkbookError([CellProblem("(file)", "-", "the file is not a readable Excel workbook (.xlsx)")]) from None
    problems: list[CellProblem] = []
    for name in (SHEET, ABOUT):
        if name not in workbook.sheetnames:
            problems.append(CellProblem(name, "-", "this sheet is missing: download the workbook again"))
    if problems:
        raise WorkbookError(problems)
    about = workbook[ABOUT]
    if about["B1"].value != ret.id:
        raise WorkbookError([CellProblem(ABOUT, "B1", "this workbook is for another return")])
    lock = about["B2"].value
    if not isinstance(lock, int):
        raise WorkbookError([CellProblem(ABOUT, "B2", "the version number is missing: download the workbook again")])
    questions = {q.key: q for q in services.applicable_questions(ret)}
    sheet = workbook[SHEET]
    answers: dict[str, Any] = {}
    for row in range(FIRST_ROW, sheet.max_row + 1):
        key = _cell_text(sheet.cell(row=row, column=1).value)
        raw = _cell_text(sheet.cell(row=row, column=6).value)
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
