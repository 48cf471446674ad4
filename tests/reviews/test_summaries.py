"""Agency summaries of a rapid review: the QA group asks the agencies involved, a round of agency summaries opens
(returns, emails), agencies are added later, and each return follows the engine's access rules: an agency sees
its own summary only; the QA group, admins and scrutineers see all of them."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from audit_app.accounts.models import Role
from audit_app.core.audit import system_actor
from audit_app.core.errors import FieldErrors, NotAllowedError
from audit_app.extensions import db
from audit_app.questionnaires.models import Questionnaire, QuestionnaireKind, VersionStatus
from audit_app.reviews import summaries
from audit_app.reviews.models import LearningReview, PublicationState, ReviewType
from audit_app.rounds.models import Return, ReturnStatus, RoundStatus
from tests.conftest import login
from tests.factories import make_questionnaire, make_return_answered, make_user, returns_of

#: Monday 30 November 2026
TODAY = date(2026, 11, 30)
#: notified Thursday 26 November: 10 working days -> Thursday 10 December; the rapid review 15 -> 17 December
NOTIFIED = date(2026, 11, 26)


def _review(world, review_type=ReviewType.RAPID_REVIEW, **kw) -> LearningReview:
    with system_actor("test:setup"):
        review = LearningReview(
            partnership_id=world.partnership.id,
            review_type=review_type,
            pseudonym=kw.pop("pseudonym", "Child K"),
            aware_on=date(2026, 11, 24),
            notified_on=NOTIFIED,
            **kw,
        )
        db.session.add(review)
        db.session.commit()
    return review


@pytest.fixture()
def rapid(world, clock):
    clock.set(TODAY)
    make_questionnaire(world.partnership.id, library_key=summaries.LIBRARY_KEY)
    with system_actor("test:setup"):
        health_auditor = make_user(
            world.partnership.id, Role.AUDITOR, email="auditor@hospital.example.org", agency_id=world.health.agency_id
        )
        db.session.commit()
    return {"review": _review(world), "health_auditor": health_auditor}


def _date(prefix: str, d: date) -> dict[str, str]:
    return {f"{prefix}-day": str(d.day), f"{prefix}-month": str(d.month), f"{prefix}-year": str(d.year)}


def test_the_default_due_date_is_10_working_days_after_notification_or_5_from_today(world, clock):
    clock.set(TODAY)
    review = _review(world)
    assert summaries.default_due_on(review) == date(2026, 12, 10)
    # notified long ago: 5 working days from today (Tue 1 .. Mon 7 December)
    review.notified_on = date(2026, 10, 1)
    assert summaries.default_due_on(review) == date(2026, 12, 7)
    review.notified_on = None
    assert summaries.default_due_on(review) == date(2026, 12, 7)
    review.notified_on = NOTIFIED
    assert summaries.rapid_review_due(review) == date(2026, 12, 17)
    assert summaries.due_warnings(review, date(2026, 12, 17)) == []
    assert "17 December 2026" in summaries.due_warnings(review, date(2026, 12, 18))[0]


def test_the_qa_group_asks_two_agencies_and_a_round_of_summaries_opens(client, world, rapid, mailbox):
    review = rapid["review"]
    login(client, world.user("qa_member"))
    form = client.get(f"/reviews/{review.id}/summaries/new")
    page = form.get_data(as_text=True)
    assert form.status_code == 200
    assert 'value="10"' in page and "North Police" in page and "North Hospital" in page
    assert "17 December 2026" in page  # the rapid review's due date, as advice

    refused = client.post(
        f"/reviews/{review.id}/summaries/new", data={**_date("due_on", date(2026, 11, 27)), "agency_ids": ["x"]}
    )
    body = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "Choose active agencies of this partnership only" in body
    assert "The date the summaries are due must be today or later" in body
    assert review.summary_round_id is None

    # a date after the rapid review's due date is allowed, with a warning
    warned = client.post(
        f"/reviews/{review.id}/summaries/new", data={**_date("due_on", date(2026, 12, 21)), "agency_ids": ["nope"]}
    )
    assert "the panel may not have them in time" in warned.get_data(as_text=True)

    asked = client.post(
        f"/reviews/{review.id}/summaries/new",
        data={**_date("due_on", date(2026, 12, 10)), "agency_ids": [world.police.agency_id, world.health.agency_id]},
    )
    assert asked.status_code == 303
    db.session.refresh(review)
    round_ = review.summary_round
    assert round_.kind == QuestionnaireKind.AGENCY_SUMMARY and round_.status == RoundStatus.OPEN
    assert round_.title == "Rapid review: Child K: agency summaries" and round_.due_on == date(2026, 12, 10)
    assert round_.version.questionnaire.key == summaries.LIBRARY_KEY
    assert sorted(r.agency.name for r in returns_of(round_)) == ["North Hospital", "North Police"]
    # the opening email, as for any round: police (auditor and lead) and the hospital's auditor
    assert len(mailbox) == 2 and all("agency summaries" in m["Subject"] for m in mailbox)

    shown = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    assert "Due 10 December 2026. 0 of 2 summaries in." in shown
    assert "Not started" in shown and "Ask another agency for a summary" in shown
    # the round's page and the returns list render for the new kind
    assert client.get(f"/rounds/{round_.id}").status_code == 200
    assert "agency summaries" in client.get("/returns").get_data(as_text=True)


def test_another_agency_is_added_later_to_the_same_round(client, world, rapid, mailbox):
    review = rapid["review"]
    with system_actor("test:setup"):
        round_, new = summaries.ask_for_summaries(
            review, summaries.SummariesIn(agency_ids=[world.police.agency_id], due_on=date(2026, 12, 10))
        )
        db.session.commit()
    assert new == {world.police.agency_id}
    login(client, world.user("admin"))
    form = client.get(f"/reviews/{review.id}/summaries/agencies").get_data(as_text=True)
    assert "North Hospital" in form and f'type="checkbox" value="{world.police.agency_id}"' not in form
    again = client.post(f"/reviews/{review.id}/summaries/agencies", data={"agency_ids": [world.police.agency_id]})
    assert again.status_code == 400 and "already been asked" in again.get_data(as_text=True)
    added = client.post(f"/reviews/{review.id}/summaries/agencies", data={"agency_ids": [world.health.agency_id]})
    assert added.status_code == 303
    db.session.refresh(review)
    assert review.summary_round_id == round_.id
    assert sorted(r.agency.name for r in returns_of(round_)) == ["North Hospital", "North Police"]
    assert round_.due_on == date(2026, 12, 10)
    assert [m["To"] for m in mailbox] == ["auditor@hospital.example.org"]  # only the agency just asked


def test_an_agency_sees_only_its_own_summary(client, world, rapid):
    review = rapid["review"]
    with system_actor("test:setup"):
        round_, _ = summaries.ask_for_summaries(
            review,
            summaries.SummariesIn(
                agency_ids=[world.police.agency_id, world.health.agency_id], due_on=date(2026, 12, 10)
            ),
        )
        review.publication_state = PublicationState.PUBLISHED
        review.published_on = TODAY
        db.session.commit()
    police, health = (
        db.session.scalar(sa.select(Return).where(Return.round_id == round_.id, Return.agency_id == a.agency_id))
        for a in (world.police, world.health)
    )
    make_return_answered(police, world.user("auditor"), submit=True)
    db.session.commit()
    assert police.status == ReturnStatus.SUBMITTED

    login(client, world.user("auditor"))
    assert client.get(f"/returns/{police.id}").status_code == 200
    assert client.get(f"/returns/{health.id}").status_code == 404
    mine = client.get("/returns").get_data(as_text=True)
    assert "Rapid review: Child K: agency summaries" in mine
    # the published review's page lists the police summary only
    page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    assert "North Police" in page and "North Hospital" not in page

    login(client, rapid["health_auditor"])
    assert client.get(f"/returns/{police.id}").status_code == 404
    assert client.get(f"/returns/{health.id}").status_code == 200

    for role in ("qa_member", "admin", "scrutineer"):
        login(client, world.user(role))
        assert client.get(f"/returns/{police.id}").status_code == 200, role
        assert client.get(f"/returns/{health.id}").status_code == 200, role
        page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
        assert "North Police" in page and "North Hospital" in page
    assert "1 of 2 summaries in" in page
    assert police.submitted_at.strftime("%-d %B %Y") in page


def test_only_a_rapid_review_asks_for_summaries(client, world, rapid):
    review = _review(world, ReviewType.LOCAL_LEARNING_REVIEW, pseudonym="Child L")
    with pytest.raises(NotAllowedError, match="Only a rapid review"):
        summaries.ask_for_summaries(review, summaries.SummariesIn(agency_ids=[world.police.agency_id]))
    login(client, world.user("qa_member"))
    refused = client.post(
        f"/reviews/{review.id}/summaries/new",
        data={**_date("due_on", date(2026, 12, 10)), "agency_ids": [world.police.agency_id]},
    )
    assert refused.status_code == 409 and "Only a rapid review" in refused.get_data(as_text=True)
    assert "Agency summaries" not in client.get(f"/reviews/{review.id}").get_data(as_text=True)


def test_every_bad_field_is_named_at_once(world, rapid):
    with pytest.raises(FieldErrors) as caught:
        summaries.ask_for_summaries(
            rapid["review"], summaries.SummariesIn(agency_ids=[world.other_agency.agency_id], sector_ids=[999999])
        )
    assert set(caught.value.fields) == {"agency_ids", "sector_ids", "due_on"}
    with pytest.raises(FieldErrors) as caught:
        summaries.ask_for_summaries(rapid["review"], summaries.SummariesIn())
    assert set(caught.value.fields) == {"agency_ids", "due_on"}


def test_a_whole_sector_is_asked(world, rapid):
    with system_actor("test:setup"):
        round_, new = summaries.ask_for_summaries(
            rapid["review"], summaries.SummariesIn(sector_ids=[world.health.sector_id], due_on=date(2026, 12, 10))
        )
    assert new == {world.health.agency_id}
    assert [r.agency_id for r in returns_of(round_)] == [world.health.agency_id]


def test_without_a_published_questionnaire_the_library_one_is_published_in_one_click(client, world, clock):
    clock.set(TODAY)
    review = _review(world)
    login(client, world.user("qa_member"))
    page = client.get(f"/reviews/{review.id}/summaries/new").get_data(as_text=True)
    assert "no published agency summary questionnaire" in page
    assert "Publish the library" in page
    refused = client.post(
        f"/reviews/{review.id}/summaries/new",
        data={**_date("due_on", date(2026, 12, 10)), "agency_ids": [world.police.agency_id]},
    )
    assert refused.status_code == 409 and "Questionnaires" in refused.get_data(as_text=True)
    published = client.post(f"/reviews/{review.id}/summaries/questionnaire")
    assert published.status_code == 303
    questionnaire = db.session.scalar(
        sa.select(Questionnaire).where(
            Questionnaire.partnership_id == world.partnership.id, Questionnaire.key == summaries.LIBRARY_KEY
        )
    )
    assert questionnaire.kind == QuestionnaireKind.AGENCY_SUMMARY
    assert questionnaire.versions[-1].status == VersionStatus.PUBLISHED
    assert summaries.summary_version(world.partnership.id).questionnaire_id == questionnaire.id
    # once there, the one-click is not offered again
    again = client.post(f"/reviews/{review.id}/summaries/questionnaire", follow_redirects=True)
    assert "already has the library" in again.get_data(as_text=True)


def test_agency_staff_and_scrutineers_cannot_ask(client, world, rapid):
    review = rapid["review"]
    for role, status in (("auditor", 403), ("agency_lead", 403), ("scrutineer", 403)):
        login(client, world.user(role))
        assert client.get(f"/reviews/{review.id}/summaries/new").status_code == status, role
    login(client, world.user("other_admin"))
    assert client.get(f"/reviews/{review.id}/summaries/new").status_code == 404


def test_summaries_through_the_api(world, rapid, api, mailbox):
    review = rapid["review"]
    qa = api(world.user("qa_member"))
    url = f"/api/v1/reviews/{review.id}/summaries"
    assert qa.get(url).get_json()["total"] == 0
    bad = qa.post(url, json={"agency_ids": [world.other_agency.agency_id], "due_on": "2026-11-01"})
    assert bad.status_code == 400 and set(bad.get_json()["error"]["fields"]) == {"agency_ids", "due_on"}
    made = qa.post(url, json={"agency_ids": [world.police.agency_id], "due_on": "2026-12-21"})
    assert made.status_code == 201
    body = made.get_json()
    assert body["asked_agency_ids"] == [world.police.agency_id] and body["warnings"]
    added = qa.post(url, json={"agency_ids": [world.health.agency_id]})
    assert added.status_code == 201 and added.get_json()["round_id"] == body["round_id"]
    assert added.get_json()["due_on"] == "2026-12-21"
    assert qa.post(url, json={}).status_code == 400
    moved = qa.post(url, json={"due_on": "2026-12-16"})
    assert moved.status_code == 201 and moved.get_json()["asked_agency_ids"] == []
    assert moved.get_json()["due_on"] == "2026-12-16" and moved.get_json()["warnings"] == []
    items = qa.get(url).get_json()["items"]
    assert [(i["agency_name"], i["status"], i["status_label"]) for i in items] == [
        ("North Hospital", "not_started", "Not started"),
        ("North Police", "not_started", "Not started"),
    ]
    assert all(i["submitted_at"] is None and i["return_id"] for i in items)
    assert api(world.user("scrutineer")).get(url).status_code == 200
    assert api(world.user("scrutineer")).post(url, json={}).status_code == 403
    assert api(world.user("auditor")).get(url).status_code == 403
    # an agency reads its own summary through the returns endpoints
    mine = api(world.user("auditor")).get("/api/v1/returns").get_json()["items"]
    assert [r["agency_name"] for r in mine if r["round_id"] == body["round_id"]] == ["North Police"]


def test_the_round_and_return_pages_work_for_a_round_of_agency_summaries(client, world, rapid):
    review = rapid["review"]
    with system_actor("test:setup"):
        round_, _ = summaries.ask_for_summaries(
            review, summaries.SummariesIn(agency_ids=[world.police.agency_id], due_on=date(2026, 12, 10))
        )
        db.session.commit()
    (police,) = returns_of(round_)
    make_return_answered(police, world.user("auditor"), submit=True)
    db.session.commit()
    section = round_.version.sections[0].key
    login(client, world.user("qa_member"))
    for url in (
        f"/rounds/{round_.id}",
        f"/rounds/{round_.id}/findings",
        f"/rounds/{round_.id}/findings/agencies",
        f"/rounds/{round_.id}/findings/texts",
        f"/rounds/{round_.id}/answers.xlsx",
        f"/returns/{police.id}",
        f"/returns/{police.id}/answers",
        f"/returns/{police.id}/workbook.xlsx",
        "/returns",
        "/findings",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        if response.mimetype == "text/html":
            text = response.get_data(as_text=True)
            assert ">None<" not in text and "nan" not in text.split(), url
    login(client, world.user("auditor"))
    for url in (f"/returns/{police.id}", f"/returns/{police.id}/sections/{section}", "/returns"):
        assert client.get(url).status_code == 200, url
