"""Browser journeys on the shipped library, with axe on the pages the journeys are about.

1. For each case-audit questionnaire in the library: a round built from it (set up through the services),
   the panel records a case-level judgement on the discussion page, and reads it back on the findings page.
2. An auditor records an immediate safeguarding concern; the QA member sees "Concern raised" on the returns
   list, the round and the discussion, and receives the email (the test SMTP server).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page, expect

from audit_app.accounts.models import Agency, Partnership
from audit_app.case_audits import services as case_services
from audit_app.core.audit import system_actor
from audit_app.extensions import db
from audit_app.questionnaires import services as questionnaires
from audit_app.questionnaires.models import QuestionnaireKind
from audit_app.rounds import services as rounds
from audit_app.rounds.models import Round, RoundStatus

from .conftest import sign_in
from .test_case_audits import IMMEDIATE_CONCERN, POLICE, POLICE_AUDITOR_EMAIL, QA_EMAIL, _flash, _nav

pytestmark = pytest.mark.e2e

CASE_AUDITS = [item["key"] for item in questionnaires.library() if item["kind"] == QuestionnaireKind.CASE_AUDIT]
ACTION = "What action was taken, and to whom was it escalated?"


def _reference() -> str:
    # five digits: never a compact date, an NHS number or a name, whatever the draw
    return f"E2E-{uuid.uuid4().int % 10**5:05d}-L"


def _build_round(app: Flask, library_key: str, *, status: RoundStatus) -> dict:
    """A round of the library questionnaire ``library_key`` in the demo partnership, one police case, set up
    through the services and moved to ``status``."""
    item = next(item for item in questionnaires.library() if item["key"] == library_key)
    suffix = uuid.uuid4().hex[:6]
    reference = _reference()
    with app.app_context(), system_actor("test:e2e"):
        partnership = db.session.scalar(sa.select(Partnership).order_by(Partnership.id).limit(1))
        police = db.session.scalar(sa.select(Agency).where(Agency.name == POLICE))
        version = questionnaires.import_questionnaire(
            partnership.id, item["data"], key=f"{library_key}_{suffix}", publish=True
        )
        round_ = rounds.plan_round(
            partnership.id, title=f"E2E {item['title']} {suffix}", version=version, opens_on=None, due_on=None
        )
        round_case = case_services.add_case(round_, agency_ids=[police.id], reference=reference)
        for step in (RoundStatus.OPEN, RoundStatus.CLOSED):
            rounds.move_round(round_, step)
            if step == status:
                break
        built = {
            "round_id": round_.id,
            "round_case_id": round_case.id,
            "title": round_.title,
            "reference": reference,
            "levels": [level.label for level in case_services.judgement_scale_levels(round_)],
        }
        db.session.commit()
        db.session.remove()
    return built


@pytest.mark.parametrize("library_key", CASE_AUDITS)
def test_the_panel_records_a_case_judgement_and_finds_it_on_the_findings_page(
    page: Page, e2e_app: Flask, check_a11y, library_key: str
) -> None:
    built = _build_round(e2e_app, library_key, status=RoundStatus.CLOSED)
    grade = built["levels"][1]
    strength = f"Agencies met the same day and kept the child in view ({uuid.uuid4().hex[:6]})."
    sign_in(page, QA_EMAIL)
    page.goto(f"/rounds/{built['round_id']}/cases/{built['round_case_id']}/discussion")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Case {built['reference']}: multi-agency discussion")
    expect(page.locator("#concern_escalated-hint")).to_have_text("No agency raised an immediate concern in its return.")
    page.get_by_label("Agreed multi-agency grade for the case", exact=True).select_option(label=grade)
    page.locator("#case-strengths").fill(strength)
    page.get_by_role("button", name="Save the multi-agency judgement").click()
    _flash(page, "Multi-agency judgement saved")
    expect(page.get_by_label("Agreed multi-agency grade for the case", exact=True)).to_have_value(grade)
    check_a11y(f"discussion of a {library_key} case")

    page.goto(f"/rounds/{built['round_id']}/findings/texts")
    entry = page.locator("li").filter(has_text=strength)
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text(built["reference"])
    expect(page.locator("main")).not_to_contain_text("nan")


@pytest.fixture()
def real_mail(e2e_app: Flask, smtp_server, mailbox) -> Iterator[list]:
    """The e2e app sends to the test SMTP server for one test (it logs emails otherwise)."""
    saved = {key: e2e_app.config.get(key) for key in ("MAIL_SERVER", "MAIL_PORT")}
    e2e_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server[0])
    yield mailbox
    e2e_app.config.update(saved)


def _wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_an_auditor_raises_a_concern_and_the_qa_member_sees_it_and_is_emailed(
    page: Page, e2e_app: Flask, other_browser, check_a11y, real_mail: list
) -> None:
    built = _build_round(e2e_app, "neglect_case_audit", status=RoundStatus.OPEN)
    reference = built["reference"]
    auditor = other_browser()
    sign_in(auditor, POLICE_AUDITOR_EMAIL)
    _nav(auditor, "My returns")
    auditor.locator("#returns").get_by_role("link", name=reference, exact=True).click()
    auditor.get_by_role("link", name="Overall", exact=True).click()
    auditor.get_by_role("group", name=IMMEDIATE_CONCERN, exact=True).get_by_label("Yes", exact=True).check()
    auditor.get_by_label(f"{ACTION} (optional)").fill("Passed to the MASH team manager the same morning.")
    auditor.get_by_role("button", name="Save and return to the task list").click()
    _flash(auditor, "'Overall' saved")
    expect(auditor.locator(".app-concern-tag")).to_have_text("Concern raised")
    check_a11y("return with a concern raised", on=auditor)

    assert _wait_for(lambda: any(reference in m.get_content() for m in real_mail)), "no concern email"
    email = next(m for m in real_mail if reference in m.get_content())
    assert "qa@northbridge.example.org" in email["To"]
    assert built["title"] in email["Subject"] and POLICE in email.get_content()
    assert "MASH team manager" not in email.get_content()

    sign_in(page, QA_EMAIL)
    page.goto(f"/rounds/{built['round_id']}")
    row = page.locator("h2#returns ~ table tbody tr").filter(has_text=reference)
    expect(row.locator(".app-concern-tag")).to_have_text("Concern raised")
    check_a11y("round with a concern raised")
    row.get_by_role("link", name=POLICE, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Case {reference}")
    expect(page.locator(".app-concern-tag")).to_have_text("Concern raised")

    # At the discussion, "escalated?" starts from what the police said.
    with e2e_app.app_context(), system_actor("test:e2e"):
        rounds.move_round(db.session.get(Round, built["round_id"]), RoundStatus.CLOSED)
        db.session.commit()
        db.session.remove()
    page.goto(f"/rounds/{built['round_id']}/cases/{built['round_case_id']}/discussion")
    expect(page.locator("#concerns")).to_contain_text(f"Concern raised {POLICE} recorded an immediate safeguarding")
    escalated = page.get_by_role("group", name="Was an immediate concern about the child escalated?")
    expect(escalated).to_contain_text(f"Agencies that raised a concern in their return: {POLICE}.")
    expect(escalated.get_by_label("Yes", exact=True)).to_be_checked()
    check_a11y("discussion of a case with a concern raised")
