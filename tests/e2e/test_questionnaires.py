"""Browser journey: a QA member builds a two-section questionnaire, publishes it and previews it."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from .conftest import sign_in

pytestmark = pytest.mark.e2e

QA_EMAIL = "qa@northbridge.example.org"


def _add_question(page: Page, section: str, text: str, key: str, answer_type: str, **extra: str) -> None:
    card = page.locator(".govuk-summary-card", has=page.get_by_role("heading", name=re.compile(section)))
    card.get_by_role("link", name=re.compile("Add a question")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a question")
    page.get_by_label("Question", exact=True).fill(text)
    page.get_by_label("Key", exact=True).fill(key)
    page.get_by_label(answer_type, exact=True).check()
    if "scale" in extra:
        page.get_by_label("Scale (for ratings)").select_option(label=extra["scale"])
    if "options" in extra:
        page.get_by_label("Options (for choice questions), one per line").fill(extra["options"])
    if extra.get("required"):
        page.get_by_label("An answer is required before the return can be submitted").check()
    if "only_if" in extra:
        page.get_by_label("Show it only if another question has certain answers").select_option(value=extra["only_if"])
        page.get_by_label("…and those answers are (one per line)").fill(extra["answers"])
    page.get_by_role("button", name="Save question").click()
    expect(page.get_by_text("Question added")).to_be_visible()


def test_qa_member_builds_publishes_and_previews_a_questionnaire(page: Page, check_a11y) -> None:
    suffix = uuid.uuid4().hex[:6]
    title = f"Missing children audit {suffix}"
    sign_in(page, QA_EMAIL)
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Questionnaires").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Questionnaires")
    check_a11y("questionnaire list")

    page.get_by_role("button", name="Create from nothing").click()
    page.get_by_role("button", name="Create and add questions").click()
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    check_a11y("new questionnaire with errors")
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Key", exact=True).fill(f"missing_{suffix}")
    page.get_by_label("Case audit", exact=True).check()
    page.get_by_label("Theme", exact=True).fill("Exploitation and missing")
    page.get_by_role("button", name="Create and add questions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    check_a11y("empty draft editor")

    for section_title, key in (("Return interviews", "return_interviews"), ("Overall", "overall")):
        page.get_by_role("button", name="Add a section").click()
        page.get_by_label("Section title").fill(section_title)
        page.get_by_label("Key", exact=True).fill(key)
        page.get_by_role("button", name="Save section").click()
        expect(page.get_by_text("Section added")).to_be_visible()

    _add_question(
        page,
        "Return interviews",
        "Was a return home interview offered?",
        "ri_offered",
        "Choose one option",
        options="Yes\nNo",
        required="1",
    )
    _add_question(
        page,
        "Return interviews",
        "Why was no interview offered?",
        "ri_reason",
        "Free text",
        only_if="ri_offered",
        answers="No",
    )
    check_a11y("draft editor after adding questions")
    card = page.locator(".govuk-summary-card", has=page.get_by_role("heading", name=re.compile("Overall")))
    card.get_by_role("link", name=re.compile("Add a question")).click()
    page.get_by_role("button", name="Save question").click()
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    check_a11y("question form with errors")
    page.get_by_role("link", name="Back to the draft").click()
    _add_question(
        page,
        "Overall",
        "Overall grade for the case",
        "overall_grade",
        "Rating on a scale",
        scale="Ofsted four-point grade",
        required="1",
    )
    check_a11y("draft editor with questions")

    page.get_by_role("link", name="questionnaire's page").click()
    expect(page.locator("#versions")).to_contain_text("Draft")
    page.get_by_role("button", name="Publish version 1").click()
    expect(page.get_by_text("Version published")).to_be_visible()
    expect(page.locator("#versions")).to_contain_text("Published")
    check_a11y("questionnaire after publishing")

    page.get_by_role("link", name="Preview version 1").click()
    expect(page.get_by_role("heading", level=2, name="1. Return interviews")).to_be_visible()
    expect(page.get_by_role("heading", level=2, name="2. Overall")).to_be_visible()
    expect(page.get_by_role("group", name="Overall grade for the case")).to_contain_text("Requires improvement")
    expect(page.get_by_text("Asked only if the answer to “Was a return home interview offered?” is No")).to_be_visible()
    check_a11y("preview")

    page.get_by_label("See it as this sector sees it").select_option(label="Police")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"sector=police"))
    expect(page.get_by_text("Was a return home interview offered?", exact=True)).to_be_visible()
