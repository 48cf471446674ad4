"""Browser journey through a practitioner survey, with axe on its pages.

A Section 11 round for police is set up through the services on the demo partnership; the QA member switches on
its practitioner survey on the page; the police lead makes the agency's link; a practitioner opens the link in a
browser that has never signed in, is told what is missing, answers, and sees the thank-you page.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page, expect

from audit_app.accounts.models import Agency, Partnership
from audit_app.core import clock
from audit_app.core.audit import system_actor
from audit_app.extensions import db
from audit_app.questionnaires import services as questionnaires
from audit_app.rounds import services as rounds
from audit_app.rounds.models import RoundStatus

from .conftest import sign_in

pytestmark = pytest.mark.e2e

QA_EMAIL = "qa@northbridge.example.org"
POLICE_LEAD_EMAIL = "lead.police@northbridge.example.org"
POLICE = "Northbridge and Eastvale Police (North BCU)"


def _library_version(partnership_id: int, library_key: str, suffix: str):
    item = next(item for item in questionnaires.library() if item["key"] == library_key)
    return questionnaires.import_questionnaire(
        partnership_id, item["data"], key=f"{library_key}_{suffix}", publish=True
    )


def _build_round(app: Flask) -> dict:
    """An open Section 11 round for police, due in four weeks, and a published practitioner survey of its own."""
    suffix = uuid.uuid4().hex[:6]
    with app.app_context(), system_actor("test:e2e"):
        partnership = db.session.scalar(sa.select(Partnership).order_by(Partnership.id).limit(1))
        police = db.session.scalar(sa.select(Agency).where(Agency.name == POLICE))
        round_ = rounds.plan_round(
            partnership.id,
            title=f"E2E Section 11 survey {suffix}",
            version=_library_version(partnership.id, "section11_self_assessment", suffix),
            opens_on=None,
            due_on=clock.today() + timedelta(days=28),
            agency_ids=[police.id],
        )
        rounds.move_round(round_, RoundStatus.OPEN)
        survey = _library_version(partnership.id, "practitioner_survey", suffix)
        built = {
            "round_id": round_.id,
            "police_id": police.id,
            "survey_label": f"{survey.questionnaire.title} (version {survey.number})",
            "partnership": partnership.name,
        }
        db.session.commit()
        db.session.remove()
    return built


def test_a_practitioner_answers_by_link_without_signing_in(
    page: Page, e2e_app: Flask, other_browser: Callable[[], Page], check_a11y
) -> None:
    built = _build_round(e2e_app)
    survey_url = f"/rounds/{built['round_id']}/survey"

    # 1. The QA member switches on the survey (closing on the round's due date).
    sign_in(page, QA_EMAIL)
    page.goto(f"/rounds/{built['round_id']}")
    page.get_by_role("link", name="Practitioner survey", exact=True).click()
    expect(page.get_by_text("This round has no practitioner survey")).to_be_visible()
    check_a11y("survey set-up")
    page.get_by_label("Survey questions").select_option(label=built["survey_label"])
    page.get_by_role("button", name="Save the survey").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("The practitioner survey is on")
    expect(page.locator("#survey-agencies")).to_contain_text("No link yet")
    check_a11y("survey with its agencies")

    # 2. The police lead makes the agency's link, shown once.
    lead = other_browser()
    sign_in(lead, POLICE_LEAD_EMAIL)
    lead.goto(f"{survey_url}/agencies/{built['police_id']}")
    expect(lead.locator("#survey-link-state")).to_contain_text("has no working link")
    check_a11y("an agency's survey", on=lead)
    lead.get_by_role("button", name="Make a link").click()
    expect(lead.get_by_role("heading", level=1)).to_contain_text("Survey link for")
    check_a11y("the link, shown once", on=lead)
    link = lead.get_by_label("Copy this link", exact=False).input_value()
    assert "/survey/sv_" in link

    # 3. A practitioner opens it in a browser that never signed in: only the survey.
    practitioner = other_browser()
    practitioner.goto(link)
    expect(practitioner.get_by_role("heading", level=1)).to_have_text("Practitioner survey (Section 11)")
    expect(practitioner.locator(".govuk-caption-l")).to_have_text(POLICE)
    expect(practitioner.locator("header")).to_contain_text(built["partnership"])
    expect(practitioner.locator("#closes-on")).to_contain_text("Open until")
    expect(practitioner.get_by_role("button", name="Sign out")).to_have_count(0)
    expect(practitioner.locator("a[href^='/rounds'], a[href^='/returns'], nav")).to_have_count(0)
    check_a11y("the survey as a practitioner sees it", on=practitioner)

    # Sent with nothing chosen: every question named at once.
    practitioner.get_by_role("button", name="Send your answers").click()
    summary = practitioner.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary.locator("li")).to_have_count(12)
    check_a11y("the survey with its errors", on=practitioner)

    for group in practitioner.locator("fieldset").all():
        legend = group.locator("legend").inner_text()
        if legend.startswith("Which best describes your role"):
            group.get_by_label("Front-line practitioner", exact=True).check()
        else:
            group.get_by_label("Agree", exact=True).check()
    practitioner.get_by_role("button", name="Send your answers").click()
    expect(practitioner.get_by_role("heading", level=1)).to_have_text("Thank you")
    expect(practitioner.locator("body")).not_to_contain_text(POLICE)
    check_a11y("thank-you page", on=practitioner)

    # 4. One response: the QA member sees "fewer than 5", nothing more.
    page.goto(survey_url)
    expect(page.locator(f"#survey-agency-{built['police_id']}")).to_contain_text("fewer than 5")
