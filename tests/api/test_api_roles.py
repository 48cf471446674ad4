"""One statement of who may call each API endpoint: ``api_route(roles=...)``.

Checked three ways: against the access table of tests/test_access.py where it names the
endpoint, by calling every endpoint as every role, and against docs/api.md's table.
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Response

from audit_app.accounts import services
from audit_app.accounts.models import Membership, Role
from audit_app.actions import services as action_services
from audit_app.api.spec import ANY_ROLE, OPERATIONS, Operation, ResponseMismatch, check_response, roles_table
from audit_app.case_audits import services as case_services
from audit_app.core import clock
from audit_app.core.audit import system_actor
from audit_app.extensions import db
from audit_app.questionnaires import services as questionnaire_services
from audit_app.questionnaires.models import QuestionnaireKind
from audit_app.rounds import services as round_services
from audit_app.rounds.models import Return, RoundStatus
from audit_app.self_assessments import challenges, scrutiny, surveys
from tests.factories import make_action, make_questionnaire, make_recommendation, make_round
from tests.questionnaires.test_questionnaire_spec import EXAMPLE
from tests.test_access import ACCESS, PUBLIC

DECLARED = [op for op in OPERATIONS if not op.public]


def test_roles_are_declared_as_role_values():
    assert DECLARED
    for op in DECLARED:
        assert op.roles, f"{op.endpoint} declares no roles"
        assert all(isinstance(role, Role) for role in op.roles), op.endpoint


def test_declared_roles_match_the_access_table():
    """Where tests/test_access.py names an API endpoint, it expects exactly the declared roles."""
    compared = 0
    for op in OPERATIONS:
        expected = ACCESS.get(op.endpoint)
        if expected is None:
            continue
        compared += 1
        if op.public:
            assert expected == PUBLIC
        else:
            assert {role.value for role in op.roles} == expected, op.endpoint
    assert compared >= 30


def test_the_docs_list_every_endpoint_with_its_roles():
    docs = (Path(__file__).parents[2] / "docs" / "api.md").read_text()
    assert roles_table() in docs, "regenerate docs/api.md's table: python -c '...roles_table()' (see docs/api.md)"


def test_the_openapi_document_states_roles_uploads_and_pages(client):
    spec = client.get("/api/v1/openapi.json").json
    for op in DECLARED:
        path = "/api/v1" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", op.rule)
        operation = spec["paths"][path][op.method]
        assert operation["x-roles"] == [role.value for role in op.roles]
        names = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
        if op.many:
            assert {"page", "per_page"} <= names, op.endpoint
            schema = spec["components"]["schemas"][
                operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
            ]
            assert set(schema["required"]) == {"items", "total", "page", "per_page", "pages"}
        if op.upload:
            assert "multipart/form-data" in operation["requestBody"]["content"], op.endpoint
    lists = {op.endpoint for op in DECLARED if op.method == "get" and op.many}
    assert {"api.rounds_list", "api.returns_list", "api.themes_list", "api.users_list"} <= lists


def test_a_response_that_breaks_its_model_is_caught(app):
    from audit_app.api.schemas import SectorOut

    op = Operation(
        rule="/x", method="get", endpoint="api.x", summary="", tag="", roles=ANY_ROLE, response_model=SectorOut
    )
    with app.test_request_context():
        check_response(op, Response('{"id": 1, "key": "k", "name": "n"}', mimetype="application/json"))
        with pytest.raises(ResponseMismatch):
            check_response(op, Response('{"id": "one"}', mimetype="application/json"))


def _self_assessment_ids(world) -> dict[str, int]:
    """A Section 11 round open to police, with a challenge event and a practitioner survey: ids for the
    self-assessment routes."""
    sa_round = make_round(
        world.partnership.id, kind=QuestionnaireKind.SELF_ASSESSMENT, agencies=[world.police], status=RoundStatus.OPEN
    )
    with system_actor("test:setup"):
        challenge = challenges.record_challenge(
            sa_round,
            world.partnership.id,
            challenges.ChallengeIn(
                agency_id=world.police.agency_id, held_on=date(2026, 11, 2), attendees="Jo Reid", questions="How?"
            ),
            by=None,
        )
        # -- self-assessments: scrutiny threads, moderation, follow-up list --
        ret = db.session.scalar(sa.select(Return).where(Return.round_id == sa_round.id))
        key = next(q.key for q in scrutiny.criteria(ret) if q.type.value == "scale")
        thread = scrutiny.open_thread(ret, key, "query", "Which audit?", by=world.user("qa_member"))
        # -- self-assessments: practitioner surveys: the round's survey, with a working link for police
        survey = surveys.set_up_survey(
            sa_round,
            version=make_questionnaire(world.partnership.id, library_key="practitioner_survey"),
            closes_on=clock.today() + timedelta(days=30),
        )
        surveys.make_link(survey, world.police.agency_id)
        db.session.commit()
    return {
        "sa_round_id": sa_round.id,
        "sa_return_id": ret.id,
        "challenge_id": challenge.id,
        "sa_question_key": key,
        "thread_id": thread.id,
    }


# -- learning reviews: the register, clocks and pauses --
def _review_ids(world) -> dict[str, int]:
    """A published rapid review (so agency staff reach it too) with an open pause of its rapid review clock."""
    from audit_app.reviews import services as review_services

    with system_actor("test:setup"):
        review = review_services.create_review(
            world.partnership.id,
            review_services.ReviewIn(
                review_type="rapid_review",
                pseudonym="Child R",
                aware_on=clock.today() - timedelta(days=14),
                notified_on=clock.today() - timedelta(days=10),
            ),
            by=None,
        )
        review_services.set_publication(
            review,
            review_services.PublicationIn(
                state="published", published_on=clock.today(), published_url="https://example.org/r"
            ),
        )
        pause = review_services.pause_clock(review, "rapid_review", clock.today() - timedelta(days=2), "Trial", by=None)
        db.session.commit()
    return {"review_id": review.id, "pause_id": pause.id}


def _url(rule: str, ids: dict[str, object]) -> str:
    return re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: str(ids[m.group(2)]), rule)


@pytest.mark.parametrize("op", DECLARED, ids=[f"{op.method.upper()} {op.rule}" for op in DECLARED])
def test_declared_roles_are_what_the_endpoint_allows(client, world, op: Operation):
    """Every role not declared gets 403; every declared role gets past the permission check."""
    version = questionnaire_services.import_questionnaire(world.partnership.id, EXAMPLE, publish=True)
    round_ = round_services.plan_round(
        world.partnership.id, title="Roles round", version=version, opens_on=None, due_on=None
    )
    case_services.add_case(round_, agency_ids=[world.police.agency_id], reference="CS-ROLES")
    round_services.move_round(round_, RoundStatus.OPEN)
    db.session.commit()
    auditor = world.user("auditor")
    # the action plan: a recommendation addressed to police, an action the police auditor owns, evidence with a file
    recommendation = make_recommendation(world.partnership.id, round_=round_, agencies=[world.police])
    action = make_action(recommendation, owner=auditor, agency=world.police)
    with system_actor("test:setup"):
        evidence = action_services.add_evidence(
            action,
            action_services.EvidenceIn(description="Health attends strategy discussions"),
            [(io.BytesIO(b"Attendance rose.\n"), "attendance.txt")],
            by=auditor.id,
        )
        _, (report_recommendation, *_) = case_services.save_chair_report(round_, {}, [(None, "Invite health")])
        db.session.commit()
    ids = {
        "round_id": round_.id,
        "return_id": db.session.scalar(sa.select(Return.id).where(Return.round_id == round_.id)),
        "round_case_id": round_.cases[0].id,
        "case_id": round_.cases[0].case_id,
        "questionnaire_id": version.questionnaire_id,
        "number": version.number,
        "theme_id": round_.theme_id,
        "kind": "briefing",
        "agency_id": world.police.agency_id,
        "sector_id": world.police.sector_id,
        "user_id": auditor.id,
        "membership_id": db.session.scalar(sa.select(Membership.id).where(Membership.user_id == auditor.id)),
        "recommendation_id": recommendation.id,
        "action_id": action.id,
        "evidence_id": evidence.id,
        "file_id": evidence.files[0].id,
        "report_recommendation_id": report_recommendation.id,
        "partnership_id": world.partnership.id,
        "session_id": 0,  # one of each role's own, made below
        **_self_assessment_ids(world),
        **_review_ids(world),
    }
    # -- self-assessments: settings from a CSV, evidence files and links, improvement actions --
    if "criterion_evidence_id" in op.rule or "sa_return_id" in op.rule:
        from audit_app.questionnaires.models import QuestionnaireKind
        from audit_app.rounds import evidence as criterion_evidence
        from tests.factories import make_round

        with system_actor("test:setup"):
            audit_return = db.session.get(Return, ids["return_id"])
            (item,) = criterion_evidence.add_files(
                audit_return,
                criterion_evidence.criterion_keys(audit_return)[0],
                [(io.BytesIO(b"Minutes.\n"), "minutes.txt")],
                by=None,
            )
            sa_round = make_round(
                world.partnership.id,
                kind=QuestionnaireKind.SELF_ASSESSMENT,
                agencies=[world.police],
                status=RoundStatus.OPEN,
            )
            if op.method == "delete":  # every allowed role gets past the check to the same 409, none removes it
                round_services.move_round(round_, RoundStatus.CLOSED)
            db.session.commit()
        ids["criterion_evidence_id"] = item.id
        ids["sa_return_id"] = db.session.scalar(sa.select(Return.id).where(Return.round_id == sa_round.id))
    # -- learning themes across sources --
    if "learning_theme_id" in op.rule:
        from audit_app.questionnaires.models import LearningTheme

        with system_actor("test:setup"):
            theme = LearningTheme(partnership_id=world.partnership.id, name="Escalation (roles test)")
            db.session.add(theme)
            db.session.commit()
        ids["learning_theme_id"] = theme.id
    # -- learning reviews: learning points, recommendations, the list of learning themes --
    # a published review (every role reads its learning), a point on it, and a theme nothing is tagged with
    if op.endpoint.startswith(("api.learning_", "api.review_recommendations")):
        from audit_app.questionnaires.learning_themes import themes_of
        from audit_app.reviews.learning import add_point
        from audit_app.reviews.models import LearningReview, PublicationState, ReviewType

        with system_actor("test:setup"):
            review = LearningReview(
                partnership_id=world.partnership.id,
                review_type=ReviewType.LOCAL_LEARNING_REVIEW,
                pseudonym="Child W",
                publication_state=PublicationState.PUBLISHED,
                published_on=date(2026, 1, 5),
            )
            db.session.add(review)
            db.session.flush()
            ids["review_id"] = review.id
            ids["learning_point_id"] = add_point(review, "Nobody asked who else lived at home.").id
            ids["learning_theme_id"] = themes_of(world.partnership.id)[-1].id
            db.session.commit()
    # -- learning reviews: agency summaries, the panel meeting, the decision --
    if "review_id" in op.rule and "review_id" not in ids:
        from audit_app.reviews.models import LearningReview, ReviewType

        with system_actor("test:setup"):
            review = LearningReview(
                partnership_id=world.partnership.id,
                review_type=ReviewType.RAPID_REVIEW,
                pseudonym="Child R",
                aware_on=date(2026, 11, 2),
                notified_on=date(2026, 11, 5),
            )
            db.session.add(review)
            db.session.commit()
        ids["review_id"] = review.id
    url = _url(op.rule, ids)
    # refusals first: an allowed call may change what later calls find (taking a role away, or deleting the
    # object: then each later allowed role finds it gone, a 404 that says it got past the permission check)
    deleted = False
    for role in sorted(Role, key=lambda r: r in op.roles):
        with system_actor("test:setup"):
            _, secret = services.create_api_token(world.user(role.value), world.partnership.id, "roles test")
            db.session.commit()
        kwargs: dict = {"headers": {"Authorization": f"Bearer {secret}"}}
        if op.method in ("post", "put", "patch"):
            kwargs["json"] = {}
        if "<int:session_id>" in op.rule:  # a browser session is its own user's: one of this role's
            from audit_app.accounts.models import UserSession
            from audit_app.accounts.security import start_session

            start_session(world.user(role.value), ip_address="192.0.2.1", user_agent="roles test")
            db.session.commit()
            ids["session_id"] = db.session.scalar(sa.select(sa.func.max(UserSession.id)))
            url = _url(op.rule, ids)
        response = client.open("/api/v1" + url, method=op.method.upper(), **kwargs)
        assert response.status_code < 500, response.data[:300]
        if role in op.roles and deleted:
            assert response.status_code == 404, f"{role} got {response.status_code} at {op.method} {url}"
        elif role in op.roles:
            assert response.status_code not in (401, 403, 404), f"{role} refused at {op.method} {url}"
            # each role ends a session of its own: one role's delete leaves the next role's to find
            deleted = op.method == "delete" and response.status_code == 204 and "<int:session_id>" not in op.rule
        else:
            assert response.status_code == 403, f"{role} got {response.status_code} at {op.method} {url}"
