"""The panel's judgement on rounds built from each shipped case-audit questionnaire (all have a section keyed
``overall``, whose fields once shared their names with the case's own and lost the case grade)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from audit_app.case_audits import services as case_services
from audit_app.case_audits.models import CaseJudgement
from audit_app.core.audit import system_actor
from audit_app.extensions import db
from audit_app.questionnaires import services as questionnaires
from audit_app.questionnaires.models import QuestionnaireKind
from audit_app.rounds import services
from audit_app.rounds.models import RoundStatus
from tests.conftest import login

CASE_AUDITS = [item["key"] for item in questionnaires.library() if item["data"]["kind"] == QuestionnaireKind.CASE_AUDIT]


def test_the_library_has_four_case_audits_each_with_an_overall_section():
    assert len(CASE_AUDITS) == 4
    for item in questionnaires.library():
        if item["key"] in CASE_AUDITS:
            assert "overall" in [section["key"] for section in item["data"]["sections"]]


@pytest.mark.parametrize("key", CASE_AUDITS)
def test_a_case_grade_chosen_with_the_overall_section_blank_is_kept(client, world, key):
    item = next(item for item in questionnaires.library() if item["key"] == key)
    with system_actor("test:setup"):
        version = questionnaires.import_questionnaire(world.partnership.id, item["data"], publish=True)
        round_ = services.plan_round(world.partnership.id, title=key, version=version, opens_on=None, due_on=None)
        round_case = case_services.add_case(round_, agency_ids=[world.police.agency_id], reference="CS-77")
        services.move_round(round_, RoundStatus.OPEN)
        services.move_round(round_, RoundStatus.CLOSED)
        db.session.commit()
    levels = [level.label for level in case_services.judgement_scale_levels(round_)]
    login(client, world.user("qa_member"))
    url = f"/rounds/{round_.id}/cases/{round_case.id}/discussion"
    page = client.get(url).get_data(as_text=True)
    assert 'name="case-grade"' in page and 'name="section-overall-grade"' in page
    response = client.post(
        url,
        data={"case-grade": levels[1], "section-overall-grade": "", "case-strengths": "Quick strategy meeting"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    judgements = {
        j.section_key: j
        for j in db.session.scalars(sa.select(CaseJudgement).where(CaseJudgement.round_case_id == round_case.id))
    }
    assert judgements[""].grade.label == levels[1]
    assert judgements[""].strengths == "Quick strategy meeting"
    assert judgements["overall"].grade is None
    # And the section's own grade is kept apart from the case's.
    client.post(url, data={"case-grade": levels[0], "section-overall-grade": levels[2]})
    db.session.expire_all()
    judgements = {
        j.section_key: j
        for j in db.session.scalars(sa.select(CaseJudgement).where(CaseJudgement.round_case_id == round_case.id))
    }
    assert (judgements[""].grade.label, judgements["overall"].grade.label) == (levels[0], levels[2])


def test_the_discussion_reports_every_bad_field_at_once_and_saves_nothing(client, world):
    item = next(item for item in questionnaires.library() if item["key"] == CASE_AUDITS[0])
    with system_actor("test:setup"):
        version = questionnaires.import_questionnaire(world.partnership.id, item["data"], publish=True)
        round_ = services.plan_round(world.partnership.id, title="T", version=version, opens_on=None, due_on=None)
        round_case = case_services.add_case(round_, agency_ids=[world.police.agency_id], reference="CS-78")
        services.move_round(round_, RoundStatus.OPEN)
        services.move_round(round_, RoundStatus.CLOSED)
        db.session.commit()
    first_section = version.sections[0].key
    levels = [level.label for level in case_services.judgement_scale_levels(round_)]
    login(client, world.user("qa_member"))
    response = client.post(
        f"/rounds/{round_.id}/cases/{round_case.id}/discussion",
        data={
            f"section-{first_section}-grade": "Superb",
            "case-grade": levels[0],
            "concern_escalated": "yes",
            "escalated_to": "",
            "escalated_on-day": "31",
            "escalated_on-month": "2",
            "escalated_on-year": "2026",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    for field in (f"section-{first_section}-grade", "escalated_to", "escalated_on"):
        assert f'href="#{field}"' in page, field
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CaseJudgement)) == 0
