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

from ..core.identifiers import (
    AGE_WORDS,
    DATE_PATTERNS,
    DIGIT_RUN,
    NHS_NUMBER,
    NI_NUMBER,
    POSTCODE,
    is_compact_date,
    is_nhs_number,
)
from ..core.inputs import UNSTORABLE

#: pseudonym styles used by reviews and audits ("Child K", "Baby Y", "Sibling 2"): single spaces only
PSEUDONYM = re.compile(r"^(child|baby|young person|sibling|family|case|infant|yp) [a-z0-9]{1,3}$", re.IGNORECASE)
ALLOWED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _/.-]{0,39}\Z")
DATE_LIKE = [*DATE_PATTERNS, AGE_WORDS]
#: words that case numbers and pseudonyms are made of, never a person's name
CASE_WORDS = {
    "a", "and", "audit", "baby", "case", "ch", "child", "cic", "cin", "cla", "cp", "cse", "eh", "family", "infant",
    "la", "lac", "lcs", "lcspr", "lr", "mash", "mosaic", "no", "number", "person", "ref", "review", "rr", "scr",
    "sibling", "yp", "young", "eclipse", "liquidlogic", "protocol", "nhs",
}  # fmt: skip
#: a reference's pieces between separators; a piece with a digit in it is a code, never part of a name
WORDS = re.compile(r"[A-Za-z0-9'\u2019]+")

AGE_BANDS = ["Under 1", "1-4", "5-9", "10-14", "15-17", "18-25"]
SEXES = ["Female", "Male", "Another", "Not known"]
DISABILITY = ["Yes", "No", "Not known"]
PLAN_TYPES = ["Early help", "Child in need", "Child protection", "Looked after", "Care leaver", "None", "Not known"]
#: the 2021 Census ethnic groups (England and Wales): 19 categories under 5 groups, stored by key.
#: "" is "Not recorded"; "not_stated" is a child or family who chose not to say.
ETHNIC_GROUPS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Asian, Asian British or Asian Welsh",
        [
            ("asian_bangladeshi", "Bangladeshi"),
            ("asian_chinese", "Chinese"),
            ("asian_indian", "Indian"),
            ("asian_pakistani", "Pakistani"),
            ("asian_other", "Other Asian"),
        ],
    ),
    (
        "Black, Black British, Black Welsh, Caribbean or African",
        [("black_african", "African"), ("black_caribbean", "Caribbean"), ("black_other", "Other Black")],
    ),
    (
        "Mixed or Multiple ethnic groups",
        [
            ("mixed_white_asian", "White and Asian"),
            ("mixed_white_black_african", "White and Black African"),
            ("mixed_white_black_caribbean", "White and Black Caribbean"),
            ("mixed_other", "Other Mixed or Multiple ethnic groups"),
        ],
    ),
    (
        "White",
        [
            ("white_british", "English, Welsh, Scottish, Northern Irish or British"),
            ("white_irish", "Irish"),
            ("white_gypsy_traveller", "Gypsy or Irish Traveller"),
            ("white_roma", "Roma"),
            ("white_other", "Other White"),
        ],
    ),
    ("Other ethnic group", [("other_arab", "Arab"), ("other_any", "Any other ethnic group")]),
]
NOT_STATED = "not_stated"
#: key -> label as people read it ("White: Irish"); "" is not recorded
ETHNICITIES: dict[str, str] = {
    key: f"{group}: {label}" for group, members in ETHNIC_GROUPS for key, label in members
} | {NOT_STATED: "Not stated (chose not to say)"}
#: key -> the category's short name within its group ("Irish"), for tables and cohort files
ETHNICITY_SHORT: dict[str, str] = {key: label for _group, members in ETHNIC_GROUPS for key, label in members} | {
    NOT_STATED: "Not stated"
}
#: common ways of writing a category in a case system's export, beside its key, label and short name
ETHNICITY_SYNONYMS: dict[str, str] = {
    "white british": "white_british",
    "british": "white_british",
    "white english": "white_british",
    "white irish": "white_irish",
    "white other": "white_other",
    "any other white background": "white_other",
    "gypsy/roma": "white_gypsy_traveller",
    "traveller of irish heritage": "white_gypsy_traveller",
    "black african": "black_african",
    "black caribbean": "black_caribbean",
    "black other": "black_other",
    "any other black background": "black_other",
    "asian indian": "asian_indian",
    "asian british indian": "asian_indian",
    "asian pakistani": "asian_pakistani",
    "asian british pakistani": "asian_pakistani",
    "asian bangladeshi": "asian_bangladeshi",
    "asian british bangladeshi": "asian_bangladeshi",
    "asian chinese": "asian_chinese",
    "asian other": "asian_other",
    "any other asian background": "asian_other",
    "mixed white and black caribbean": "mixed_white_black_caribbean",
    "mixed white and black african": "mixed_white_black_african",
    "mixed white and asian": "mixed_white_asian",
    "mixed other": "mixed_other",
    "any other mixed background": "mixed_other",
    "other ethnic group": "other_any",
    "any other ethnic group": "other_any",
    "prefer not to say": NOT_STATED,
    "refused": NOT_STATED,
    "declined": NOT_STATED,
    "information not yet obtained": "",
    "not known": "",
    "not recorded": "",
    "unknown": "",
}


def _fold(text: str) -> str:
    """Lower case, curly quotes straight, punctuation and runs of spaces as one space."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").lower()
    return " ".join(re.sub(r"[^a-z0-9']+", " ", text).split())


_ETHNICITY_LOOKUP: dict[str, str] = (
    {_fold(k): k for k in ETHNICITIES}
    | {_fold(label): key for key, label in ETHNICITIES.items()}
    | {_fold(label): key for key, label in ETHNICITY_SHORT.items()}
    | {_fold(text): key for text, key in ETHNICITY_SYNONYMS.items()}
)


def ethnicity_key(text: str) -> str | None:
    """The category key for a written ethnicity (its key, label, short name or a common synonym), "" for not
    recorded, or None if it is not recognised."""
    if not (text or "").strip():
        return ""
    return _ETHNICITY_LOOKUP.get(_fold(text))


def ethnicity_label(key: str) -> str:
    """How a stored ethnicity reads: the category's label, or "Not recorded"."""
    return ETHNICITIES.get(key or "", "Not recorded")


#: each case field's values in their order, value -> label (for filters and tables)
CASE_FIELD_CHOICES: dict[str, dict[str, str]] = {
    "plan_type": {v: v for v in PLAN_TYPES},
    "age_band": {v: v for v in AGE_BANDS},
    "sex": {v: v for v in SEXES},
    "ethnicity": ETHNICITIES,
    "disability": {v: v for v in DISABILITY},
}

ETHNICITY_PROBLEM = (
    "Ethnicity must be a 2021 Census category (such as 'White: Irish', 'Irish' or 'white_irish'), "
    "'Not stated' or blank for not recorded; the template lists them all"
)
COLUMNS = ["reference", "age_band", "sex", "ethnicity", "disability", "plan_type", "agencies"]
REQUIRED_COLUMNS = {"reference", "agencies"}
MAX_ROWS = 500
#: rows of a sheet read at most, blank ones included (the cases themselves are capped at MAX_ROWS)
MAX_SHEET_ROWS = 10 * MAX_ROWS


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
    if any(pattern.search(ref) for pattern in DATE_LIKE) or any(is_compact_date(run) for run in DIGIT_RUN.findall(ref)):
        return "The reference looks like a date of birth or an age: use the system's case number or a pseudonym"
    if any(is_nhs_number("".join(match.groups())) for match in NHS_NUMBER.finditer(ref)):
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


def decode_csv(data: bytes) -> str:
    """A CSV's text as Excel saves it: UTF-8 (with or without a byte order mark), UTF-16 ("Unicode text", which
    always starts with a byte order mark) or Windows-1252 ("CSV (Comma delimited)" on a Windows PC)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise CohortError([CohortProblem(0, "file", "the file says it is UTF-16 text but is not")]) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise CohortError(
            [CohortProblem(0, "file", "the CSV file could not be read as text: save it as CSV UTF-8 from Excel")]
        ) from None


def _rows_from_csv(data: bytes) -> list[list[str] | CohortProblem]:
    """The CSV's records; one that cannot be read (a cell past the csv module's size limit) is a problem in its place."""
    text = decode_csv(data)
    first = text.lstrip().split("\n", 1)[0]
    # Excel's "Unicode text" is tab-separated.
    delimiter = "\t" if "\t" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
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
    line = lines[line_num - 1]
    pieces = line.split("\t" if "\t" in line and "," not in line else ",")
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


def agency_fold(text: str) -> str:
    """An agency name or short code as the cohort matches it: case, curly apostrophes and spacing ignored."""
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'").replace("\u02bc", "'")
    return " ".join(text.casefold().split())


def parse_cohort(
    data: bytes, filename: str, *, agency_names: set[str], agency_codes: dict[str, str] | None = None
) -> list[CohortRow]:
    """Every row of a cohort file (CSV or XLSX), or CohortError listing every problem by row and column.

    ``agency_names`` are the active agencies' names; ``agency_codes`` maps each partnership short code to its
    agency's name. Each row's ``agencies`` are names from ``agency_names``; ``ethnicity`` is a category key.
    """
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
    lookup = {agency_fold(name): name for name in agency_names}
    # A short code never shadows a name: names are matched first.
    for code, name in (agency_codes or {}).items():
        lookup.setdefault(agency_fold(code), name)
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
        key = ethnicity_key(row.ethnicity)
        if key is None:
            problems.append(CohortProblem(offset, "ethnicity", ETHNICITY_PROBLEM))
        else:
            row.ethnicity = key
        names = [n.strip() for n in values.get("agencies", "").split(";") if n.strip()]
        if not names:
            problems.append(CohortProblem(offset, "agencies", "name at least one agency involved with the case"))
        for name in names:
            matched = lookup.get(agency_fold(name))
            if matched is None:
                problems.append(
                    CohortProblem(offset, "agencies", f"no active agency called '{name}' (nor with that short code)")
                )
            elif matched not in row.agencies:
                row.agencies.append(matched)
        parsed.append(row)
    if problems:
        raise CohortError(problems)
    return parsed


def cohort_template(agencies: list[tuple[str, str]]) -> bytes:
    """An Excel cohort file to fill in: the columns on the first sheet, and on a second the values each column
    takes, with the partnership's active agencies (name, short code). The upload reads only the first sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Cases"
    sheet.append(COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for column, width in zip("ABCDEFG", (18, 12, 12, 30, 12, 18, 50), strict=True):
        sheet.column_dimensions[column].width = width
    values = workbook.create_sheet("Values")
    values.append(["column", "value", "meaning"])
    for cell in values[1]:
        cell.font = Font(bold=True)
    values.append(["reference", "", "The case number in your system, or a pseudonym such as Child K; never a name"])
    for column, allowed in (("age_band", AGE_BANDS), ("sex", SEXES), ("disability", DISABILITY)):
        for value in allowed:
            values.append([column, value, ""])
    for key, label in ETHNICITIES.items():
        values.append(["ethnicity", ETHNICITY_SHORT[key], label])
    values.append(["ethnicity", "", "Blank: not recorded"])
    for value in PLAN_TYPES:
        values.append(["plan_type", value, ""])
    for name, code in agencies:
        values.append(["agencies", name, f"short code {code}" if code else ""])
    values.append(["agencies", "", "Several agencies: separate them with ; (a name or its short code)"])
    for column, width in zip("ABC", (14, 55, 70), strict=True):
        values.column_dimensions[column].width = width
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
