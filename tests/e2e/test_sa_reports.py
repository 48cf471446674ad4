"""Browser check of a Section 11 round's report, with axe.

A round on the shipped Section 11 questionnaire for three agencies is built through the services: the police
submit (every criterion Fully met but one Partly met, which the QA group moderates to Not met), the hospital
declines, the community trust has not returned. The QA member opens the report from the round's page: the heatmap
shows the police row with its own and its moderated ratings side by side, and the other two are listed as not
counted, never as zeros.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page, expect

from audit_app.accounts import services as accounts
from audit_app.accounts.demo import DEMO_PASSWORD
from audit_app.accounts.models import Role, Sector
from audit_app.core.audit import system_actor
from audit_app.extensions import db
from audit_app.questionnaires.models import QuestionType
from audit_app.rounds import services
from audit_app.rounds.models import Answer, Question, Return, RoundStatus
from tests.factories import make_questionnaire, make_round

from .conftest import sign_in

pytestmark = pytest.mark.e2e

POLICE = "Northbridge and Eastvale Police (North BCU)"
HOSPITAL = "Northbridge University Hospitals NHS Trust"
COMMUNITY = "Riverside Community Health NHS Trust"

A11y = Callable[..., list]


def _build(app: Flask, title: str, suffix: str) -> tuple[int, str]:
    """The round as described above, in a partnership of its own (so no other browser test counts it); its id
    and the QA member's email."""
    qa_email = f"qa.{suffix}@reports.example.org"
    with app.app_context(), system_actor("test:e2e"):
        partnership = accounts.create_partnership(f"Reports Partnership {suffix}")
        sectors = {
            s.key: s for s in db.session.scalars(sa.select(Sector).where(Sector.partnership_id == partnership.id))
        }
        links = {
            POLICE: accounts.create_agency(partnership.id, POLICE, sectors["police"]),
            HOSPITAL: accounts.create_agency(partnership.id, HOSPITAL, sectors["health"]),
            COMMUNITY: accounts.create_agency(partnership.id, COMMUNITY, sectors["health"]),
        }
        qa, _ = accounts.create_user(
            partnership.id, email=qa_email, name="Quinn Assurance", role=Role.QA_MEMBER, password=DEMO_PASSWORD
        )
        lead, _ = accounts.create_user(
            partnership.id,
            email=f"lead.{suffix}@reports.example.org",
            name="Lee Lead",
            role=Role.AGENCY_LEAD,
            agency_id=links[POLICE].agency_id,
            password=DEMO_PASSWORD,
        )
        version = make_questionnaire(partnership.id, library_key="section11_self_assessment")
        round_ = make_round(
            partnership.id, version=version, title=title, agencies=list(links.values()), status=RoundStatus.OPEN
        )
        returns = {
            name: db.session.scalar(
                sa.select(Return).where(Return.round_id == round_.id, Return.agency_id == link.agency_id)
            )
            for name, link in links.items()
        }
        police = returns[POLICE]
        answers = {
            q.key: ("Partly met" if q.key == "leadership_named_lead" else "Fully met")
            for q in services.applicable_questions(police)
            if q.type == QuestionType.SCALE
        }
        services.save_answers(police, answers, by=lead, expected_version=police.lock_version)
        services.submit_return(police, by=lead, as_lead=True)
        moderated = db.session.scalar(
            sa.select(Answer)
            .join(Question)
            .where(Answer.return_id == police.id, Question.key == "leadership_named_lead")
        )
        not_met = next(level for level in moderated.question.scale.levels if level.label == "Not met")
        moderated.moderated_level_id = not_met.id
        moderated.moderation_note = "No job description names the lead"
        services.decline_return(returns[HOSPITAL], by=qa, reason="The trust is merging")
        db.session.commit()
        return round_.id, qa_email


def test_the_heatmap_shows_self_and_moderated_ratings_and_lists_what_is_not_counted(
    e2e_app: Flask, live_server: str, page: Page, check_a11y: A11y
) -> None:
    suffix = uuid.uuid4().hex[:6]
    round_id, qa_email = _build(e2e_app, f"E2E Section 11 report {suffix}", suffix)

    sign_in(page, qa_email)
    page.goto(f"/rounds/{round_id}")
    page.get_by_role("link", name="Self-assessment report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Self-assessment report")

    heatmap = page.locator("#heatmap")
    expect(
        heatmap.get_by_role("columnheader", name="Standard 1: Senior management commitment to safeguarding")
    ).to_be_visible()
    expect(heatmap.get_by_role("columnheader", name="Self-rated").first).to_be_visible()
    expect(heatmap.get_by_role("columnheader", name="Moderated").first).to_be_visible()
    police = heatmap.locator("tbody tr").filter(has=page.get_by_role("rowheader", name=POLICE))
    cells = police.locator("td")
    # standard 1, self-rated: one of its criteria Partly met; moderated: that one Not met
    expect(cells.nth(0)).to_contain_text("Partly met: 1")
    expect(cells.nth(0)).to_contain_text("Not met: 0")
    expect(cells.nth(1)).to_contain_text("Partly met: 0")
    expect(cells.nth(1)).to_contain_text("Not met: 1")
    expect(cells.nth(1)).to_contain_text("Changed by moderation: 1")
    expect(cells.nth(2)).to_contain_text("0% below good")
    # the hospital and the community trust are not rows of the heatmap, but listed apart
    expect(heatmap).not_to_contain_text(HOSPITAL)
    expect(heatmap).not_to_contain_text(COMMUNITY)
    not_counted = page.locator("#sa_not_counted + div table")
    expect(not_counted).to_contain_text(HOSPITAL)
    expect(not_counted).to_contain_text("Declined")
    expect(not_counted).to_contain_text(COMMUNITY)
    expect(page.locator("#overall-rate")).to_contain_text("1 of 3 returns made (33%)")
    check_a11y("self-assessment report")

    page.get_by_role("link", name="Show counts from 1 to 4 as \u201cfewer than 5\u201d").click()
    expect(police.locator("td").nth(0)).to_contain_text("Partly met: fewer than 5")
    check_a11y("self-assessment report, small counts withheld")

    page.get_by_role("link", name="Summary for the board (PDF)").click()
    page.get_by_role("button", name="Prepare the PDF").click()
    expect(page.locator("#pdf-status")).to_contain_text("Ready")
    check_a11y("board summary PDF page")
