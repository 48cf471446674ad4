"""The offline workbook as a file: read only within the template's shape, user text written as text, and
a download -> unchanged upload round trip that gives back every answer exactly as saved."""

from __future__ import annotations

import io
import time
from datetime import date

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.styles import Font

from audit_app.case_audits import services as case_services
from audit_app.extensions import db
from audit_app.questionnaires import services as questionnaires
from audit_app.questionnaires.answers import clean_answers
from audit_app.rounds import services
from audit_app.rounds.models import Return, RoundStatus
from audit_app.rounds.workbook import FIRST_ROW, WorkbookError, build_workbook, read_workbook
from tests.questionnaires.test_questionnaire_spec import EXAMPLE

#: options a spreadsheet could take for formulas, and options holding commas and quotes
OPTIONS = [
    "Police",
    "Police, CID",
    "=1+1",
    "-1",
    "+44 20 7946 0000",
    "@risk",
    'Health "acute" trust',
    "Early help, schools, and colleges",
]
LEVELS = ["=High", "Low, but improving", "@Unknown"]
ALL_TYPES = EXAMPLE | {
    "key": "all_types",
    "scales": [
        *EXAMPLE["scales"],
        {
            "key": "tricky",
            "name": "Tricky",
            "levels": [
                {"label": LEVELS[0], "value": 3},
                {"label": LEVELS[1], "value": 1},
                {"label": LEVELS[2], "not_applicable": True},
            ],
        },
    ],
    "sections": [
        EXAMPLE["sections"][0],
        {
            "key": "everything",
            "title": "=Every type",
            "questions": [
                {"key": "level", "text": "=A level", "type": "scale", "scale": "tricky"},
                {"key": "one", "text": "One option", "type": "single_choice", "options": OPTIONS},
                {"key": "several", "text": "Several options", "type": "multiple_choice", "options": OPTIONS},
                {"key": "notes", "text": "Notes", "type": "text", "guidance": "-see the chronology"},
                {"key": "count", "text": "A number", "type": "number"},
                {"key": "when", "text": "A date", "type": "date"},
            ],
        },
    ],
}
FORMULA_STARTS = ["=", "+", "-", "@", "\t", "\r", "==", "=== ", "'="]


@pytest.fixture()
def ret(world) -> Return:
    """An open police return on a questionnaire asking every question type."""
    version = questionnaires.import_questionnaire(world.partnership.id, ALL_TYPES, publish=True)
    round_ = services.plan_round(world.partnership.id, title="=Round", version=version, opens_on=None, due_on=None)
    case_services.add_case(round_, agency_ids=[world.police.agency_id], reference="CS-1")
    services.move_round(round_, RoundStatus.OPEN)
    db.session.commit()
    return db.session.scalar(sa.select(Return).where(Return.round_id == round_.id))


def _save(world, ret: Return, raw: dict) -> None:
    services.save_answers(ret, raw, by=world.user("auditor"), expected_version=ret.lock_version)
    db.session.flush()


def _xlsx(workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# -- 1. only the template's cells are read --


def test_a_value_far_below_the_template_is_refused_fast_naming_the_cell(ret):
    workbook = load_workbook(io.BytesIO(build_workbook(ret)))
    workbook["Return"]["G1048576"] = "x"
    data = _xlsx(workbook)
    assert len(data) < 50_000  # a small file...
    started = time.perf_counter()
    with pytest.raises(WorkbookError) as info:
        read_workbook(ret, data)
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5  # ...that used to take seconds and hundreds of MB to walk
    assert [(p.sheet, p.cell) for p in info.value.problems] == [("Return", "G1048576")]
    assert "outside the workbook's questions" in info.value.problems[0].message


@pytest.mark.parametrize("cell", ["G5", "F{last_plus_one}", "AA1"])
def test_any_value_outside_the_template_is_refused(ret, cell):
    workbook = load_workbook(io.BytesIO(build_workbook(ret)))
    last = FIRST_ROW + len(services.applicable_questions(ret)) - 1
    cell = cell.format(last_plus_one=last + 1)
    workbook["Return"][cell] = "a note"
    with pytest.raises(WorkbookError) as info:
        read_workbook(ret, _xlsx(workbook))
    assert str(info.value).startswith(f"Return!{cell}: this cell is outside")


def test_the_unchanged_template_reads_back(ret):
    assert read_workbook(ret, build_workbook(ret))[1] == ret.lock_version


# -- 2. user text is text, never a formula --


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_text_that_looks_like_a_formula_is_written_as_a_string(world, ret, start):
    text = f'{start}HYPERLINK("http://evil.example","click")'
    _save(world, ret, {"notes": text, "one": "=1+1", "level": "=High"})
    stored = services.stored_answers(ret)
    workbook = load_workbook(io.BytesIO(build_workbook(ret)))  # formulas kept as formulas, if any
    cells = [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]
    assert [cell.coordinate for cell in cells if cell.data_type == "f"] == []
    answers = {row[0].value: row[5] for row in workbook["Return"].iter_rows(min_row=FIRST_ROW)}
    assert answers["notes"].value == stored["notes"] and answers["notes"].data_type == "s"
    assert answers["one"].value == "=1+1" and answers["level"].value == "=High"
    assert workbook["Return"]["B9"].value == "=Every type"  # section titles and question texts too


def test_the_probe_answer_survives_download_and_upload(world, ret):
    _save(world, ret, {"notes": "=== see the case notes ==="})
    answers, _ = read_workbook(ret, build_workbook(ret))
    assert answers["notes"] == "=== see the case notes ==="


# -- 3. download -> unchanged upload gives back every answer --

_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters="\n\r\t"), max_size=60)
ANSWERS = st.fixed_dictionaries(
    {
        "level": st.sampled_from(["", *LEVELS]),
        "one": st.sampled_from(["", *OPTIONS]),
        "several": st.lists(st.sampled_from(OPTIONS), unique=True),
        "notes": st.one_of(_TEXT, st.builds(str.__add__, st.sampled_from(FORMULA_STARTS), _TEXT)),
        "count": st.one_of(
            st.just(""),
            st.integers(min_value=-999_999_999, max_value=999_999_999).map(str),
            st.decimals(min_value=-999_999_999, max_value=999_999_999, allow_nan=False, places=4).map(str),
        ),
        "when": st.one_of(st.just(""), st.dates(min_value=date(1, 1, 1)).map(date.isoformat)),
    }
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=ANSWERS)
def test_download_then_unchanged_upload_gives_back_every_saved_answer(world, ret, raw):
    _save(world, ret, raw)
    saved = {key: value for key, value in services.stored_answers(ret).items() if value}
    read, lock = read_workbook(ret, build_workbook(ret))
    questions = {q.key: q for q in services.applicable_questions(ret)}
    parsed = {key: value for key, (value, _) in clean_answers(questions, read).items() if value}
    assert parsed == saved
    assert lock == ret.lock_version


def test_a_formatted_but_empty_cell_beyond_the_template_is_no_problem(ret):
    workbook = load_workbook(io.BytesIO(build_workbook(ret)))
    workbook["Return"]["H40"].font = Font(bold=True)  # Excel counts it in the sheet's size
    assert read_workbook(ret, _xlsx(workbook))[0]
