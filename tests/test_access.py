"""Every route in the URL map, for every role: who gets in, who gets 403/404.

The table below must name every endpoint the app has; a route added later
without an entry here fails ``test_every_route_is_in_the_table``, so no route
can skip the check.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from audit_app.accounts import services
from audit_app.accounts.models import Agency, ApiToken, User
from audit_app.core.audit import system_actor
from audit_app.extensions import db
from tests.conftest import login, module_setup, sector
from tests.factories import World, load_world
from tests.routes import ROUTES, build_route_world, fill_url

ROLES = ["anonymous", "admin", "qa_member", "agency_lead", "auditor", "scrutineer", "other_partnership"]
MEMBERS = {"admin", "qa_member", "agency_lead", "auditor", "scrutineer"}
ADMIN = {"admin"}
ADMIN_SCRUTINEER = {"admin", "scrutineer"}
BUILDERS = {"admin", "qa_member"}
VIEW_ROUNDS = {"admin", "qa_member", "scrutineer"}
#: who names the auditor completing a return: the QA group and admins, and the leads of its agency
ASSIGNERS = {"admin", "qa_member", "agency_lead"}
#: who updates the world's action (progress, evidence, due date): its owner (the police auditor), the leads of its
#: owner agency (police), the QA group and admins
ACTION_UPDATERS = {"admin", "qa_member", "agency_lead", "auditor"}
#: (endpoint, method) pairs narrower than the endpoint's entry: saving answers is for the agency
METHOD_ACCESS = {
    ("rounds.return_section", "POST"): {"auditor", "agency_lead"},
    ("case_audits.case_discussion", "POST"): BUILDERS,
    # the meeting record, practitioners and chair's report: the QA group writes, scrutineers read
    ("case_audits.round_meeting", "POST"): BUILDERS,
    ("case_audits.case_practitioners", "POST"): BUILDERS,
    ("case_audits.chair_report", "POST"): BUILDERS,
    ("rounds.round_sharing", "POST"): ADMIN,
    # scrutiny of a self-assessment round: the QA group names moderators and chooses priorities; scrutineers read
    ("scrutiny.round_moderators", "POST"): BUILDERS,
    ("scrutiny.round_priorities", "POST"): BUILDERS,
    # -- learning reviews: the register, clocks and pauses --
    # the API lets every member read a published review; the world's review is unpublished, so agency staff
    # get 404 (HIDDEN_FROM_OTHERS) and only these roles reach it
    ("api.reviews_get", "GET"): VIEW_ROUNDS,
    ("api.reviews_clocks", "GET"): VIEW_ROUNDS,
    # learning points and recommendations of a review: every member of a published one; the world's review is
    # unpublished, so agency staff do not find it (404, HIDDEN_FROM_OTHERS)
    ("api.learning_points_list", "GET"): VIEW_ROUNDS,
    ("api.review_recommendations_list", "GET"): VIEW_ROUNDS,
    # every member ends their own browser sessions; the world's session is the auditor's
    ("api.account_session_end", "DELETE"): {"auditor"},
}
OWNER = {"auditor"}  # the token in the URL belongs to the auditor
PUBLIC = "public"
#: endpoints whose objects are scoped to their owner in the query: others get 404
HIDDEN_FROM_OTHERS = {
    "accounts.token_revoke",
    # a browser session is its user's own (accounts.security.get_live_session): the world's is the auditor's
    "accounts.session_end",
    "api.account_session_end",
    # an unpublished review is not there for agency staff (reviews.permissions.reviews_query)
    "reviews.review_detail",
    "api.reviews_get",
    "api.reviews_clocks",
    # learning points and recommendations of the world's unpublished review (reviews.learning_views, api.learning)
    "api.learning_points_list",
    "api.review_recommendations_list",
}

#: endpoint -> who may use it (a set of roles) or PUBLIC
ACCESS: dict[str, set[str] | str] = {
    "accounts.login": PUBLIC,
    "accounts.set_password": PUBLIC,
    "core.healthz": PUBLIC,
    "core.readyz": PUBLIC,
    "api.openapi": PUBLIC,
    "accounts.logout": MEMBERS,
    "accounts.switch_partnership": MEMBERS,
    "accounts.account": MEMBERS,
    "accounts.token_revoke": OWNER,
    # -- account security: two-factor sign-in, sessions, unlocking --
    "accounts.login_two_factor": PUBLIC,
    "accounts.two_factor_setup": MEMBERS,
    "accounts.two_factor_recovery_codes": MEMBERS,
    "accounts.two_factor_disable": MEMBERS,
    "accounts.session_end": OWNER,
    "accounts.sessions_end_others": MEMBERS,
    "accounts.user_unlock": ADMIN,
    "api.users_unlock": ADMIN,
    "accounts.user_two_factor_reset": ADMIN,
    "api.users_two_factor_reset": ADMIN,
    "api.partnership_settings_get": ADMIN,
    "api.partnership_settings_update": ADMIN,
    "api.account_sessions": MEMBERS,
    "api.account_session_end": MEMBERS,
    "core.home": MEMBERS,
    "accounts.agency_list": MEMBERS,
    "accounts.agency_detail": MEMBERS,
    "accounts.sector_list": MEMBERS,
    "accounts.agency_create": ADMIN,
    "accounts.agency_edit": ADMIN,
    "accounts.agency_link": ADMIN,
    "accounts.agency_set_active": ADMIN,
    "accounts.sector_create": ADMIN,
    "accounts.partnership_settings": ADMIN,
    "accounts.sector_edit": ADMIN,
    "accounts.user_list": ADMIN_SCRUTINEER,
    "accounts.user_detail": ADMIN_SCRUTINEER,
    "accounts.user_create": ADMIN,
    "accounts.user_edit": ADMIN,
    "accounts.user_reinvite": ADMIN,
    "accounts.user_set_active": ADMIN,
    "accounts.membership_add": ADMIN,
    "accounts.membership_remove": ADMIN,
    "core.audit_log": ADMIN_SCRUTINEER,
    "core.history": ADMIN_SCRUTINEER,
    "api.me": MEMBERS,
    "api.sectors_list": MEMBERS,
    "api.sectors_get": MEMBERS,
    "api.sectors_create": ADMIN,
    "api.sectors_update": ADMIN,
    "api.agencies_list": MEMBERS,
    "api.agencies_get": MEMBERS,
    "api.agencies_create": ADMIN,
    "api.agencies_update": ADMIN,
    "api.users_list": ADMIN_SCRUTINEER,
    "api.users_get": ADMIN_SCRUTINEER,
    "api.users_create": ADMIN,
    "api.users_update": ADMIN,
    "api.users_add_role": ADMIN,
    "api.users_remove_role": ADMIN,
    "api.rounds_list": VIEW_ROUNDS,
    "api.rounds_get": VIEW_ROUNDS,
    "api.rounds_create": BUILDERS,
    "api.rounds_add_case": BUILDERS,
    "api.rounds_move": BUILDERS,
    "api.rounds_set_agencies": BUILDERS,
    "api.rounds_update": BUILDERS,
    "api.rounds_next": BUILDERS,
    "api.rounds_delete": BUILDERS,
    "api.rounds_moves": BUILDERS,
    "api.returns_decline": ASSIGNERS,
    # a lead of the return's agency (the world's return is police's), the QA group or an admin
    "api.returns_alternative": ASSIGNERS,
    "api.rounds_return_rates": VIEW_ROUNDS,
    "api.returns_assign": ASSIGNERS,
    "api.rounds_chase": BUILDERS,
    "api.returns_workbook": MEMBERS,
    "api.returns_upload_workbook": {"auditor", "agency_lead"},
    "api.rounds_upload_cohort": BUILDERS,
    "api.rounds_cohort_template": BUILDERS,
    "api.rounds_carry_cases": BUILDERS,
    "api.cases_get": VIEW_ROUNDS,
    "api.cases_redact": ADMIN,
    "api.judgements_get": VIEW_ROUNDS,
    "api.judgements_put": BUILDERS,
    "api.findings_round_download": MEMBERS,
    "api.findings_round_texts_download": MEMBERS,
    "api.findings_round_reaudit_download": VIEW_ROUNDS,
    "api.findings_theme_trend_download": MEMBERS,
    "api.findings_agency_theme_download": MEMBERS,
    "api.findings_learning_themes_download": MEMBERS,
    "api.findings_round_answers": MEMBERS,
    "api.findings_theme_answers": MEMBERS,
    "api.findings_round_report": VIEW_ROUNDS,
    # the round's PDFs: the partnership-wide roles read and prepare them (drawing a PDF changes no record)
    "api.report_files_list": VIEW_ROUNDS,
    "api.report_files_prepare": VIEW_ROUNDS,
    "api.report_files_download": VIEW_ROUNDS,
    "api.meeting_get": VIEW_ROUNDS,
    "api.meeting_put": BUILDERS,
    "api.chair_report_get": VIEW_ROUNDS,
    "api.chair_report_put": BUILDERS,
    "api.practitioners_get": VIEW_ROUNDS,
    "api.practitioners_put": BUILDERS,
    "api.themes_list": MEMBERS,
    "api.returns_list": MEMBERS,
    "api.returns_get": MEMBERS,
    "api.returns_save_answers": {"auditor", "agency_lead"},
    "api.returns_submit": {"auditor", "agency_lead"},
    "api.returns_confirm_carried": {"auditor", "agency_lead"},
    "api.returns_request_changes": BUILDERS,
    "api.returns_accept": BUILDERS,
    "api.questionnaires_list": MEMBERS,
    "api.questionnaires_get": MEMBERS,
    "api.questionnaires_version": MEMBERS,
    "api.questionnaires_import": BUILDERS,
    "rounds.round_list": VIEW_ROUNDS,
    "rounds.round_detail": VIEW_ROUNDS,
    "rounds.round_create": BUILDERS,
    "case_audits.round_add_case": BUILDERS,
    "case_audits.round_upload_cohort": BUILDERS,
    "case_audits.round_cohort_template": BUILDERS,
    "rounds.round_move": BUILDERS,
    "rounds.round_move_confirm": BUILDERS,
    "rounds.round_edit": BUILDERS,
    "rounds.round_next": BUILDERS,
    "rounds.round_delete": BUILDERS,
    "rounds.round_chase": BUILDERS,
    "rounds.round_agencies": BUILDERS,
    "case_audits.case_discussion": VIEW_ROUNDS,
    "case_audits.round_carry_cases": BUILDERS,
    "case_audits.round_case_agencies": BUILDERS,
    "case_audits.round_case_remove": BUILDERS,
    "case_audits.case_history": VIEW_ROUNDS,
    "case_audits.case_redact": ADMIN,
    "case_audits.round_meeting": VIEW_ROUNDS,
    "case_audits.case_practitioners": VIEW_ROUNDS,
    "case_audits.chair_report": VIEW_ROUNDS,
    "rounds.return_workbook": MEMBERS,
    "rounds.return_upload_workbook": {"auditor", "agency_lead"},
    "rounds.return_list": MEMBERS,
    "rounds.return_detail": MEMBERS,
    "rounds.return_section": MEMBERS,
    "rounds.return_submit": {"auditor", "agency_lead"},
    "rounds.return_confirm_carried": {"auditor", "agency_lead"},
    "rounds.return_decline": ASSIGNERS,
    "rounds.return_alternative": ASSIGNERS,
    "rounds.return_answers": MEMBERS,
    "rounds.return_assign": ASSIGNERS,
    "rounds.return_request_changes": BUILDERS,
    "rounds.return_accept": BUILDERS,
    "questionnaires.questionnaire_list": MEMBERS,
    "questionnaires.questionnaire_detail": MEMBERS,
    "questionnaires.version_preview": MEMBERS,
    "questionnaires.version_export": MEMBERS,
    "questionnaires.version_compare": MEMBERS,
    "questionnaires.scale_list": MEMBERS,
    "questionnaires.questionnaire_create": BUILDERS,
    "questionnaires.library": BUILDERS,
    "questionnaires.library_use": BUILDERS,
    "questionnaires.questionnaire_import": BUILDERS,
    "questionnaires.questionnaire_copy": BUILDERS,
    "questionnaires.questionnaire_details": BUILDERS,
    "questionnaires.version_publish": BUILDERS,
    "questionnaires.version_retire": BUILDERS,
    "questionnaires.version_delete": BUILDERS,
    "questionnaires.draft_create": BUILDERS,
    "questionnaires.version_edit": BUILDERS,
    "questionnaires.section_create": BUILDERS,
    "questionnaires.section_edit": BUILDERS,
    "questionnaires.section_remove": BUILDERS,
    "questionnaires.section_move": BUILDERS,
    "questionnaires.question_create": BUILDERS,
    "questionnaires.question_edit": BUILDERS,
    "questionnaires.question_remove": BUILDERS,
    "questionnaires.question_move": BUILDERS,
    "questionnaires.scale_create": BUILDERS,
    # Findings: agencies see their own figures (checked in test_findings), the QA group everything
    "reporting.index": MEMBERS,
    "reporting.round_findings": MEMBERS,
    "reporting.round_findings_agencies": MEMBERS,
    "reporting.round_findings_texts": MEMBERS,
    "reporting.round_findings_reaudit": VIEW_ROUNDS,
    "reporting.round_answers": MEMBERS,
    "reporting.round_report": VIEW_ROUNDS,
    "reporting.report_page": VIEW_ROUNDS,
    "reporting.report_prepare": VIEW_ROUNDS,
    "reporting.report_download": VIEW_ROUNDS,
    "reporting.theme_trend": MEMBERS,
    "reporting.theme_answers": MEMBERS,
    "api.findings_round": MEMBERS,
    "api.findings_round_texts": MEMBERS,
    "api.findings_round_reaudit": VIEW_ROUNDS,
    "api.findings_theme_trend": MEMBERS,
    "api.findings_agency_theme": MEMBERS,
    "api.findings_learning_themes": MEMBERS,
    # the action plan's API: agency users reach what is addressed to their agency or owned by them or it (the
    # world's action is the police auditor's, under a recommendation addressed to police)
    "api.recommendations_list": MEMBERS,
    "api.recommendations_create": BUILDERS,
    "api.recommendations_get": MEMBERS,
    "api.recommendations_update": BUILDERS,
    "api.recommendations_delete": BUILDERS,
    "api.report_recommendations_promote": BUILDERS,
    "api.case_recommendation_promote": BUILDERS,
    "api.recommendation_candidates": VIEW_ROUNDS,
    "api.recommendation_actions_list": MEMBERS,
    "api.recommendation_actions_create": BUILDERS,
    "api.actions_get": MEMBERS,
    "api.actions_update": BUILDERS,
    "api.actions_move_due_date": ACTION_UPDATERS,
    "api.action_updates_list": MEMBERS,
    "api.action_updates_create": ACTION_UPDATERS,
    "api.action_evidence_list": MEMBERS,
    "api.action_evidence_create": ACTION_UPDATERS,
    "api.action_evidence_get": MEMBERS,
    "api.action_evidence_decide": BUILDERS,
    "api.action_evidence_file": MEMBERS,
    "api.plan_get": MEMBERS,
    "api.plan_xlsx": MEMBERS,
    "api.plan_pdf_status": MEMBERS,
    "api.plan_pdf_prepare": MEMBERS,
    "api.plan_pdf_download": MEMBERS,
    # The composite action plan: everyone with a role, scoped in the query (checked in tests/actions/test_plan_pages.py)
    "plan.plan": MEMBERS,
    "plan.plan_spreadsheet": MEMBERS,
    "plan.plan_pdf_page": MEMBERS,
    "plan.plan_pdf_prepare": MEMBERS,
    "plan.plan_pdf": MEMBERS,
    # the action plan's pages: the same rule (the world's action is the police auditor's, addressed to police)
    "actions.recommendation_new": BUILDERS,
    "actions.recommendation_detail": MEMBERS,
    "actions.recommendation_edit": BUILDERS,
    "actions.recommendation_delete": BUILDERS,
    "actions.report_recommendation_promote": BUILDERS,
    "actions.case_recommendation_promote": BUILDERS,
    "actions.round_recommendations": VIEW_ROUNDS,
    "actions.action_new": BUILDERS,
    "actions.action_edit": BUILDERS,
    "actions.action_detail": MEMBERS,
    "actions.action_update_post": ACTION_UPDATERS,
    "actions.action_move_due_date": ACTION_UPDATERS,
    "actions.action_evidence_add": ACTION_UPDATERS,
    "actions.action_evidence_decide": BUILDERS,
    "actions.action_evidence_file": MEMBERS,
    # -- self-assessments: scrutiny threads, moderation, follow-up list --
    "scrutiny.return_scrutiny": MEMBERS,
    "scrutiny.criterion": MEMBERS,
    "scrutiny.thread_create": BUILDERS,
    "scrutiny.thread_reply": {"admin", "qa_member", "agency_lead", "auditor"},
    "scrutiny.thread_close": BUILDERS,
    "scrutiny.moderation": BUILDERS,
    "scrutiny.round_moderators": VIEW_ROUNDS,
    "scrutiny.round_moderator_remove": BUILDERS,
    "scrutiny.round_priorities": VIEW_ROUNDS,
    "scrutiny.follow_up": VIEW_ROUNDS,
    "scrutiny.round_returns": VIEW_ROUNDS,
    "api.round_scrutiny_get": VIEW_ROUNDS,
    "api.return_scrutiny_get": MEMBERS,
    "api.return_threads_list": MEMBERS,
    "api.return_threads_create": BUILDERS,
    "api.threads_get": MEMBERS,
    "api.threads_reply": {"admin", "qa_member", "agency_lead", "auditor"},
    "api.threads_close": BUILDERS,
    "api.moderation_set": BUILDERS,
    "api.moderation_clear": BUILDERS,
    "api.round_moderators_list": VIEW_ROUNDS,
    "api.round_moderators_add": BUILDERS,
    "api.round_moderators_remove": BUILDERS,
    "api.round_priorities_get": VIEW_ROUNDS,
    "api.round_priorities_set": BUILDERS,
    "api.round_follow_up": VIEW_ROUNDS,
    # -- self-assessments: practitioner surveys --
    # the round's survey page reads every agency's counts; the QA group and admins set it up
    "surveys.survey_round": VIEW_ROUNDS,
    "surveys.survey_set_up": BUILDERS,
    # one agency's counts: partnership-wide, and the agency's own auditors and leads (the world's return is police's)
    "surveys.survey_agency": MEMBERS,
    # its link: the QA group, admins and the agency's leads make and revoke it
    "surveys.survey_link_make": ASSIGNERS,
    "surveys.survey_link_revoke": ASSIGNERS,
    # the link itself needs no account (survey_token is a working link) and shows nothing but the survey
    "surveys.survey_form": PUBLIC,
    "surveys.survey_thanks": PUBLIC,
    "api.surveys_get": VIEW_ROUNDS,
    "api.surveys_put": BUILDERS,
    "api.surveys_agency_get": MEMBERS,
    "api.surveys_link_create": ASSIGNERS,
    "api.surveys_link_revoke": ASSIGNERS,
    # -- self-assessments: reports --
    # the partnership-wide roles read a self-assessment round's reports; agency users have no report (403)
    "sa_reports.report": VIEW_ROUNDS,
    "sa_reports.report_pdf_page": VIEW_ROUNDS,
    "sa_reports.report_pdf_prepare": VIEW_ROUNDS,
    "sa_reports.report_pdf": VIEW_ROUNDS,
    "api.sa_report_get": VIEW_ROUNDS,
    "api.sa_report_xlsx": VIEW_ROUNDS,
    "api.sa_report_pdf_status": VIEW_ROUNDS,
    "api.sa_report_pdf_prepare": VIEW_ROUNDS,
    "api.sa_report_pdf_download": VIEW_ROUNDS,
    # -- self-assessments: settings from a CSV, evidence files and links, improvement actions --
    # a criterion's links and files: seen with the return (the world's is police's); changed by its agency
    "rounds.criterion_evidence": MEMBERS,
    "rounds.criterion_link_add": {"auditor", "agency_lead"},
    "rounds.criterion_file_add": {"auditor", "agency_lead"},
    "rounds.criterion_evidence_remove": {"auditor", "agency_lead"},
    "rounds.criterion_evidence_file": MEMBERS,
    "api.return_evidence_list": MEMBERS,
    "api.return_evidence_link": {"auditor", "agency_lead"},
    "api.return_evidence_files": {"auditor", "agency_lead"},
    "api.return_evidence_remove": {"auditor", "agency_lead"},
    "api.return_evidence_file": MEMBERS,
    # an agency's own improvement actions on its self-assessment return (the world's is police's)
    "improvement.improvement_action_new": ASSIGNERS | {"auditor"},
    "api.improvement_actions_list": MEMBERS,
    "api.improvement_actions_create": ASSIGNERS | {"auditor"},
    # settings from a CSV: admins
    "accounts.settings_import": ADMIN,
    "accounts.settings_import_template": ADMIN,
    "accounts.settings_export": ADMIN,
    "api.agencies_import": ADMIN,
    # -- self-assessments: challenge events, shared rounds --
    # sharing a round: the QA group and scrutineers see which partnerships it counts for; admins share it
    "rounds.round_sharing": VIEW_ROUNDS,
    "rounds.round_unshare": ADMIN,
    "api.rounds_partnerships": VIEW_ROUNDS,
    "api.rounds_share": ADMIN,
    "api.rounds_unshare": ADMIN,
    # challenge events: the QA group records them; the challenged agency (police, in the world) reads its own
    "challenges.challenge_list": MEMBERS,
    "challenges.challenge_new": BUILDERS,
    "challenges.challenge_detail": MEMBERS,
    "challenges.challenge_edit": BUILDERS,
    "challenges.challenge_delete": BUILDERS,
    "challenges.challenge_action_new": BUILDERS,
    "api.challenges_list": MEMBERS,
    "api.challenges_create": BUILDERS,
    "api.challenges_get": MEMBERS,
    "api.challenges_update": BUILDERS,
    "api.challenges_delete": BUILDERS,
    "api.challenges_agree_action": BUILDERS,
    # -- learning reviews: the register, clocks and pauses (reviews.views, api.reviews) --
    # the world's review is unpublished: the QA group, admins and scrutineers see it; agency staff see the
    # register (published reviews only) but not this review (404)
    "reviews.register": MEMBERS,
    "reviews.review_detail": VIEW_ROUNDS,
    "reviews.review_new": BUILDERS,
    "reviews.review_edit": BUILDERS,
    "reviews.review_publication": BUILDERS,
    "reviews.clock_pause": BUILDERS,
    "reviews.clock_resume": BUILDERS,
    "api.reviews_list": MEMBERS,
    "api.reviews_create": BUILDERS,
    "api.reviews_get": MEMBERS,
    "api.reviews_update": BUILDERS,
    "api.reviews_publication": BUILDERS,
    "api.reviews_clocks": MEMBERS,
    "api.reviews_pause": BUILDERS,
    "api.reviews_resume": BUILDERS,
    # the files: the register and learning summary hold what the reader may see; the annual summary counts every
    # review, published or not, so it is for the partnership-wide roles
    "review_reports.register_xlsx": MEMBERS,
    "review_reports.learning_xlsx": MEMBERS,
    "review_reports.annual_summary": VIEW_ROUNDS,
    "review_reports.annual_pdf_page": VIEW_ROUNDS,
    "review_reports.annual_pdf_prepare": VIEW_ROUNDS,
    "review_reports.annual_pdf": VIEW_ROUNDS,
    "api.review_annual_summary": VIEW_ROUNDS,
    "api.review_annual_summary_xlsx": VIEW_ROUNDS,
    "api.review_annual_summary_pdf_status": VIEW_ROUNDS,
    "api.review_annual_summary_pdf_prepare": VIEW_ROUNDS,
    "api.review_annual_summary_pdf_download": VIEW_ROUNDS,
    "api.review_register_xlsx": MEMBERS,
    "api.review_learning_summary": MEMBERS,
    "api.review_learning_summary_xlsx": MEMBERS,
    # -- learning reviews: agency summaries, the panel meeting, the decision (reviews.summary_views) --
    # (and api.review_summaries) the QA group and admins ask for summaries and record the panel and decision;
    # scrutineers read them through the API; agency staff read their own summary as a return (rounds.return_detail)
    "review_summaries.summaries_ask": BUILDERS,
    "review_summaries.summaries_add_agency": BUILDERS,
    "review_summaries.summaries_questionnaire": BUILDERS,
    "review_summaries.panel_edit": BUILDERS,
    "review_summaries.decision_edit": BUILDERS,
    "api.review_summaries_list": VIEW_ROUNDS,
    "api.review_summaries_ask": BUILDERS,
    "api.review_panel_get": VIEW_ROUNDS,
    "api.review_panel_put": BUILDERS,
    "api.review_decision_get": VIEW_ROUNDS,
    "api.review_decision_put": BUILDERS,
    # -- learning reviews: learning points, recommendations, the list of learning themes (reviews.learning_views) --
    # every member reads the list of learning themes; admins and the QA group keep it and write the learning.
    # The world's review is unpublished: its learning points and recommendations are not there for agency staff
    "learning.theme_list": MEMBERS,
    "learning.theme_new": BUILDERS,
    "learning.theme_edit": BUILDERS,
    "learning.theme_move": BUILDERS,
    "learning.theme_retire": BUILDERS,
    "learning.theme_restore": BUILDERS,
    "learning.theme_delete": BUILDERS,
    "learning.point_new": BUILDERS,
    "learning.point_edit": BUILDERS,
    "learning.point_move": BUILDERS,
    "learning.point_delete": BUILDERS,
    "api.learning_themes_list": MEMBERS,
    "api.learning_themes_create": BUILDERS,
    "api.learning_themes_update": BUILDERS,
    "api.learning_themes_delete": BUILDERS,
    "api.learning_points_list": MEMBERS,
    "api.learning_points_create": BUILDERS,
    "api.learning_points_update": BUILDERS,
    "api.learning_points_delete": BUILDERS,
    "api.review_recommendations_list": MEMBERS,
    # -- learning themes across sources (reporting.theme_views, api.theme_counts) --
    # for those who see every source of the partnership; agency staff are refused (403)
    "themes.across_sources_page": VIEW_ROUNDS,
    "themes.theme_items": VIEW_ROUNDS,
    "api.theme_counts_get": VIEW_ROUNDS,
    "api.theme_items_get": VIEW_ROUNDS,
    # -- the access log: who viewed what (admins and scrutineers) --
    "access_log.log": ADMIN_SCRUTINEER,
    "access_log.log_csv": ADMIN_SCRUTINEER,
    "access_log.case_report": ADMIN_SCRUTINEER,
    "access_log.case_report_csv": ADMIN_SCRUTINEER,
    "api.access_log_list": ADMIN_SCRUTINEER,
    "api.access_log_case": ADMIN_SCRUTINEER,
    # -- retention: which rounds hold case records, and what purges removed (admins and scrutineers) --
    "case_audits.retention_page": ADMIN_SCRUTINEER,
    "api.retention_get": ADMIN_SCRUTINEER,
}


def test_every_route_is_in_the_table():
    endpoints = {endpoint for endpoint, _, _ in ROUTES}
    assert endpoints - set(ACCESS) == set(), "add these endpoints to ACCESS"
    assert set(ACCESS) - endpoints == set(), "these endpoints no longer exist"


# -- the world, built once for the module (see "data built once per module" in conftest) --


@pytest.fixture(scope="module")
def access_data(app, module_connection) -> dict:
    """The world, an open round with one police return, and an API token per person: ids and secrets."""
    with module_setup(app, module_connection):
        return build_route_world()


@pytest.fixture()
def db_session(savepoint_session):
    """Each test runs in a savepoint on the module's connection, over the world built once."""
    return savepoint_session


@pytest.fixture()
def world(db_session, access_data) -> World:
    return load_world(access_data["world"])


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("endpoint", "rule", "method"), ROUTES, ids=[f"{m} {r}" for _, r, m in ROUTES])
def test_route_access(client, access_data, role, endpoint, rule, method):
    url = fill_url(rule, access_data["ids"])
    is_api = url.startswith("/api/")
    has_object = "<int:" in rule  # ids of this partnership's objects
    person = {"anonymous": None, "other_partnership": "other_admin"}.get(role, role)

    headers = {}
    if person is not None:
        if is_api:
            headers["Authorization"] = f"Bearer {access_data['secrets'][person]}"
        else:
            login(client, db.session.get(User, access_data["world"]["users"][person]))

    kwargs = {"headers": headers}
    if is_api and method in ("POST", "PATCH", "PUT"):
        kwargs["json"] = {}
    response = client.open(url, method=method, **kwargs)
    status = response.status_code
    assert status < 500, response.data[:500]

    allowed = METHOD_ACCESS.get((endpoint, method), ACCESS[endpoint])
    if allowed == PUBLIC:
        assert status not in (401, 403), status
        return
    if role == "anonymous":
        if is_api:
            assert status == 401
        else:
            assert status == 302 and "/login" in response.location
        return
    if role == "other_partnership":
        # An admin elsewhere: objects of this partnership do not exist for them;
        # pages without objects behave as for an admin of their own partnership.
        if has_object:
            assert status == 404, f"{role} reached {url}: {status}"
        elif "admin" in allowed:
            assert status not in (401, 403, 404), status
        else:
            assert status == 403
        return
    if role in allowed:
        assert status not in (401, 403, 404), f"{role} refused at {method} {url}: {status}"
    else:
        expected = 404 if endpoint in HIDDEN_FROM_OTHERS else 403
        assert status == expected, f"{role} got {status} at {method} {url}, expected {expected}"


def test_tokens_of_others_cannot_be_revoked(client, world):
    with system_actor("test:setup"):
        token, _ = services.create_api_token(world.user("admin"), world.partnership.id, "admin's")
        db.session.commit()
    login(client, world.user("auditor"))
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 404
    assert db.session.get(ApiToken, token.id).revoked_at is None


# -- the world is built once, and what one case writes never reaches the next --

_written: dict[str, int] = {}


def test_a_case_that_writes_through_the_app_and_the_services(client, world, access_data):
    """Commits through a request and a service; the next test must see none of it."""
    ids = access_data["ids"]
    login(client, world.user("auditor"))
    assert client.post(f"/account/tokens/{ids['token_id']}/revoke").status_code in (302, 303)
    with system_actor("test:setup"):
        leaked = services.create_agency(world.partnership.id, "Leaked Agency", sector(world.partnership.id, "police"))
        world.partnership.name = "Renamed In One Test"
        db.session.commit()
    _written["agency_id"] = leaked.agency_id
    assert db.session.get(ApiToken, ids["token_id"]).revoked_at is not None


def test_the_next_case_sees_none_of_it(client, world, access_data):
    ids = access_data["ids"]
    assert db.session.get(ApiToken, ids["token_id"]).revoked_at is None
    assert world.partnership.name == "North Test Partnership"
    if "agency_id" in _written:  # run after the case above (it is, in file order)
        assert db.session.get(Agency, _written["agency_id"]) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Agency).where(Agency.name == "Leaked Agency")) == 0
    # the world built once is still whole and usable: the auditor's API token works
    headers = {"Authorization": f"Bearer {access_data['secrets']['auditor']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
