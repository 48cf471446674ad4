"""Missing values in reports and exports: one helper (``tables.present``/``is_missing``) for every cell, so
a case without an agreed grade, strengths or recommendations never prints "nan" or "None", and the PDF keeps
the escalation date. Checked on the real PDF (WeasyPrint), read back with pdftotext."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from audit_app.case_audits import services as case_services
from audit_app.core.audit import system_actor
from audit_app.extensions import db
from audit_app.reporting import queries
from audit_app.reporting.report import round_report_pdf
from audit_app.reporting.tables import is_missing, plain_records, present
from audit_app.rounds.models import RoundStatus
from tests.factories import make_round

# -- the helper, without a database --


@pytest.mark.parametrize("value", [None, float("nan"), np.nan, pd.NA, pd.NaT, np.float64("nan")])
def test_every_stand_in_for_nothing_is_missing_and_shown_as_a_dash(value):
    assert is_missing(value)
    assert present(value) == "\u2013" and present(value, "not graded") == "not graded"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("Good", "Good"),
        (0, "0"),
        (False, "False"),
        (np.int64(3), "3"),
        (date(2025, 11, 12), "12 November 2025"),
        (datetime(2025, 11, 12, 9, 30), "12 November 2025"),
        (pd.Timestamp("2025-11-12"), "12 November 2025"),
        ("", "\u2013"),
    ],
)
def test_values_are_shown_as_people_read_them(value, shown):
    assert not is_missing(value) or value == ""
    assert present(value) == shown


def test_a_frame_s_records_hold_none_never_nan():
    # pandas stores a NULL text from the database as NaN: exactly what reached the report
    frame = pd.DataFrame([("CS-1", None, None), ("CS-2", "Good", "Kept in view")], columns=["case", "grade", "text"])
    assert frame.to_dict("records")[0]["grade"] != frame.to_dict("records")[0]["grade"]  # NaN, the cause
    assert plain_records(frame) == [
        {"case": "CS-1", "grade": None, "text": None},
        {"case": "CS-2", "grade": "Good", "text": "Kept in view"},
    ]


# -- the PDF --


@pytest.fixture()
def judged_round(world):
    """Three cases: one the panel never judged, one judged with a grade and an escalation but no texts, one
    with texts and no grade."""
    round_ = make_round(
        world.partnership.id,
        title="Neglect audit: report",
        agencies=[world.police],
        cases=["CS-101", "CS-102", "CS-103"],
        status=RoundStatus.CLOSED,
    )
    by_reference = {rc.case.reference: rc for rc in round_.cases}
    levels = [level.label for level in case_services.judgement_scale_levels(round_)]
    with system_actor("test"):
        case_services.record_judgements(
            by_reference["CS-102"],
            {},
            case_services.JudgementIn(
                grade=levels[1],
                concern_escalated=True,
                escalated_to="MASH team manager",
                escalated_on=date(2025, 11, 12),
            ),
        )
        case_services.record_judgements(
            by_reference["CS-103"],
            {},
            case_services.JudgementIn(strengths="Curiosity about the home", recommendations="Share the chronology"),
        )
    db.session.commit()
    return round_


def test_the_panel_judgements_frame_keeps_missing_as_missing_and_has_the_date(judged_round):
    frame = queries.panel_case_judgements(judged_round.id)
    assert list(frame["case"]) == ["CS-101", "CS-102", "CS-103"]
    rows = {row["case"]: row for row in plain_records(frame)}
    assert rows["CS-101"]["grade"] is None and rows["CS-101"]["strengths"] is None
    assert rows["CS-102"]["escalated_on"] == date(2025, 11, 12)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_the_pdf_prints_no_nan_or_none_and_keeps_the_escalation_date(app, judged_round, tmp_path):
    with app.test_request_context():
        pdf = round_report_pdf(judged_round)
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    tool = shutil.which("pdftotext")  # a full path: the tool found on PATH, run on a file this test wrote
    text = subprocess.run([tool, "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout  # noqa: S603
    assert "Each case: the panel's judgement" in text
    assert not re.search(r"\bnan\b", text, re.IGNORECASE), re.findall(r".{30}\bnan\b.{10}", text, re.IGNORECASE)
    assert not re.search(r"\bNone\b", text)
    # the never-judged case and the case with texts but no grade say so in words
    assert re.search(r"Case CS-101: not graded", text) and re.search(r"Case CS-103: not graded", text)
    assert "Concern escalated to MASH team manager on 12 November 2025." in " ".join(text.split())
    assert "Curiosity about the home" in text and "Share the chronology" in text
