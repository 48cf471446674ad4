"""The discussion page in a live meeting: where the case sits in the round, the cases either side, every case's
agreed grade, and the sections of the page (issue 11)."""

from __future__ import annotations

from audit_app.case_audits import services as case_services
from audit_app.core.audit import system_actor
from audit_app.extensions import db
from audit_app.rounds.models import RoundStatus
from tests.conftest import login
from tests.factories import make_questionnaire, make_round
from tests.questionnaires.test_questionnaire_spec import EXAMPLE


def test_the_panel_moves_from_case_to_case_and_sees_which_are_graded(client, world, count_queries):
    version = make_questionnaire(world.partnership.id, EXAMPLE)
    round_ = make_round(
        world.partnership.id,
        version=version,
        agencies=[world.police],
        cases=["CS-1", "CS-2", "CS-3"],
        status=RoundStatus.CLOSED,
    )
    first, second, third = round_.cases
    grade = case_services.judgement_scale_levels(round_)[0].label
    with system_actor("test"):
        case_services.record_judgement(first, section_key="", grade=grade)
    db.session.commit()
    login(client, world.user("qa_member"))
    page = client.get(f"/rounds/{round_.id}/cases/{second.id}/discussion").get_data(as_text=True)
    assert 'aria-label="Cases in this round"' in page
    assert "Case 2 of 3" in page and "1 of 3 graded by the panel" in page
    assert f'href="/rounds/{round_.id}/cases/{first.id}/discussion" rel="prev"' in page
    assert f'href="/rounds/{round_.id}/cases/{third.id}/discussion" rel="next"' in page
    assert f"CS-1</a>: {grade}" in page and '<strong aria-current="page">CS-2</strong>: Not graded yet' in page
    assert 'href="#overall"' in page and 'href="#section-recognition"' in page
    last = client.get(f"/rounds/{round_.id}/cases/{third.id}/discussion").get_data(as_text=True)
    assert 'rel="next"' not in last and 'rel="prev"' in last
    # the navigator costs the same few queries however many cases the round has (each count after a warm-up)
    client.get(f"/rounds/{round_.id}/cases/{second.id}/discussion")
    with count_queries() as small:
        client.get(f"/rounds/{round_.id}/cases/{second.id}/discussion")
    with system_actor("test"):
        round_.status = RoundStatus.OPEN
        for n in range(4, 12):
            case_services.add_case(round_, agency_ids=[world.police.agency_id], reference=f"CS-{n}")
        round_.status = RoundStatus.CLOSED
    db.session.commit()
    client.get(f"/rounds/{round_.id}/cases/{second.id}/discussion")
    with count_queries() as large:
        client.get(f"/rounds/{round_.id}/cases/{second.id}/discussion")
    # (a fresh PostgreSQL connection adds its SET statements: a little slack, far below one query per case)
    assert large.count <= small.count + 2


def test_a_section_s_own_save_keeps_everything_and_comes_back_to_it(client, world):
    version = make_questionnaire(world.partnership.id, EXAMPLE)
    round_ = make_round(
        world.partnership.id, version=version, agencies=[world.police], cases=["CS-1"], status=RoundStatus.CLOSED
    )
    round_case = round_.cases[0]
    grade = case_services.judgement_scale_levels(round_)[0].label
    login(client, world.user("qa_member"))
    url = f"/rounds/{round_.id}/cases/{round_case.id}/discussion"
    page = client.get(url).get_data(as_text=True)
    assert 'name="then" value="section-recognition"' in page
    saved = client.post(
        url,
        data={
            "section-recognition-grade": grade,
            "case-strengths": "Typed for the case",
            "then": "section-recognition",
        },
    )
    assert saved.status_code == 302 and saved.location.endswith("?open=recognition#section-recognition")
    # back on the page, the section just saved has its answers open; the others stay folded
    back = client.get(saved.location).get_data(as_text=True)
    assert '<details class="govuk-details app-section-answers" id="answers-recognition" open>' in back
    assert back.count("app-section-answers") == len(version.sections) and back.count(" open>") == 1
    from audit_app.case_audits.models import CaseJudgement

    judgements = {j.section_key: j for j in db.session.query(CaseJudgement).filter_by(round_case_id=round_case.id)}
    assert judgements["recognition"].grade.label == grade and judgements[""].strengths == "Typed for the case"
    # an anchor that is not a section of the page is never echoed back
    odd = client.post(url, data={"then": "section-<script>"})
    assert odd.status_code == 302 and "#" not in odd.location


def test_the_answers_fold_away_and_can_all_be_shown_for_reading_or_printing(client, world):
    """No 20,000-pixel page: each section's answer table is folded until the panel opens it (issue 11)."""
    version = make_questionnaire(world.partnership.id, EXAMPLE)
    round_ = make_round(
        world.partnership.id, version=version, agencies=[world.police], cases=["CS-1"], status=RoundStatus.CLOSED
    )
    login(client, world.user("qa_member"))
    url = f"/rounds/{round_.id}/cases/{round_.cases[0].id}/discussion"
    folded = client.get(url).get_data(as_text=True)
    sections = len(version.sections)
    assert folded.count('class="govuk-details app-section-answers"') == sections
    assert 'app-section-answers" id="answers-recognition" >' in folded and "Show every section's answers" in folded
    shown = client.get(url + "?answers=all").get_data(as_text=True)
    assert shown.count('app-section-answers" id="answers-') == sections and shown.count(" open>") == sections
    assert '<input type="hidden" name="answers" value="all">' in shown
    # a save from the page with every answer shown comes back to it with every answer shown
    saved = client.post(url, data={"answers": "all"})
    assert saved.status_code == 302 and "answers=all" in saved.location
    # an unknown section to open is ignored, never echoed
    odd = client.get(url + "?open=<script>").get_data(as_text=True)
    assert " open>" not in odd and "?open=" not in odd
