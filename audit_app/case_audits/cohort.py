"""Case references and cohort files: refuse anything that looks like a name or a date of birth.

Case audits store the minimum about a child: a reference or pseudonym and a
few descriptive bands. A reference that looks like a person's name or a date
is refused with the reason, so nobody types identifying details by accident.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field

from ..core.inputs import UNSTORABLE

#: pseudonym styles used by reviews and audits ("Child K", "Baby Y", "Sibling 2"): single spaces only
PSEUDONYM = re.compile(r"^(child|baby|young person|sibling|family|case|infant|yp) [a-z0-9]{1,3}$", re.IGNORECASE)
ALLOWED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _/.-]{0,39}\Z")
DATE_LIKE = [
    re.compile(r"\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b"),
    re.compile(r"\b\d{4}[/.-]\d{1,2}[/.-]\d{1,2}\b"),
    re.compile(
        r"\b\d{1,2}(st|nd|rd|th)?\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b", re.IGNORECASE
    ),
    re.compile(r"\b(dob|d\.o\.b|born|aged?)\b", re.IGNORECASE),
]
#: words that case numbers and pseudonyms are made of, never a person's name
CASE_WORDS = {
    "a", "and", "audit", "baby", "case", "ch", "child", "cic", "cin", "cla", "cp", "cse", "eh", "family", "infant",
    "la", "lac", "lcs", "lcspr", "lr", "mash", "mosaic", "no", "number", "person", "ref", "review", "rr", "scr",
    "sibling", "yp", "young", "eclipse", "liquidlogic", "protocol", "nhs",
}  # fmt: skip
#: a reference's pieces between separators; a piece with a digit in it is a code, never part of a name
WORDS = re.compile(r"[A-Za-z0-9'\u2019]+")
NHS_NUMBER = re.compile(r"(?<!\d)(\d{3})[ -]?(\d{3})[ -]?(\d{4})(?!\d)")
NI_NUMBER = re.compile(r"\b[A-CEGHJ-PR-TW-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b", re.IGNORECASE)
POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s+\d[A-Z]{2}\b", re.IGNORECASE)
DIGIT_RUN = re.compile(r"\d+")

AGE_BANDS = ["Under 1", "1-4", "5-9", "10-14", "15-17", "18-25"]
SEXES = ["Female", "Male", "Another", "Not known"]
DISABILITY = ["Yes", "No", "Not known"]
PLAN_TYPES = ["Early help", "Child in need", "Child protection", "Looked after", "Care leaver", "None", "Not known"]
COLUMNS = ["reference", "age_band", "sex", "ethnicity", "disability", "plan_type", "agencies"]
REQUIRED_COLUMNS = {"reference", "agencies"}
MAX_ROWS = 500
#: rows of a sheet read at most, blank ones included (the cases themselves are capped at MAX_ROWS)
MAX_SHEET_ROWS = 10 * MAX_ROWS


def _is_nhs_number(digits: str) -> bool:
    """A ten-digit NHS number whose check digit (modulus 11) is right."""
    total = sum(int(d) * (10 - i) for i, d in enumerate(digits[:9]))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def _is_compact_date(run: str) -> bool:
    """Six or eight digits that read as a date of birth (DDMMYY, DDMMYYYY or YYYYMMDD)."""
    from datetime import date

    candidates = []
    if len(run) == 6:
        candidates.append((2000 + int(run[4:]), int(run[2:4]), int(run[:2])))
    elif len(run) == 8:
        candidates += [(int(run[4:]), int(run[2:4]), int(run[:2])), (int(run[:4]), int(run[4:6]), int(run[6:]))]
    for year, month, day in candidates:
        try:
            date(year, month, day)
        except ValueError:
            continue
        if len(run) == 6 or 1900 <= year <= 2100:
            return True
    return False


def _looks_like_a_name(ref: str) -> bool:
    """Two or more words side by side, in any case, that are not case-number words: "Jane Smith", "SMITH Jane",
    "J Smith", "jane.smith", "Aaliyah O'Neill". Short capital codes ("CS-NEW", "LA") are not names; a single
    letter counts as an initial beside a name. Pieces with digits in them ("c0f3be", "E2E") are codes."""
    run: list[str] = []
    for token in WORDS.findall(ref):
        wordlike = not any(ch.isdigit() for ch in token) and token.lower() not in CASE_WORDS
        if not wordlike:
            run = []
            continue
        run.append(token)
        full = [t for t in run if len(t) > 1 and not (t.isupper() and len(t) <= 3)]
        if len(run) >= 2 and full and len(full) + sum(1 for t in run if len(t) == 1) >= 2:
            return True
    return False


def reference_problem(reference: str) -> str | None:
    """Why a case reference is refused, or None if it is acceptable.

    A reference must never identify a child: it is refused if it looks like a name (in any case or
    punctuation), a date in any form, an NHS number (by its check digit), a National Insurance number or a
    postcode, or if it holds a line break or another control character.
    """
    raw = reference or ""
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in raw):
        return "The reference has a line break or another invisible character: type it on one line"
    ref = raw.strip()
    if not ref:
        return "Enter a case reference or pseudonym"
    if len(ref) > 40:
        return "The reference must be 40 characters or fewer"
    if PSEUDONYM.match(ref):
        return None
    if any(pattern.search(ref) for pattern in DATE_LIKE) or any(
        _is_compact_date(run) for run in DIGIT_RUN.findall(ref)
    ):
        return "The reference looks like a date of birth or an age: use the system's case number or a pseudonym"
    if any(_is_nhs_number("".join(match.groups())) for match in NHS_NUMBER.finditer(ref)):
        return "The reference looks like an NHS number: use the system's case number or a pseudonym instead"
    if NI_NUMBER.search(ref) or POSTCODE.search(ref):
        return "The reference looks like a National Insurance number or a postcode: use a case number or a pseudonym"
    if _looks_like_a_name(ref):
        return "The reference looks like a person's name: use the system's case number or a pseudonym such as Child K"
    if not ALLOWED.match(ref):
        return "Use letters, digits, spaces and - _ / . only"
    return None


def choice_problem(value: str, allowed: list[str], what: str) -> str | None:
    if value and value not in allowed:
        return f"{what} must be one of: {', '.join(allowed)}"
    return None


@dataclass
class CohortRow:
    line: int
    reference: str
    age_band: str = ""
    sex: str = ""
    ethnicity: str = ""
    disability: str = ""
    plan_type: str = ""
    agencies: list[str] = field(default_factory=list)


@dataclass
class CohortProblem:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.line}, {self.column}: {self.message}" if self.line else f"{self.column}: {self.message}"


class CohortError(Exception):
    def __init__(self, problems: list[CohortProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def _rows_from_csv(data: bytes) -> list[list[str] | CohortProblem]:
    """The CSV's records; one that cannot be read (a cell past the csv module's size limit) is a problem in its place."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CohortError([CohortProblem(0, "file", "the CSV file must be UTF-8 text")]) from None
    reader = csv.reader(io.StringIO(text))
    rows: list[list[str] | CohortProblem] = []
    header: list[str] | None = None
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return rows
        except csv.Error:
            # The reader goes on with the next record: every unreadable row is listed, with the rest's problems.
            column = _longest_column(text, reader.line_num, header)
            limit = csv.field_size_limit()
            rows.append(CohortProblem(len(rows) + 1, column, f"a cell is longer than {limit:,} characters"))
            continue
        if header is None and any(cell.strip() for cell in row):
            header = [cell.strip().lower().replace(" ", "_") for cell in row]
        rows.append(row)


def _longest_column(text: str, line_num: int, header: list[str] | None) -> str:
    """The column of the longest comma-separated piece of a physical line (where an oversized cell is)."""
    lines = text.splitlines()
    if not 1 <= line_num <= len(lines):
        return "row"
    pieces = lines[line_num - 1].split(",")
    index = max(range(len(pieces)), key=lambda i: len(pieces[i]))
    if header and index < len(header) and header[index]:
        return header[index]
    return f"column {index + 1}"


def _rows_from_xlsx(data: bytes) -> list[list[str] | CohortProblem]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of error for a damaged file
        raise CohortError([CohortProblem(0, "file", "the file is not a readable Excel workbook (.xlsx)")]) from None
    sheet = workbook.worksheets[0]
    rows: list[list[str] | CohortProblem] = []
    for index, row in enumerate(sheet.iter_rows(values_only=True)):
        if index >= MAX_SHEET_ROWS:
            workbook.close()
            raise CohortError([CohortProblem(0, "file", f"the sheet has more than {MAX_SHEET_ROWS} rows")])
        rows.append(["" if cell is None else str(cell).strip() for cell in row])
    workbook.close()
    return rows


def parse_cohort(data: bytes, filename: str, *, agency_names: set[str]) -> list[CohortRow]:
    """Every row of a cohort file (CSV or XLSX), or CohortError listing every problem by row and column."""
    name = filename.lower()
    if name.endswith(".csv"):
        rows = _rows_from_csv(data)
    elif name.endswith(".xlsx"):
        rows = _rows_from_xlsx(data)
    else:
        raise CohortError([CohortProblem(0, "file", "upload a .csv or .xlsx file")])
    numbered = [
        (line, row)
        for line, row in enumerate(rows, start=1)
        if isinstance(row, CohortProblem) or any(cell.strip() for cell in row)
    ]
    if not numbered:
        raise CohortError([CohortProblem(0, "file", "the file is empty")])
    _header_line, header_row = numbered[0]
    if isinstance(header_row, CohortProblem):
        raise CohortError([header_row])
    header = [cell.strip().lower().replace(" ", "_") for cell in header_row]
    missing = REQUIRED_COLUMNS - set(header)
    unknown = [h for h in header if h and h not in COLUMNS]
    problems = [CohortProblem(0, "header", f"missing column '{m}'") for m in sorted(missing)]
    problems += [CohortProblem(0, "header", f"unknown column '{u}' (columns: {', '.join(COLUMNS)})") for u in unknown]
    if problems:
        raise CohortError(problems)
    if len(numbered) - 1 > MAX_ROWS:
        raise CohortError([CohortProblem(0, "file", f"at most {MAX_ROWS} cases in one file")])
    lower_agencies = {a.lower(): a for a in agency_names}
    parsed: list[CohortRow] = []
    seen: dict[str, int] = {}
    for offset, raw in numbered[1:]:
        if isinstance(raw, CohortProblem):
            problems.append(raw)
            continue
        values = {header[i]: (raw[i].strip() if i < len(raw) else "") for i in range(len(header)) if header[i]}
        unstorable = [column for column, value in values.items() if "\x00" in value]
        problems += [CohortProblem(offset, column, UNSTORABLE) for column in unstorable]
        if unstorable:
            continue
        row = CohortRow(line=offset, reference=values.get("reference", ""))
        for column in ("age_band", "sex", "ethnicity", "disability", "plan_type"):
            setattr(row, column, values.get(column, ""))
        problem = reference_problem(row.reference)
        if problem:
            problems.append(CohortProblem(offset, "reference", problem))
        elif row.reference.lower() in seen:
            problems.append(
                CohortProblem(offset, "reference", f"the same reference is on row {seen[row.reference.lower()]}")
            )
        seen.setdefault(row.reference.lower(), offset)
        for column, allowed, what in (
            ("age_band", AGE_BANDS, "Age band"),
            ("sex", SEXES, "Sex"),
            ("disability", DISABILITY, "Disability"),
            ("plan_type", PLAN_TYPES, "Plan type"),
        ):
            message = choice_problem(getattr(row, column), allowed, what)
            if message:
                problems.append(CohortProblem(offset, column, message))
        if len(row.ethnicity) > 60:
            problems.append(CohortProblem(offset, "ethnicity", "60 characters at most"))
        names = [n.strip() for n in values.get("agencies", "").split(";") if n.strip()]
        if not names:
            problems.append(CohortProblem(offset, "agencies", "name at least one agency involved with the case"))
        for name in names:
            if name.lower() not in lower_agencies:
                problems.append(CohortProblem(offset, "agencies", f"no active agency called '{name}'"))
            else:
                row.agencies.append(lower_agencies[name.lower()])
        parsed.append(row)
    if problems:
        raise CohortError(problems)
    return parsed
